// The operations console in the browser against the real stack (started by
// the Go test TestConsoleInTheBrowser in services/storefront/e2e, which
// also serves OPERATOR_URL: a poison entry on the order stream, the missing
// user row, order statuses in PostgreSQL, and whether worker and api see
// the pause switches). The api's own answers (a cut-off token, a disabled
// account's login) are read directly. Every action's reason starts with
// "e2e: "; the Go test checks the audit log for them afterwards.
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { adminToken, api, assertNoConsoleErrors, env, eventually, openPage, run, shot } from './harness.mjs'

const operatorURL = process.env.OPERATOR_URL
if (!operatorURL) throw new Error('OPERATOR_URL is not set (the Go test TestConsoleInTheBrowser sets it)')

async function operator(path, body) {
  const res = await fetch(operatorURL + path, body ? { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) } : {})
  const text = await res.text()
  if (!res.ok) throw new Error(`operator ${path}: ${res.status} ${text}`)
  return text ? JSON.parse(text) : null
}
const dbStatus = async (orderId) => (await operator(`/orders/${orderId}`)).status

const ORPHAN_USER = 424242
const customer = { email: `console-${Date.now()}@shop.example`, password: 'correct-horse-battery' }
let customerToken = null
/** What the audit log must list at the end, oldest first. */
const performed = []

async function mug() {
  const p = (await api('/api/v1/products?q=MUG-001', { token: await adminToken() })).items[0]
  assert.ok(p && p.active && p.stock >= 5, `the demo mug is on sale with stock: ${JSON.stringify(p)}`)
  return p
}

async function customerSession() {
  if (!customerToken) {
    await api('/api/v1/auth/register', { method: 'POST', body: customer })
    customerToken = (await api('/api/v1/auth/login', { method: 'POST', body: customer })).access_token
  }
  return customerToken
}

// One admin page for every scenario: logins are limited to 5 a minute per account.
let adminSession = null
async function adminPage(browser) {
  if (!adminSession) {
    adminSession = await openPage(browser)
    const { page } = adminSession
    await page.goto(`${env.shop}/login`)
    await page.getByLabel('Email').fill(env.adminEmail)
    await page.getByLabel('Password').fill(env.adminPassword)
    await page.getByRole('button', { name: 'Log in' }).click()
    await page.getByTestId('whoami').filter({ hasText: env.adminEmail }).waitFor()
    await page.getByRole('link', { name: 'Admin: operations' }).click()
    await page.getByRole('heading', { name: 'Queues' }).waitFor()
  }
  adminSession.errors.length = 0
  return adminSession
}

/** Opens a console page from the admin navigation and waits for its heading. */
async function openConsole(page, link, heading = link) {
  await page.getByRole('navigation', { name: 'Admin' }).getByRole('link', { name: link, exact: true }).click()
  await page.getByRole('heading', { name: heading, exact: true }).waitFor()
}

/**
 * Asks for the action behind button (its name, or a locator where the page
 * has one per row), gives the reason and confirms; returns the form.
 */
async function withReason(page, button, formName, reason, fill = async () => {}) {
  await (typeof button === 'string' ? page.getByRole('button', { name: button, exact: true }) : button).click()
  const form = page.getByRole('form', { name: formName })
  await form.getByLabel('Reason').waitFor()
  await form.getByLabel('Reason').fill(reason)
  await fill(form)
  await form.getByRole('button', { name: 'Confirm' }).click()
  return form
}

/** After a failed scenario: resumes a switch it left paused, so that the next ones start from a running shop. */
async function ensureRunning(which) {
  const token = await adminToken()
  if ((await api('/api/v1/admin/queues', { token }))[which].paused)
    await api(which === 'intake' ? '/api/v1/admin/intake' : '/api/v1/admin/queues/consumption', { method: 'POST', token, body: { paused: false, reason: 'e2e: cleanup after a failed scenario' } })
}

