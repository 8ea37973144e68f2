// Browser scenarios against the real stack (started by the Go test
// services/storefront/e2e): node e2e/shop.e2e.mjs with STOREFRONT_URL,
// API_URL, DIRECTUS_URL, ADMIN_EMAIL, ADMIN_PASSWORD, SCREENSHOT_DIR, CHROMIUM.
import assert from 'node:assert/strict'
import { adminToken, api, assertNoConsoleErrors, env, eventually, openPage, run, shot } from './harness.mjs'
import { bundleBudget, thousandProducts } from './perf.mjs'

const customer = { email: `shopper-${Date.now()}@shop.example`, password: 'correct-horse-battery' }
const cards = (page) => page.locator('[data-testid=product-card]')
const card = (page, name) => cards(page).filter({ hasText: name })

async function customerBuys(browser) {
  const { page, errors } = await openPage(browser)
  await page.goto(env.shop)
  await card(page, 'Enamel mug').waitFor()
  await page.keyboard.press('Tab')
  assert.equal(await page.evaluate(() => document.activeElement?.textContent?.trim()), 'Skip to content')
  assert.equal(await cards(page).count(), 10)
  assert.equal(await card(page, 'Enamel mug').locator('[data-testid=price]').innerText(), '€14.90')
  assert.equal(await card(page, 'Brass pen').locator('[data-testid=stock]').innerText(), 'Only 5 left')
  assert.equal(await card(page, 'Ceramic plant pot').locator('[data-testid=stock]').innerText(), 'Sold out')
  assert.ok(await card(page, 'Ceramic plant pot').getByRole('button').isDisabled())
  await shot(page, '01-catalogue')

  await page.getByLabel('Search products').fill('mug')
  await eventually('search to narrow the grid', async () => (await cards(page).count()) === 1 && page.url().includes('q=mug'))
  await card(page, 'Enamel mug').getByRole('link').click()
  await page.getByRole('heading', { name: 'Enamel mug' }).waitFor()
  await page.getByLabel('Quantity').fill('2')
  await page.getByRole('button', { name: 'Add to cart' }).click()
  await page.getByText('Added 2 to your cart').waitFor()
  await shot(page, '02-product')

  await page.goto(`${env.shop}/register`)
  await page.getByLabel('Email').fill(customer.email)
  await page.getByLabel('Password').fill(customer.password)
  await page.getByRole('button', { name: 'Create account' }).click()
  await page.getByTestId('whoami').filter({ hasText: customer.email }).waitFor()

  await page.goto(`${env.shop}/cart`) // a reload: cart and session both survive it
  await page.getByTestId('whoami').filter({ hasText: customer.email }).waitFor()
  await page.getByTestId('cart-total').waitFor() // the view's code is loaded after the header
  assert.equal(await page.getByTestId('cart-line').count(), 1)
  assert.equal(await page.getByTestId('cart-total').innerText(), '€29.80')
  await shot(page, '03-cart')
  await page.getByRole('button', { name: 'Place order' }).dblclick()
  await page.waitForURL(/\/orders\/[0-9a-f-]{36}$/)
  await page.getByTestId('status').filter({ hasText: 'confirmed' }).waitFor()
  await page.getByText('Confirmed — thank you!').waitFor()
  await page.getByText('Total €29.80').waitFor()
  await shot(page, '04-order-confirmed')

  await page.getByRole('link', { name: 'My orders' }).first().click()
  await page.getByTestId('order-row').first().waitFor()
  assert.equal(await page.getByTestId('order-row').count(), 1, 'a double click made one order')
  await shot(page, '05-my-orders')

  await page.goto(`${env.shop}/admin/products`)
  await page.getByTestId('forbidden').waitFor()
  assert.equal(await page.getByRole('link', { name: /Admin/ }).count(), 0)
  await shot(page, '06-customer-forbidden')
  assertNoConsoleErrors(errors)
  await page.context().close()
  return page
}

