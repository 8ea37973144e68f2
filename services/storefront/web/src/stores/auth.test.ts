import { createPinia, setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { setConfig } from '../config'
import { fakeFetch, token } from '../test-helpers'
import { useAuthStore } from './auth'

const API = 'http://api.test'

function session(n: number, expSeconds: number) {
  return { access_token: token({ sub: '7', role: 'admin', exp: Math.floor(Date.now() / 1000) + expSeconds }), refresh_token: `r${n}`, expires_in: expSeconds, token_type: 'Bearer' }
}

describe('auth store', () => {
  beforeEach(() => {
    setConfig({ apiURL: API, directusURL: 'http://cms.test', version: 't' })
    sessionStorage.clear()
    setActivePinia(createPinia())
  })
  afterEach(() => {
    vi.useRealTimers()
    vi.unstubAllGlobals()
  })

  it('logs in, loads the user and keeps the refresh token in sessionStorage', async () => {
    const calls = fakeFetch((c) =>
      c.url.endsWith('/auth/login') ? { body: session(1, 900) } : { body: { id: 7, email: 'a@b.c', role: 'admin', created_at: '' } },
    )
    const auth = useAuthStore()
    await auth.login('a@b.c', 'pw')
    expect(auth.isAdmin).toBe(true)
    expect(sessionStorage.getItem('goshop.refresh')).toBe('r1')
    expect(calls[1]!.headers.Authorization).toMatch(/^Bearer /)
  })

  it('refreshes a minute before expiry, once for concurrent callers', async () => {
    vi.useFakeTimers()
    let n = 0
    const calls = fakeFetch((c) => {
      if (c.url.endsWith('/auth/login')) return { body: session(++n, 120) }
      if (c.url.endsWith('/auth/refresh')) return { body: session(++n, 900) }
      return { body: { id: 7, email: 'a@b.c', role: 'customer', created_at: '' } }
    })
    const auth = useAuthStore()
    await auth.login('a@b.c', 'pw')
    await vi.advanceTimersByTimeAsync(61_000)
    const refreshes = calls.filter((c) => c.url.endsWith('/auth/refresh'))
    expect(refreshes).toHaveLength(1)
    expect(refreshes[0]!.body).toEqual({ refresh_token: 'r1' })
    expect(sessionStorage.getItem('goshop.refresh')).toBe('r2')
    await Promise.all([auth.refresh(), auth.refresh()])
    expect(calls.filter((c) => c.url.endsWith('/auth/refresh'))).toHaveLength(2)
  })

  it('a refused refresh logs out', async () => {
    fakeFetch(() => ({ status: 401, body: { title: 'Unauthorized', status: 401, type: 'about:blank' } }))
    sessionStorage.setItem('goshop.refresh', 'stolen')
    const auth = useAuthStore()
    expect(await auth.refresh()).toBe(false)
    expect(sessionStorage.getItem('goshop.refresh')).toBeNull()
    await expect(auth.token()).rejects.toThrow('Please log in again.')
  })

  it('logging out everywhere asks the api with the access token, then clears the session', async () => {
    const calls = fakeFetch((c) => {
      if (c.url.endsWith('/auth/login')) return { body: session(1, 900) }
      if (c.url.endsWith('/auth/logout-everywhere')) return { status: 204 }
      return { body: { id: 7, email: 'a@b.c', role: 'customer', created_at: '' } }
    })
    const auth = useAuthStore()
    await auth.login('a@b.c', 'pw')
    const access = auth.accessToken
    await auth.logoutEverywhere()
    expect(calls.at(-1)).toMatchObject({ url: `${API}/api/v1/auth/logout-everywhere`, method: 'POST', body: undefined, headers: { Authorization: `Bearer ${access}` } })
    expect(auth.loggedIn).toBe(false)
    expect(auth.accessToken).toBe('')
    expect(sessionStorage.getItem('goshop.refresh')).toBeNull()
  })

  it('a failed log out everywhere keeps the session to retry with, unless the api no longer knows it', async () => {
    let answer = { status: 503, headers: { 'Content-Type': 'application/problem+json' }, body: { type: '/problems/cut-off-not-broadcast', title: 'Service Unavailable', status: 503, detail: 'retry to tell them at once' } }
    fakeFetch((c) => {
      if (c.url.endsWith('/auth/login')) return { body: session(1, 900) }
      if (c.url.endsWith('/auth/logout-everywhere')) return answer
      return { body: { id: 7, email: 'a@b.c', role: 'customer', created_at: '' } }
    })
    const auth = useAuthStore()
    await auth.login('a@b.c', 'pw')
    await expect(auth.logoutEverywhere()).rejects.toThrow('retry to tell them at once')
    expect(auth.loggedIn).toBe(true)
    expect(sessionStorage.getItem('goshop.refresh')).toBe('r1')
    answer = { status: 401, headers: { 'Content-Type': 'application/problem+json' }, body: { type: '/problems/invalid-token', title: 'Unauthorized', status: 401, detail: 'the token was cut off' } }
    await expect(auth.logoutEverywhere()).rejects.toMatchObject({ status: 401 })
    expect(auth.loggedIn).toBe(false)
    expect(sessionStorage.getItem('goshop.refresh')).toBeNull()
  })

  it('logout revokes the session family at the api', async () => {
    const calls = fakeFetch((c) => (c.url.endsWith('/auth/logout') ? { status: 204 } : { body: session(1, 900) }))
    sessionStorage.setItem('goshop.refresh', 'r9')
    await useAuthStore().logout()
    expect(calls.at(-1)).toMatchObject({ url: `${API}/api/v1/auth/logout`, method: 'POST', body: { refresh_token: 'r9' } })
    expect(sessionStorage.getItem('goshop.refresh')).toBeNull()
  })
})