async function replayDeadLetter(browser) {
  const product = await mug()
  const { order_id: orderId } = await operator('/poison', { product_id: product.id, user_id: ORPHAN_USER })
  const token = await adminToken()
  await eventually('the worker to dead-letter the poison entry', async () =>
    (await api(`/api/v1/admin/dead-letters?user_id=${ORPHAN_USER}`, { token })).items.some((l) => l.order_id === orderId && l.reason === 'rejected_by_database'))
  assert.equal(await dbStatus(orderId), '', 'the database refused the order: no row')

  const { page, errors } = await adminPage(browser)
  await openConsole(page, 'Dead letters')
  const row = page.locator(`[data-testid=dead-letter-row][data-order-id="${orderId}"]`)
  await row.waitFor()
  const id = await row.getAttribute('data-id')
  assert.match(id, /^\d+:\d+-\d+$/)
  const cells = await row.innerText()
  assert.match(cells, /rejected_by_database/)
  assert.match(cells, new RegExp(`#${ORPHAN_USER}`))
  assert.match(cells, new RegExp(`#${product.id}`))
  assert.equal(await page.getByTestId('dead-letter-row').count(), 1)

  await row.getByRole('button', { name: `Inspect dead letter ${id}` }).click()
  const panel = page.getByTestId('dead-letter-panel')
  await panel.getByTestId('dead-letter-fields').waitFor()
  const fields = await panel.getByTestId('dead-letter-fields').innerText()
  assert.match(fields, new RegExp(orderId))
  assert.match(fields, new RegExp(`"product_id":${product.id}`))
  assert.match(fields, /accepted_at/)
  assert.ok((await panel.getByTestId('dead-letter-error').innerText()).trim().length > 0, 'the error is shown')
  await shot(page, 'console-01-dead-letters')

  // The operator fixes the cause, then the admin replays just that letter.
  await operator('/users', { id: ORPHAN_USER, email: `late-${Date.now()}@shop.example` })
  await page.getByRole('checkbox', { name: `Select dead letter ${id}` }).check()
  await page.getByTestId('selected-count').filter({ hasText: '1 selected' }).waitFor()
  await page.getByRole('button', { name: 'Replay selected', exact: true }).click()
  const form = page.getByRole('form', { name: 'Replay 1 selected dead letter' })
  await form.getByRole('button', { name: 'Confirm' }).click() // no reason: the api's field error
  await form.getByTestId('field-error').waitFor()
  assert.match(await form.getByTestId('field-error').innerText(), /audit log/)
  assert.equal(await form.getByLabel('Reason').getAttribute('aria-invalid'), 'true')
  await shot(page, 'console-02-reason-required')
  await form.getByLabel('Reason').fill(`e2e: created the missing user ${ORPHAN_USER}`)
  await form.getByRole('button', { name: 'Confirm' }).click()
  await page.getByTestId('done').filter({ hasText: 'Replayed 1 dead letter: it is back on the order stream.' }).waitFor()
  performed.push('replay_dead_letters')
  await page.getByTestId('empty').filter({ hasText: 'No dead letters' }).waitFor()
  assert.ok(await page.getByRole('button', { name: 'Replay all matching' }).isDisabled(), 'nothing left to replay')
  await eventually('the replayed order confirmed in PostgreSQL', async () => (await dbStatus(orderId)) === 'confirmed')
  assert.equal((await api(`/api/v1/admin/dead-letters`, { token })).total, 0)
  await shot(page, 'console-03-dead-letters-replayed')
  assertNoConsoleErrors(errors, [/status of 422/])
}