async function orderBeyondStockFails(browser) {
  const { page, errors } = await openPage(browser)
  await page.goto(`${env.shop}/login`)
  await page.getByLabel('Email').fill(customer.email)
  await page.getByLabel('Password').fill(customer.password)
  await page.getByRole('button', { name: 'Log in' }).click()
  await page.getByTestId('whoami').waitFor()
  await page.goto(`${env.shop}/?q=Merino`)
  await card(page, 'Merino socks').getByRole('link').click()
  await page.getByLabel('Quantity').fill('3')
  await page.getByRole('button', { name: 'Add to cart' }).click()
  await page.getByText('Added 3 to your cart').waitFor()
  // Someone else buys first: the stock drops to 1 while the socks sit in the cart.
  const token = await adminToken()
  const socks = (await api('/api/v1/products?q=SOK-008', { token })).items[0]
  await api(`/api/v1/products/${socks.id}/stock-adjustments`, { method: 'POST', token, body: { delta: -2, reason: 'e2e' } })
  await page.goto(`${env.shop}/cart`)
  await page.getByRole('button', { name: 'Place order' }).click()
  await page.getByTestId('status').filter({ hasText: 'failed' }).waitFor()
  assert.match(await page.getByTestId('reason').innerText(), /^Not enough stock/)
  await shot(page, '07-order-failed')
  assertNoConsoleErrors(errors)
  await page.context().close()
}

async function adminCreatesProduct(browser) {
  const { page, errors } = await openPage(browser)
  const name = `Storm lantern ${Date.now() % 100000}`
  await page.goto(`${env.shop}/login`)
  await page.getByLabel('Email').fill(env.adminEmail)
  await page.getByLabel('Password').fill(env.adminPassword)
  await page.getByRole('button', { name: 'Log in' }).click()
  await page.getByRole('link', { name: 'Admin: products' }).click()
  await page.getByTestId('admin-product-row').first().waitFor()
  await shot(page, '08-admin-products')

  await page.getByRole('link', { name: 'New product' }).click()
  await page.getByLabel('SKU').fill('not a sku!')
  await page.getByLabel('Price').fill('45')
  await page.getByRole('button', { name: 'Create product' }).click()
  const skuError = page.locator('#sku-error')
  await skuError.waitFor()
  assert.equal(await page.getByLabel('SKU').getAttribute('aria-invalid'), 'true')
  assert.ok(await page.locator('#name-error').isVisible(), 'the empty name is named too')
  await shot(page, '09-admin-validation')

  await page.getByLabel('SKU').fill(`LANTERN-${Date.now() % 100000}`)
  await page.getByLabel('Name', { exact: true }).fill(name)
  await page.getByLabel('Initial stock').fill('7')
  await page.getByLabel('Description').fill('Hurricane lantern, 25 cm, brushed steel.')
  await page.getByRole('button', { name: 'Create product' }).click()
  await page.waitForURL(/\/admin\/products\/\d+$/)
  await page.getByRole('heading', { name: 'Edit product' }).waitFor()

  await page.goto(`${env.shop}/?q=${encodeURIComponent(name)}`)
  // Reload only once the page has started (restoring the session rotates
  // the refresh token: a reload mid-request would lose the new one).
  await eventually('the new product to reach the shop through Directus', async () => {
    await page.locator('[data-testid=product-card], [data-testid=empty]').first().waitFor()
    if ((await card(page, name).count()) === 1) return true
    await page.reload()
    return false
  })
  assert.equal(await card(page, name).locator('[data-testid=price]').innerText(), '€45.00')
  assert.equal(await card(page, name).locator('[data-testid=stock]').innerText(), 'In stock')
  await shot(page, '10-new-product-in-shop')

  await page.goto(`${env.shop}/admin/orders`)
  await page.getByLabel('Status').selectOption('failed')
  await page.getByTestId('order-row').first().waitFor()
  assert.match(await page.getByTestId('order-row').first().innerText(), /failed/i)
  await shot(page, '11-admin-orders-failed')
  assertNoConsoleErrors(errors, [/status of 422/])
  await page.context().close()
}

