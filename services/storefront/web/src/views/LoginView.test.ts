import { afterEach, describe, expect, it, vi } from 'vitest'
import { nextTick } from 'vue'
import { useAuthStore } from '../stores/auth'
import { button, byLabel, fakeFetch, fill, mount, resetEachTest } from '../test-helpers'
import LoginView from './LoginView.vue'

let unmount = () => {}
resetEachTest()
afterEach(() => unmount())

async function loginPage(path = '/login') {
  const m = await mount(LoginView, {}, path)
  unmount = m.unmount
  return m
}

describe('login page', () => {
  it('shows the api’s words when the account is disabled (403 account-disabled), and stays logged out', async () => {
    const calls = fakeFetch(() => ({
      status: 403,
      headers: { 'Content-Type': 'application/problem+json' },
      body: { type: '/problems/account-disabled', title: 'Forbidden', status: 403, detail: 'this account is disabled; contact the shop' },
    }))
    const { el, router } = await loginPage()
    fill(byLabel(el, 'Email'), 'anna@shop.example')
    fill(byLabel(el, 'Password'), 'correct-horse-battery')
    await nextTick()
    button(el, 'Log in').click()
    await vi.waitFor(() => expect(el.querySelector('[role=alert]')?.textContent).toBe('this account is disabled; contact the shop'))
    expect(calls.map((c) => [c.method, c.url, c.body])).toEqual([['POST', 'http://api.test/api/v1/auth/login', { email: 'anna@shop.example', password: 'correct-horse-battery' }]])
    expect(useAuthStore().loggedIn).toBe(false)
    expect(router.currentRoute.value.name).toBe('login')
    expect(button(el, 'Log in').disabled).toBe(false)
  })

  it('says what a log out everywhere did, and nothing otherwise', async () => {
    const { el } = await loginPage('/login?logged_out=everywhere')
    expect(el.querySelector('[data-testid=notice]')!.textContent).toBe('Logged out on every device.')
    expect(el.querySelector('[data-testid=notice]')!.getAttribute('role')).toBe('status')
    unmount()
    const expired = await loginPage('/login?logged_out=expired')
    expect(expired.el.querySelector('[data-testid=notice]')!.textContent).toMatch(/^Your session here had ended already, so the other devices may still be logged in/)
    unmount()
    const plain = await loginPage()
    expect(plain.el.querySelector('[data-testid=notice]')).toBeNull()
  })
})