async function pauseConsumption(browser) {
  const product = await mug()
  const token = await customerSession()
  const { page, errors } = await adminPage(browser)
  await openConsole(page, 'Queues')
  await page.getByTestId('consumption-state').filter({ hasText: 'running' }).waitFor()
  await page.getByTestId('partition-row').first().waitFor()
  assert.ok((await page.getByTestId('consumer').count()) >= 1, 'the worker is listed as a consumer')

  await withReason(page, 'Pause consumption', 'Pause consumption', 'e2e: deploying a new worker')
  await page.getByTestId('consumption-state').filter({ hasText: 'paused' }).waitFor()
  performed.push('pause_consumption')
  const pausedBy = await page.getByTestId('consumption-paused-by').innerText()
  assert.match(pausedBy, new RegExp(`Paused by ${env.adminEmail.replace('.', '\\.')} since .+: “e2e: deploying a new worker”`))
  await eventually('the worker to see the pause', async () => (await operator('/switches')).consumption_paused)
  // A read the worker started just before it saw the pause may still be
  // blocked on the stream for up to WORKER_CONSUMER_BLOCK (200 ms) and take
  // an order placed meanwhile: the pause is complete after that. (The
  // consumers' idle time cannot tell: Redis 7.0 does not reset it for a
  // read that is still waiting.)
  await sleep(1500)

  const { id } = await api('/api/v1/orders', { method: 'POST', token, body: { items: [{ product_id: product.id, quantity: 1 }] } })
  // The page refreshes itself: the order shows as lag while nobody reads it.
  await eventually('the queue page to show the order as lag', async () => Number(await page.getByTestId('total-lag').innerText()) >= 1, 15_000)
  assert.ok(Number(await page.getByTestId('partition-row').first().getByTestId('lag').innerText()) >= 1)
  assert.equal(await dbStatus(id), '', 'paused: the order is not decided')
  assert.equal((await api(`/api/v1/orders/${id}`, { token })).status, 'pending')
  await shot(page, 'console-04-queues-consumption-paused')

  await withReason(page, 'Resume consumption', 'Resume consumption', 'e2e: the new worker is deployed')
  await page.getByTestId('consumption-state').filter({ hasText: 'running' }).waitFor()
  performed.push('resume_consumption')
  await eventually('the waiting order confirmed after the resume', async () => (await dbStatus(id)) === 'confirmed', 30_000)
  await page.getByRole('button', { name: 'Refresh' }).click()
  await eventually('the lag back to 0', async () => (await page.getByTestId('total-lag').innerText()) === '0', 15_000)
  assertNoConsoleErrors(errors)
}

async function pauseIntake(browser) {
  const product = await mug()
  const token = await customerSession()
  const { page, errors } = await adminPage(browser)
  await openConsole(page, 'Queues')
  await page.getByTestId('intake-state').filter({ hasText: 'running' }).waitFor()
  await withReason(page, 'Pause intake', 'Pause intake', 'e2e: database migration', async (form) => {
    assert.equal(await form.getByLabel('Retry-After (seconds)').inputValue(), '30')
  })
  await page.getByTestId('intake-state').filter({ hasText: 'paused' }).waitFor()
  performed.push('pause_intake')
  assert.match(await page.getByTestId('intake-paused-by').innerText(), /“e2e: database migration”\. Clients are told to retry after 30 s\./)
  await eventually('the api to see the pause', async () => (await operator('/switches')).intake_paused)

  // The api refuses new orders with the intake-paused problem.
  const res = await fetch(`${env.api}/api/v1/orders`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
    body: JSON.stringify({ items: [{ product_id: product.id, quantity: 1 }] }),
  })
  assert.equal(res.status, 503)
  assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/)
  assert.equal(res.headers.get('retry-after'), '30')
  const body = await res.json()
  assert.match(body.type, /\/intake-paused$/)
  assert.match(body.detail, /e2e: database migration/)
  await shot(page, 'console-05-queues-intake-paused')

  // And so does the storefront's checkout, keeping the cart.
  const shopper = await openPage(browser)
  const sp = shopper.page
  await sp.goto(`${env.shop}/login`)
  await sp.getByLabel('Email').fill(customer.email)
  await sp.getByLabel('Password').fill(customer.password)
  await sp.getByRole('button', { name: 'Log in' }).click()
  await sp.getByTestId('whoami').filter({ hasText: customer.email }).waitFor()
  await sp.goto(`${env.shop}/?q=mug`)
  await sp.locator('[data-testid=product-card]').filter({ hasText: 'Enamel mug' }).getByRole('link').click()
  await sp.getByLabel('Quantity').fill('1')
  await sp.getByRole('button', { name: 'Add to cart' }).click()
  await sp.getByText('Added 1 to your cart').waitFor()
  await sp.goto(`${env.shop}/cart`)
  await sp.getByTestId('cart-total').waitFor()
  await sp.getByRole('button', { name: 'Place order' }).click()
  const refused = sp.getByRole('alert').filter({ hasText: 'Ordering is paused for a moment' })
  await refused.waitFor()
  assert.match(await refused.innerText(), /nothing was ordered and your cart is kept\. Try again in 30 seconds\./)
  assert.equal(await sp.getByTestId('cart-line').count(), 1)
  await shot(sp, 'console-06-checkout-intake-paused')

  await withReason(page, 'Resume intake', 'Resume intake', 'e2e: migration finished')
  await page.getByTestId('intake-state').filter({ hasText: 'running' }).waitFor()
  performed.push('resume_intake')
  await eventually('the api to see the resume', async () => !(await operator('/switches')).intake_paused)
  await sp.getByRole('button', { name: 'Place order' }).click()
  await sp.waitForURL(/\/orders\/[0-9a-f-]{36}$/)
  await sp.getByTestId('status').filter({ hasText: 'confirmed' }).waitFor()
  assertNoConsoleErrors(shopper.errors, [/status of 503/])
  assertNoConsoleErrors(errors)
  await sp.context().close()
}