async function mobileAndAnonymous(browser) {
  const { page, errors } = await openPage(browser, { viewport: { width: 390, height: 844 }, isMobile: true })
  await page.goto(`${env.shop}/admin/orders`)
  await page.waitForURL(/\/login\?next=/)
  await page.goto(env.shop)
  await card(page, 'Enamel mug').waitFor()
  await page.getByRole('button', { name: 'Menu' }).click()
  await page.getByRole('link', { name: 'Log in' }).waitFor()
  await shot(page, '12-catalogue-mobile')
  assertNoConsoleErrors(errors)
  await page.context().close()
}

// The order lifecycle: pay (declined, then paid), cancel (the stock comes
// back), and an admin ships and delivers a paid order while the customer
// watches it live. A customer of its own, so the first one's orders and
// logins (5 a minute per account) stay as they were.
const payer = { email: `payer-${Date.now()}@shop.example`, password: 'correct-horse-battery' }
let payerReady = null
let paidOrderId = '' // customerPays leaves it paid; an admin cancels and refunds it

async function logInPayer(page) {
  payerReady ??= api('/api/v1/auth/register', { method: 'POST', body: payer })
  await payerReady
  await page.goto(`${env.shop}/login`)
  await page.getByLabel('Email').fill(payer.email)
  await page.getByLabel('Password').fill(payer.password)
  await page.getByRole('button', { name: 'Log in' }).click()
  await page.getByTestId('whoami').filter({ hasText: payer.email }).waitFor()
}

/** Buys quantity of the product through the cart; returns the confirmed order's id. */
async function placeOrder(page, name, quantity) {
  await page.goto(`${env.shop}/?q=${encodeURIComponent(name)}`)
  await card(page, name).getByRole('link').click()
  await page.getByLabel('Quantity').fill(String(quantity))
  await page.getByRole('button', { name: 'Add to cart' }).click()
  await page.getByText(`Added ${quantity} to your cart`).waitFor()
  await page.goto(`${env.shop}/cart`)
  await page.getByRole('button', { name: 'Place order' }).click()
  await page.waitForURL(/\/orders\/[0-9a-f-]{36}$/)
  await page.getByTestId('status').filter({ hasText: 'confirmed' }).waitFor()
  return page.url().split('/').pop()
}

const timelineEvent = (page, type) => page.locator(`[data-testid=timeline-event][data-type=${type}]`)

async function stockOf(sku) {
  return (await api(`/api/v1/products?q=${sku}`, { token: await adminToken() })).items[0].stock
}

async function customerPays(browser) {
  const { page, errors } = await openPage(browser)
  await logInPayer(page)
  paidOrderId = await placeOrder(page, 'Dot-grid notebook', 1)
  await page.getByTestId('payment-due').waitFor()
  assert.match(await page.getByTestId('payment-due').innerText(), /^Please pay by .+ \(\d+ minutes left\)/)
  assert.equal(await timelineEvent(page, 'confirmed').count(), 1)
  const hint = page.locator('details').filter({ hasText: 'Test cards' })
  assert.match(await hint.innerText(), /4242 4242 4242 4242[\s\S]*4000 0000 0000 0002/)

  await page.getByLabel('Card number').fill('4000 0000 0000 0002')
  await page.getByRole('button', { name: 'Pay now' }).click()
  assert.equal(await page.getByTestId('payment-error').innerText(), 'Your card was declined.')
  await timelineEvent(page, 'payment_failed').waitFor()
  assert.match(await timelineEvent(page, 'payment_failed').innerText(), /Payment failed[\s\S]*Your card was declined\./)
  assert.equal(await page.getByLabel('Card number').getAttribute('aria-invalid'), 'true', 'the form stays for another card')
  await shot(page, '13-order-declined')

  await page.getByLabel('Card number').fill('4242 4242 4242 4242')
  await page.getByRole('button', { name: 'Pay now' }).click()
  await page.getByTestId('status').filter({ hasText: 'paid' }).waitFor()
  await timelineEvent(page, 'paid').waitFor()
  assert.equal(await page.getByLabel('Card number').count(), 0)
  assert.equal(await page.getByTestId('payment-due').count(), 0)
  assert.deepEqual(await page.getByTestId('timeline-event').evaluateAll((li) => li.map((e) => e.dataset.type)), ['confirmed', 'payment_failed', 'paid'])
  await page.getByRole('button', { name: 'Cancel order' }).waitFor() // paid, not shipped: still cancellable
  await shot(page, '14-order-paid-timeline')
  assertNoConsoleErrors(errors, [/status of 402/])
  await page.context().close()
}

