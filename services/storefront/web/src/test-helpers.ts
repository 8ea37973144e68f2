// Test helpers: a scripted fetch that records requests, and mounting a
// component into happy-dom's document with Pinia and a memory router.
import { createPinia, getActivePinia, setActivePinia } from 'pinia'
import { afterEach, beforeEach, vi } from 'vitest'
import { createApp, type Component } from 'vue'
import { createMemoryHistory, createRouter } from 'vue-router'
import { setConfig } from './config'
import { useAuthStore } from './stores/auth'

export interface Call {
  url: string
  method: string
  headers: Record<string, string>
  body: unknown
}

/** body is sent as JSON; text as it is (an event stream, say). */
export type Reply = { status?: number; body?: unknown; text?: string; headers?: Record<string, string> }

export function fakeFetch(route: (c: Call) => Reply) {
  const calls: Call[] = []
  const fn = vi.fn(async (url: string, init: RequestInit = {}) => {
    const c: Call = {
      url: String(url),
      method: init.method ?? 'GET',
      headers: (init.headers ?? {}) as Record<string, string>,
      body: init.body ? JSON.parse(String(init.body)) : undefined,
    }
    calls.push(c)
    const r = route(c)
    const status = r.status ?? 200
    const text = r.text ?? (r.body === undefined ? '' : JSON.stringify(r.body))
    return new Response(status === 204 ? null : text, { status, headers: r.headers })
  })
  vi.stubGlobal('fetch', fn)
  return calls
}

/**
 * Registers what every test of the SPA starts from: the test config, an
 * empty session, a fresh Pinia, and the real fetch back afterwards.
 */
export function resetEachTest() {
  beforeEach(() => {
    setConfig({ apiURL: 'http://api.test', directusURL: 'http://cms.test', version: 't' })
    sessionStorage.clear()
    setActivePinia(createPinia())
  })
  afterEach(() => vi.unstubAllGlobals())
}

/** Logs in through the auth store against a scripted api, as role. */
export async function loggedIn(role = 'customer', email = 'x@y.z') {
  const exp = Math.floor(Date.now() / 1000) + 900
  fakeFetch((c) => (c.url.endsWith('/login') ? { body: { access_token: token({ role, exp }), refresh_token: 'r', expires_in: 900 } } : { body: { id: 1, email, role } }))
  await useAuthStore().login(email, 'pw')
}

/** An unsigned JWT with the given claims (the SPA never verifies them). */
export function token(claims: Record<string, unknown>): string {
  const b64 = (o: unknown) => btoa(JSON.stringify(o)).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_')
  return `${b64({ alg: 'ES256' })}.${b64(claims)}.sig`
}

/**
 * Mounts component with props into a fresh element, with the active Pinia
 * (a logged-in session stays) and a memory router at path that knows every
 * route name the order views and the header link to, the login page and
 * the console's pages.
 */
export async function mount(component: Component, props: Record<string, unknown> = {}, path = '/') {
  const el = document.createElement('div')
  document.body.append(el)
  const pinia = getActivePinia() ?? createPinia()
  setActivePinia(pinia)
  const stub = { render: () => null }
  const router = createRouter({
    history: createMemoryHistory(),
    routes: [
      ...['/', '/orders', '/orders/:id', '/products/:id', '/cart', '/login', '/register'].map((p, i) => ({
        path: p,
        name: ['catalog', 'orders', 'order', 'product', 'cart', 'login', 'register'][i],
        component: stub,
      })),
      ...['/admin/queues', '/admin/dead-letters', '/admin/catalog-sync', '/admin/users', '/admin/audit-log'].map((p) => ({ path: p, component: stub })),
    ],
  })
  await router.push(path)
  const app = createApp(component, props).use(pinia).use(router)
  app.mount(el)
  return {
    el,
    router,
    unmount: () => {
      app.unmount()
      el.remove()
    },
  }
}

/** Types into an input or select and tells Vue (v-model listens to input/change). */
export function fill(el: Element | null, value: string) {
  const input = el as HTMLInputElement
  input.value = value
  input.dispatchEvent(new Event('input'))
  input.dispatchEvent(new Event('change'))
}

/** The input whose <label> reads text (the label's for= attribute). */
export function byLabel(root: ParentNode, text: string): HTMLInputElement {
  const label = [...root.querySelectorAll('label')].find((l) => l.textContent?.trim() === text)
  if (!label) throw new Error(`no label "${text}"`)
  const input = root.querySelector(`#${CSS.escape(label.htmlFor)}`)
  if (!input) throw new Error(`label "${text}" names #${label.htmlFor}, which does not exist`)
  return input as HTMLInputElement
}

export function button(root: ParentNode, text: string | RegExp): HTMLButtonElement {
  const b = [...root.querySelectorAll('button')].find((x) => (typeof text === 'string' ? x.textContent?.trim() === text : text.test(x.textContent ?? '')))
  if (!b) throw new Error(`no button "${text}"; buttons: ${[...root.querySelectorAll('button')].map((x) => x.textContent?.trim()).join(', ')}`)
  return b
}