async function reconcileCatalogue(browser) {
  const { page, errors } = await adminPage(browser)
  await openConsole(page, 'Catalogue sync')
  await page.getByTestId('catalog-pending').waitFor()
  assert.equal(await page.getByTestId('catalog-dead').innerText(), '0')
  await page.getByTestId('empty').filter({ hasText: 'No dead events' }).waitFor()
  await withReason(page, 'Reconcile now', 'Reconcile now', 'e2e: compare the catalogue with Directus')
  performed.push('request_catalog_reconcile')
  const outcome = page.locator('[data-testid=reconcile-outcome][data-status=done], [data-testid=reconcile-outcome][data-status=failed]')
  await outcome.waitFor({ timeout: 60_000 })
  const text = await outcome.innerText()
  assert.match(text, /^Reconcile #\d+ done: \d+ products compared with Directus; \d+ missing, \d+ stale, \d+ extra there \(fixed\)\.$/, text)
  assert.ok(Number(text.match(/done: (\d+) products/)[1]) >= 10, 'every demo product was compared')
  await page.getByTestId('last-reconcile-status').filter({ hasText: 'done' }).waitFor()
  await shot(page, 'console-07-catalog-sync')
  assertNoConsoleErrors(errors)
}

/** A request to the api whatever it answers: its status and its JSON body (refusals included). */
async function answer(path, { method = 'GET', body, token } = {}) {
  const headers = { 'Content-Type': 'application/json' }
  if (token) headers.Authorization = `Bearer ${token}`
  const res = await fetch(env.api + path, { method, headers, body: body ? JSON.stringify(body) : undefined })
  const text = await res.text()
  return { status: res.status, body: text ? JSON.parse(text) : null }
}

async function cutOffSessions(browser) {
  // A customer of its own (not customerSession's): its sessions end and the
  // account is disabled here. Three logins, within the 5 a minute per account.
  const victim = { email: `cut-off-${Date.now()}@shop.example`, password: 'correct-horse-battery' }
  await api('/api/v1/auth/register', { method: 'POST', body: victim })
  const session = await api('/api/v1/auth/login', { method: 'POST', body: victim })
  const orders = (token) => answer('/api/v1/orders', { token })
  assert.equal((await orders(session.access_token)).status, 200, 'the fresh token works')

  const { page, errors } = await adminPage(browser)
  await openConsole(page, 'Users')
  await page.getByTestId('user-row').first().waitFor()
  const search = page.getByRole('search', { name: 'Find users' })
  await search.getByLabel('Email').fill(victim.email)
  await search.getByRole('button', { name: 'Search', exact: true }).click()
  // The page lists everyone first (the customer too, as the newest): wait for the search's answer.
  await page.getByTestId('result-count').filter({ hasText: /^1 user$/ }).waitFor()
  const row = page.locator(`[data-testid=user-row][data-email="${victim.email}"]`)
  await row.waitFor()
  assert.equal(await page.getByTestId('user-row').count(), 1, 'the search finds just the customer')
  assert.match(await row.getAttribute('data-user-id'), /^\d+$/)
  assert.equal((await row.getByTestId('user-state').innerText()).trim(), 'Active')
  assert.match(await row.innerText(), /customer/)
  const version = Number(await row.getByTestId('session-version').innerText())

  // Log out everywhere: the customer's access token is refused on every
  // api replica within about a second, and its refresh token is revoked.
  await withReason(page, row.getByRole('button', { name: 'Log out everywhere' }), `Log ${victim.email} out everywhere`, 'e2e: the customer lost their phone')
  await page.getByTestId('done').filter({ hasText: `Logged ${victim.email} out everywhere` }).waitFor()
  performed.push('end_sessions')
  assert.equal(Number(await row.getByTestId('session-version').innerText()), version + 1)
  assert.equal((await row.getByTestId('user-state').innerText()).trim(), 'Active')
  const refused = await eventually('the api to refuse the cut-off token', async () => {
    const r = await orders(session.access_token)
    return r.status === 401 && r
  }, 5_000)
  assert.match(refused.body.type, /\/invalid-token$/)
  assert.equal((await answer('/api/v1/auth/refresh', { method: 'POST', body: { refresh_token: session.refresh_token } })).status, 401, 'the refresh token is revoked')

  // Disable: the right password no longer logs in.
  await withReason(page, row.getByRole('button', { name: 'Disable' }), `Disable ${victim.email}`, 'e2e: fraud reported by the bank')
  await page.getByTestId('done').filter({ hasText: `Disabled ${victim.email}` }).waitFor()
  performed.push('disable_user')
  await row.getByTestId('user-state').filter({ hasText: 'Disabled since' }).waitFor()
  assert.equal(Number(await row.getByTestId('session-version').innerText()), version + 2)
  await shot(page, 'console-07b-users')
  const disabled = await answer('/api/v1/auth/login', { method: 'POST', body: victim })
  assert.equal(disabled.status, 403, JSON.stringify(disabled.body))
  assert.match(disabled.body.type, /\/account-disabled$/)
  assert.equal(disabled.body.detail, 'this account is disabled; contact the shop')

  // Enable: the customer logs in again, with a token that works.
  await withReason(page, row.getByRole('button', { name: 'Enable' }), `Enable ${victim.email}`, 'e2e: the bank cleared the customer')
  await page.getByTestId('done').filter({ hasText: `Enabled ${victim.email}` }).waitFor()
  performed.push('enable_user')
  await row.getByTestId('user-state').filter({ hasText: 'Active' }).waitFor()
  const again = await api('/api/v1/auth/login', { method: 'POST', body: victim })
  assert.equal((await orders(again.access_token)).status, 200, 'the new session works')
  assertNoConsoleErrors(errors)
}

async function auditLog(browser) {
  const { page, errors } = await adminPage(browser)
  await openConsole(page, 'Audit log')
  await page.getByTestId('audit-row').first().waitFor()
  const actions = await page.getByTestId('audit-row').evaluateAll((rows) => rows.map((r) => r.dataset.action))
  assert.deepEqual(actions, [...performed].reverse(), 'newest first, one per action taken')
  for (const text of await page.getByTestId('audit-row').allInnerTexts()) {
    assert.match(text, new RegExp(env.adminEmail.replace('.', '\\.')))
    assert.match(text, /e2e: /)
    assert.match(text, /\bdone\b/)
  }
  await shot(page, 'console-08-audit-log')
  assertNoConsoleErrors(errors)
}

await run([
  ['an admin replays a dead letter once its cause is fixed: the order is confirmed', replayDeadLetter],
  ['an admin pauses consumption: an order waits as lag until the resume confirms it', (b) => pauseConsumption(b).finally(() => ensureRunning('consumption'))],
  ['an admin pauses intake: the api and the checkout refuse orders until the resume', (b) => pauseIntake(b).finally(() => ensureRunning('intake'))],
  ['an admin reconciles the catalogue now and sees the outcome', reconcileCatalogue],
  ['an admin logs a customer out everywhere, disables and enables the account', cutOffSessions],
  ['the audit log lists every action with its reason', auditLog],
])