async function customerCancels(browser) {
  const { page, errors } = await openPage(browser)
  await logInPayer(page)
  const before = await stockOf('BAG-004')
  const id = await placeOrder(page, 'Canvas tote', 2)
  await eventually('the order to take 2 totes', async () => (await stockOf('BAG-004')) === before - 2)
  await page.getByLabel('Reason (optional)').fill('ordered the wrong colour')
  await page.getByRole('button', { name: 'Cancel order' }).click()
  await page.getByTestId('status').filter({ hasText: 'cancelled' }).waitFor()
  await timelineEvent(page, 'cancelled').waitFor()
  assert.match(await timelineEvent(page, 'cancelled').innerText(), /ordered the wrong colour/)
  assert.match(await timelineEvent(page, 'cancelled').innerText(), /by you/)
  await page.getByText('Cancelled: ordered the wrong colour').waitFor()
  assert.equal(await page.getByRole('button', { name: 'Cancel order' }).count(), 0)
  assert.equal(await page.getByLabel('Card number').count(), 0, 'a cancelled order cannot be paid')
  await eventually('the 2 totes to be back in stock', async () => (await stockOf('BAG-004')) === before)
  const order = await api(`/api/v1/orders/${id}`, { token: await adminToken() })
  assert.equal(order.status, 'cancelled')
  assert.deepEqual(order.actions, [])
  await shot(page, '15-order-cancelled')
  assertNoConsoleErrors(errors)
  await page.context().close()
}

async function adminShipsPaidOrder(browser) {
  const { page, errors } = await openPage(browser)
  await logInPayer(page)
  const id = await placeOrder(page, 'Brass pen', 1)
  // The provider answers "processing" (202) for this card and settles it a
  // few seconds later; the page shows it over the live stream.
  await page.getByLabel('Card number').fill('4000 0000 0000 0077')
  await page.getByRole('button', { name: 'Pay now' }).click()
  await page.getByTestId('payment-processing').waitFor()
  await page.getByTestId('status').filter({ hasText: 'paid' }).waitFor({ timeout: 30_000 })

  const admin = await openPage(browser)
  const ap = admin.page
  await adminOrdersPage(ap)
  const options = await ap.getByLabel('Status').locator('option').evaluateAll((o) => o.map((x) => x.value))
  assert.deepEqual(options, ['', 'pending', 'confirmed', 'paid', 'shipped', 'delivered', 'failed', 'cancelled', 'expired'])
  await ap.getByLabel('Status').selectOption('paid')
  const row = ap.locator(`[data-testid=order-row][data-order-id="${id}"]`)
  await row.waitFor()
  await row.getByRole('button', { name: `Details of order ${id.slice(0, 8)}` }).click()
  const panel = ap.getByTestId('admin-order-panel')
  await panel.getByTestId('timeline').waitFor()
  assert.equal(await panel.getByRole('button', { name: 'Mark delivered' }).count(), 0, 'a paid order is not delivered before it ships')
  await panel.getByRole('button', { name: 'Ship', exact: true }).click() // without carrier and tracking number: the api's problem
  await panel.getByTestId('problem').waitFor()
  assert.match(await panel.getByTestId('problem').innerText(), /carrier[\s\S]*tracking_number/)
  await panel.getByLabel('Carrier').fill('DHL')
  await panel.getByLabel('Tracking number').fill('JD014600003828')
  await panel.getByRole('button', { name: 'Ship', exact: true }).click()
  await panel.getByText('Shipped.', { exact: true }).waitFor()
  await row.getByTestId('status').filter({ hasText: 'shipped' }).waitFor()
  await shot(ap, '16-admin-orders-shipped')

  // The customer's page, open all along, follows without a reload.
  await page.getByTestId('status').filter({ hasText: 'shipped' }).waitFor()
  assert.match(await page.getByTestId('shipped').innerText(), /On its way with DHL, tracking number JD014600003828/)
  assert.match(await timelineEvent(page, 'shipped').innerText(), /DHL, tracking number JD014600003828/)
  assert.equal(await page.getByRole('button', { name: 'Cancel order' }).count(), 0, 'customers cannot cancel a shipped order')
  await shot(page, '17-order-shipped-live')

  await panel.getByRole('button', { name: 'Mark delivered' }).click()
  await row.getByTestId('status').filter({ hasText: 'delivered' }).waitFor()
  await page.getByTestId('status').filter({ hasText: 'delivered' }).waitFor()
  assert.deepEqual(await page.getByTestId('timeline-event').evaluateAll((li) => li.map((e) => e.dataset.type)), ['confirmed', 'paid', 'shipped', 'delivered'])
  await shot(page, '18-order-delivered')
  assertNoConsoleErrors(errors)
  assertNoConsoleErrors(admin.errors, [/status of 422/, /status of 400/])
  await ap.context().close()
  await page.context().close()
}

