// Shared pieces of the browser scenarios: Chromium through playwright-core,
// console-error tracking, screenshots, a tiny api client and a runner that
// prints one line per scenario and a closing "N passed, N failed".
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { chromium } from 'playwright-core'

export const env = {
  shop: need('STOREFRONT_URL'),
  api: need('API_URL'),
  directus: need('DIRECTUS_URL'),
  adminEmail: need('ADMIN_EMAIL'),
  adminPassword: need('ADMIN_PASSWORD'),
  shots: process.env.SCREENSHOT_DIR ?? 'e2e/screenshots',
  chromium: process.env.CHROMIUM ?? '/usr/bin/chromium',
}

function need(name) {
  const v = process.env[name]
  if (!v) throw new Error(`${name} is not set (the Go test services/storefront/e2e sets it)`)
  return v
}

export async function launch() {
  mkdirSync(env.shots, { recursive: true })
  return chromium.launch({
    executablePath: env.chromium,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  })
}

let lastPage = null

/** A fresh browser context and page whose console errors are collected. */
export async function openPage(browser, opts = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, ...opts })
  const page = await context.newPage()
  lastPage = page
  page.setDefaultTimeout(15_000)
  const errors = []
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()))
  page.on('pageerror', (e) => errors.push(`uncaught: ${e.message}`))
  return { context, page, errors }
}

/** Fails on console errors except the expected answers listed in allow. */
export function assertNoConsoleErrors(errors, allow = []) {
  const bad = errors.filter((e) => !allow.some((re) => re.test(e)))
  if (bad.length) throw new Error(`console errors:\n  ${bad.join('\n  ')}`)
}

export async function shot(page, name) {
  await page.screenshot({ path: join(env.shots, `${name}.png`), fullPage: true })
}

export async function api(path, { method = 'GET', body, token } = {}) {
  const headers = { 'Content-Type': 'application/json' }
  if (token) headers.Authorization = `Bearer ${token}`
  const res = await fetch(env.api + path, { method, headers, body: body ? JSON.stringify(body) : undefined })
  const text = await res.text()
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`)
  return text ? JSON.parse(text) : null
}

// Logins are rate limited per account (5 a minute by default): the
// scenarios share one admin token (valid for 15 minutes).
let admin = null

export async function adminToken() {
  admin ??= api('/api/v1/auth/login', { method: 'POST', body: { email: env.adminEmail, password: env.adminPassword } }).then((r) => r.access_token)
  return admin
}

/** Polls fn until it returns a truthy value or timeout passes. */
export async function eventually(what, fn, timeout = 20_000) {
  const deadline = Date.now() + timeout
  let last
  for (;;) {
    try {
      const v = await fn()
      if (v) return v
    } catch (e) {
      last = e
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ''}`)
    await new Promise((r) => setTimeout(r, 250))
  }
}

/** Runs the scenarios in order; E2E_ONLY (a regular expression) picks some by name. */
export async function run(scenarios) {
  const only = process.env.E2E_ONLY ? new RegExp(process.env.E2E_ONLY, 'i') : null
  const browser = await launch()
  let passed = 0
  let failed = 0
  for (const [name, fn] of scenarios.filter(([name]) => !only || only.test(name))) {
    const began = Date.now()
    try {
      await fn(browser)
      passed++
      console.log(`ok   ${name} (${Date.now() - began} ms)`)
    } catch (e) {
      failed++
      if (lastPage && !lastPage.isClosed()) await shot(lastPage, `failed-${name.replace(/\W+/g, '-')}`).catch(() => undefined)
      console.log(`FAIL ${name} (${Date.now() - began} ms)\n     ${String(e.stack ?? e).split('\n').slice(0, 6).join('\n     ')}`)
    }
  }
  await browser.close()
  console.log(`${passed} passed, ${failed} failed`)
  process.exitCode = failed ? 1 : 0
}
