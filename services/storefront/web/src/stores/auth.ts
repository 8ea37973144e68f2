// The session: access token in memory, refresh token in sessionStorage
// (one tab, one rotating refresh token: two tabs sharing one would present
// a used token and revoke the whole session). The access token is renewed
// a minute before it expires.
import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import { config } from '../config'
import { ApiError, request } from '../lib/http'
import { claims } from '../lib/jwt'

export interface User {
  id: number
  email: string
  role: 'customer' | 'admin'
  created_at: string
}

interface Session {
  access_token: string
  refresh_token: string
  expires_in: number
}

const REFRESH_KEY = 'goshop.refresh'
const REFRESH_EARLY_MS = 60_000

export const useAuthStore = defineStore('auth', () => {
  const accessToken = ref('')
  const expiresAt = ref(0)
  const user = ref<User | null>(null)
  let timer: ReturnType<typeof setTimeout> | undefined
  let refreshing: Promise<boolean> | null = null

  const loggedIn = computed(() => user.value !== null)
  const isAdmin = computed(() => user.value?.role === 'admin')

  const api = (path: string) => config().apiURL + path

  function schedule(): void {
    clearTimeout(timer)
    const wait = Math.max(expiresAt.value - Date.now() - REFRESH_EARLY_MS, 5_000)
    timer = setTimeout(() => void refresh(), wait)
  }

  async function adopt(s: Session): Promise<void> {
    accessToken.value = s.access_token
    expiresAt.value = (claims(s.access_token).exp ?? 0) * 1000 || Date.now() + s.expires_in * 1000
    sessionStorage.setItem(REFRESH_KEY, s.refresh_token)
    schedule()
    const me = await request<User>(api('/api/v1/me'), { headers: { Authorization: `Bearer ${s.access_token}` } })
    user.value = me.data
  }

  function clear(): void {
    clearTimeout(timer)
    accessToken.value = ''
    expiresAt.value = 0
    user.value = null
    sessionStorage.removeItem(REFRESH_KEY)
  }

  async function login(email: string, password: string): Promise<void> {
    const r = await request<Session>(api('/api/v1/auth/login'), { method: 'POST', body: { email, password } })
    await adopt(r.data)
  }

  async function register(email: string, password: string): Promise<void> {
    await request<User>(api('/api/v1/auth/register'), { method: 'POST', body: { email, password } })
    await login(email, password)
  }

  /** Rotates the refresh token; false (and logged out) when the session is gone. */
  function refresh(): Promise<boolean> {
    refreshing ??= (async () => {
      const token = sessionStorage.getItem(REFRESH_KEY)
      if (!token) return false
      try {
        const r = await request<Session>(api('/api/v1/auth/refresh'), { method: 'POST', body: { refresh_token: token } })
        await adopt(r.data)
        return true
      } catch (e) {
        if (e instanceof ApiError && e.status === 401) clear()
        return false
      } finally {
        refreshing = null
      }
    })()
    return refreshing
  }

  async function logout(): Promise<void> {
    const token = sessionStorage.getItem(REFRESH_KEY)
    clear()
    if (token) {
      await request(api('/api/v1/auth/logout'), { method: 'POST', body: { refresh_token: token } }).catch(() => undefined)
    }
  }

  /**
   * Ends every session of this account, on every device: the api revokes
   * all its refresh tokens and cuts off every access token issued so far
   * (this one included), so the local session is cleared after it. When
   * the session was already gone here (401) it is cleared too and the
   * error thrown; on any other failure (a 503 asks to retry) the session
   * stays, to retry with.
   */
  async function logoutEverywhere(): Promise<void> {
    try {
      await request(api('/api/v1/auth/logout-everywhere'), { method: 'POST', headers: { Authorization: `Bearer ${await token()}` } })
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) clear()
      throw e
    }
    clear()
  }

  /** A valid access token, refreshed first when it is about to expire. */
  async function token(): Promise<string> {
    if (accessToken.value && Date.now() < expiresAt.value - 5_000) return accessToken.value
    if (await refresh()) return accessToken.value
    throw new ApiError(401, 'Unauthorized', 'Please log in again.')
  }

  /** On start: resume this tab's session, if any. */
  async function restore(): Promise<void> {
    if (sessionStorage.getItem(REFRESH_KEY)) await refresh()
  }

  return { accessToken, user, loggedIn, isAdmin, login, register, logout, logoutEverywhere, refresh, token, restore, clear }
})
