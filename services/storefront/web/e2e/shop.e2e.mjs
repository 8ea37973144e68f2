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

await run([
  ['customer browses, registers, buys and sees the order confirmed live', customerBuys],
  ['an order beyond the stock fails with the reason', orderBeyondStockFails],
  ['an admin creates a product that then appears in the shop', adminCreatesProduct],
  ['guests are sent to login; the shop works on a phone', mobileAndAnonymous],
  ['1,000 products render within the budget', thousandProducts],
  ['JS + CSS gzipped within 120 KB', bundleBudget],
])
