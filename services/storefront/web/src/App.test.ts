import { afterEach, describe, expect, it, vi } from 'vitest'
import App from './App.vue'
import { useAuthStore } from './stores/auth'
import { button, fakeFetch, loggedIn, mount, resetEachTest, type Reply } from './test-helpers'

let unmount = () => {}
resetEachTest()
afterEach(() => unmount())

/** The whole app at /orders for a logged-in customer, against a scripted logout-everywhere answer. */
async function app(answer: () => Reply) {
  await loggedIn('customer', 'anna@shop.example')
  const calls = fakeFetch((c) => (c.url.endsWith('/auth/logout-everywhere') ? answer() : { body: {} }))
  const m = await mount(App, {}, '/orders')
  unmount = m.unmount
  await vi.waitFor(() => expect(m.el.querySelector('[data-testid=whoami]')?.textContent).toBe('anna@shop.example'))
  return { ...m, calls }
}

describe('header', () => {
  it('logs out everywhere: the api ends every session, this one is cleared and the login page says so', async () => {
    const { el, router, calls } = await app(() => ({ status: 204 }))
    button(el, 'Log out everywhere').click()
    await vi.waitFor(() => expect(router.currentRoute.value.name).toBe('login'))
    expect(router.currentRoute.value.query).toEqual({ logged_out: 'everywhere' })
    expect(calls.map((c) => [c.method, c.url])).toEqual([['POST', 'http://api.test/api/v1/auth/logout-everywhere']])
    expect(calls[0]!.headers.Authorization).toMatch(/^Bearer ey/)
    expect(useAuthStore().loggedIn).toBe(false)
    expect(sessionStorage.getItem('goshop.refresh')).toBeNull()
    await vi.waitFor(() => expect(el.querySelector('[data-testid=whoami]')).toBeNull())
    expect([...el.querySelectorAll('button')].map((b) => b.textContent?.trim())).not.toContain('Log out everywhere')
  })

  it('keeps the session and says why when the api could not end them all (503, retry)', async () => {
    const { el, router } = await app(() => ({
      status: 503,
      headers: { 'Content-Type': 'application/problem+json', 'Retry-After': '1' },
      body: { type: '/problems/cut-off-not-broadcast', title: 'Service Unavailable', status: 503, detail: 'sessions ended, but the api replicas were not told (redis down): retry to tell them at once' },
    }))
    button(el, 'Log out everywhere').click()
    await vi.waitFor(() => expect(el.querySelector('[data-testid=logout-everywhere-error]')?.textContent?.trim()).toBe(
      'Could not log out everywhere: sessions ended, but the api replicas were not told (redis down): retry to tell them at once',
    ))
    expect(useAuthStore().loggedIn).toBe(true)
    expect(router.currentRoute.value.path).toBe('/orders')
    expect(button(el, 'Log out everywhere').disabled).toBe(false)
  })
})