async function adminOrdersPage(page) {
  await page.goto(`${env.shop}/login`)
  await page.getByLabel('Email').fill(env.adminEmail)
  await page.getByLabel('Password').fill(env.adminPassword)
  await page.getByRole('button', { name: 'Log in' }).click()
  await page.getByRole('link', { name: 'Admin: orders' }).click()
  await page.getByLabel('Status').waitFor() // the filter is rendered before anyone reads its options
}

async function adminRefunds(browser) {
  assert.ok(paidOrderId, 'needs the order the customer paid for in the scenario before')
  const { page, errors } = await openPage(browser)
  await adminOrdersPage(page)
  await page.getByLabel('Status').selectOption('paid')
  const row = page.locator(`[data-testid=order-row][data-order-id="${paidOrderId}"]`)
  const details = row.getByRole('button', { name: `Details of order ${paidOrderId.slice(0, 8)}` })
  await details.click()
  const panel = page.getByTestId('admin-order-panel')
  await panel.getByLabel('Cancellation reason').fill('out of print')
  await panel.getByRole('button', { name: 'Cancel & refund' }).click()
  await row.getByTestId('status').filter({ hasText: 'cancelled' }).waitFor()
  assert.equal(await panel.getByRole('button', { name: 'Cancel & refund' }).count(), 0)
  // The refund may settle after the answer: reopen the details until it shows.
  await eventually('the refund in the timeline', async () => {
    await details.click()
    await details.click()
    await panel.getByTestId('timeline').waitFor()
    return (await timelineEvent(panel, 'refunded').count()) === 1
  })
  assert.match(await timelineEvent(panel, 'refunded').innerText(), /Refunded[\s\S]*Refund \S+/)
  assert.match(await timelineEvent(panel, 'cancelled').innerText(), /by admin #\d+[\s\S]*out of print/)
  await shot(page, '19-admin-cancel-refund')
  assertNoConsoleErrors(errors)
  await page.context().close()
}

await run([
  ['customer browses, registers, buys and sees the order confirmed live', customerBuys],
  ['an order beyond the stock fails with the reason', orderBeyondStockFails],
  ['an admin creates a product that then appears in the shop', adminCreatesProduct],
  ['guests are sent to login; the shop works on a phone', mobileAndAnonymous],
  ['a customer pays: a declined card shows the reason, 4242… pays, the timeline shows both', customerPays],
  ['a customer cancels an order and the stock comes back', customerCancels],
  ['an admin ships and delivers a paid order; the customer sees it live', adminShipsPaidOrder],
  ['an admin cancels a paid order and it is refunded', adminRefunds],
  ['1,000 products render (time printed against the 1 s budget)', thousandProducts],
  ['JS + CSS gzipped within 120 KB', bundleBudget],
])
