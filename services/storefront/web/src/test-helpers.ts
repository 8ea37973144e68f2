// Test helpers: a scripted fetch that records requests.
import { vi } from 'vitest'

export interface Call {
  url: string
  method: string
  headers: Record<string, string>
  body: unknown
}

type Reply = { status?: number; body?: unknown; headers?: Record<string, string> }

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
    const text = r.body === undefined ? '' : JSON.stringify(r.body)
    return new Response(status === 204 ? null : text, { status, headers: r.headers })
  })
  vi.stubGlobal('fetch', fn)
  return calls
}

/** An unsigned JWT with the given claims (the SPA never verifies them). */
export function token(claims: Record<string, unknown>): string {
  const b64 = (o: unknown) => btoa(JSON.stringify(o)).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_')
  return `${b64({ alg: 'ES256' })}.${b64(claims)}.sig`
}
