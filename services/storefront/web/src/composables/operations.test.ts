import { afterEach, describe, expect, it, vi } from 'vitest'
import { effectScope, nextTick } from 'vue'
import { ApiError } from '../lib/http'
import { fakeFetch, loggedIn, resetEachTest } from '../test-helpers'
import { useAdminAction } from './useAdminAction'
import { describeReconcile, reconcilePath, useOperations, type Reconcile } from './useOperations'
import { intakePaused } from './useOrders'
import { usePolling } from './usePolling'
import { useReconcile } from './useReconcile'
import { useSelection } from './useSelection'

const problem = { 'Content-Type': 'application/problem+json' }
const noReason = {
  status: 422,
  headers: problem,
  body: { type: '/problems/validation', title: 'Unprocessable Entity', status: 422, detail: 'the request has invalid fields; see errors', errors: [{ pointer: '#/reason', detail: 'must be 1 to 500 characters' }] },
}
const path = (url: string) => url.replace('http://api.test', '')

resetEachTest()
afterEach(() => vi.useRealTimers())

describe('operations api', () => {
  it('pauses and resumes consumption and intake with the reason; intake with its Retry-After', async () => {
    await loggedIn('admin')
    const calls = fakeFetch((c) => ({ body: { paused: (c.body as { paused: boolean }).paused, reason: 'r', by: 'a@b.c', since: '2026-01-01T00:00:00Z' } }))
    const ops = useOperations()
    expect((await ops.setSwitch('consumption', true, ' deploying the worker ')).paused).toBe(true)
    await ops.setSwitch('consumption', false, 'deployed')
    await ops.setSwitch('intake', true, 'database migration', 45)
    await ops.setSwitch('intake', false, 'done', 45)
    expect(calls.map((c) => [c.method, path(c.url), c.body])).toEqual([
      ['POST', '/api/v1/admin/queues/consumption', { paused: true, reason: 'deploying the worker' }],
      ['POST', '/api/v1/admin/queues/consumption', { paused: false, reason: 'deployed' }],
      ['POST', '/api/v1/admin/intake', { paused: true, reason: 'database migration', retry_after_seconds: 45 }],
      ['POST', '/api/v1/admin/intake', { paused: false, reason: 'done' }],
    ])
    expect(calls[0]!.headers.Authorization).toMatch(/^Bearer ey/)
  })

  it('lists dead letters with only the filters that are set, and reads one by its id (encoded, with its colon)', async () => {
    await loggedIn('admin')
    const calls = fakeFetch(() => ({ body: { items: [], total: 0, limit: 50, offset: 0, state: 'dead', discarded_retention: '720h0m0s' } }))
    const ops = useOperations()
    await ops.deadLetters({ state: 'dead', filter: { reason: ' rejected_by_database ', product_id: 4, user_id: undefined, older_than: '' }, limit: 50, offset: 100 })
    await ops.deadLetters({ state: 'discarded', filter: {}, limit: 20, offset: 0 })
    await ops.deadLetter('0:1733400000000-0', 'dead')
    await ops.deadLetter('1:1733400000000-7', 'discarded')
    await ops.deadLetter('0:1/2?x', 'dead') // never a valid id, but never a different path either
    expect(calls.map((c) => path(c.url))).toEqual([
      '/api/v1/admin/dead-letters?state=dead&reason=rejected_by_database&product_id=4&limit=50&offset=100',
      '/api/v1/admin/dead-letters?state=discarded&limit=20&offset=0',
      '/api/v1/admin/dead-letters/0:1733400000000-0',
      '/api/v1/admin/dead-letters/1:1733400000000-7?state=discarded',
      '/api/v1/admin/dead-letters/0:1%2F2%3Fx',
    ])
  })

  it('replays and discards by id or every letter matching the filter, always with the reason', async () => {
    await loggedIn('admin')
    const calls = fakeFetch((c) => ({ body: c.url.endsWith('/replay') ? { replayed: 2 } : { discarded: 1 } }))
    const ops = useOperations()
    expect(await ops.replay({ ids: ['0:1-0', '0:2-0'] }, 'user row created')).toBe(2)
    expect(await ops.discard({ ids: ['0:3-0'] }, 'test garbage')).toBe(1)
    expect(await ops.replay({ all: true, filter: { reason: 'rejected_by_database', older_than: ' ' } }, 'fixed')).toBe(2)
    expect(calls.map((c) => [path(c.url), c.body])).toEqual([
      ['/api/v1/admin/dead-letters/replay', { ids: ['0:1-0', '0:2-0'], reason: 'user row created' }],
      ['/api/v1/admin/dead-letters/discard', { ids: ['0:3-0'], reason: 'test garbage' }],
      ['/api/v1/admin/dead-letters/replay', { all: true, filter: { reason: 'rejected_by_database' }, reason: 'fixed' }],
    ])
  })

  it('retries dead catalogue events and reads them one by one', async () => {
    await loggedIn('admin')
    const calls = fakeFetch((c) => ({ body: c.method === 'POST' ? { retried: 3 } : { id: 7 } }))
    const ops = useOperations()
    expect(await ops.retryDeadEvents({ ids: [7, 8, 9] }, 'Directus is back')).toBe(3)
    expect(await ops.retryDeadEvents({ all: true }, 'Directus is back')).toBe(3)
    await ops.deadEvents(20, 40)
    await ops.deadEvent(7)
    await ops.actions({ action: 'pause_intake', limit: 20, offset: 0 })
    await ops.actions({ limit: 20, offset: 20 })
    expect(calls.map((c) => [c.method, path(c.url), c.body])).toEqual([
      ['POST', '/api/v1/admin/catalog/dead-events/retry', { ids: [7, 8, 9], reason: 'Directus is back' }],
      ['POST', '/api/v1/admin/catalog/dead-events/retry', { all: true, reason: 'Directus is back' }],
      ['GET', '/api/v1/admin/catalog/dead-events?limit=20&offset=40', undefined],
      ['GET', '/api/v1/admin/catalog/dead-events/7', undefined],
      ['GET', '/api/v1/admin/actions?action=pause_intake&limit=20&offset=0', undefined],
      ['GET', '/api/v1/admin/actions?limit=20&offset=20', undefined],
    ])
  })

  it('finds users by a part of their email and acts on one, always with the reason', async () => {
    await loggedIn('admin')
    const user = { id: 5, email: 'anna@shop.example', role: 'customer', created_at: '2026-02-01T09:00:00Z', disabled_at: null, session_version: 1 }
    const calls = fakeFetch((c) => ({ body: c.method === 'POST' ? user : { items: [user], total: 1, limit: 20, offset: 0 } }))
    const ops = useOperations()
    expect((await ops.users({ email: ' @shop.example ', limit: 20, offset: 40 })).items).toEqual([user])
    await ops.users({ email: '', limit: 20, offset: 0 })
    expect(await ops.actOnUser(5, 'sessions/end', ' phone stolen ')).toEqual(user)
    await ops.actOnUser(5, 'disable', 'fraud')
    await ops.actOnUser(5, 'enable', 'cleared')
    expect(calls.map((c) => [c.method, path(c.url), c.body])).toEqual([
      ['GET', '/api/v1/admin/users?email=%40shop.example&limit=20&offset=40', undefined],
      ['GET', '/api/v1/admin/users?limit=20&offset=0', undefined],
      ['POST', '/api/v1/admin/users/5/sessions/end', { reason: 'phone stolen' }],
      ['POST', '/api/v1/admin/users/5/disable', { reason: 'fraud' }],
      ['POST', '/api/v1/admin/users/5/enable', { reason: 'cleared' }],
    ])
  })

  it('polls a reconcile at its Location, relative or absolute on the api, else by id', () => {
    expect(reconcilePath('/api/v1/admin/catalog/reconciles/3', 3)).toBe('/api/v1/admin/catalog/reconciles/3')
    expect(reconcilePath('http://api.test/api/v1/admin/catalog/reconciles/4', 4)).toBe('/api/v1/admin/catalog/reconciles/4')
    expect(reconcilePath('http://elsewhere.test/x', 5)).toBe('/api/v1/admin/catalog/reconciles/5')
    expect(reconcilePath(null, 6)).toBe('/api/v1/admin/catalog/reconciles/6')
  })

  it('describes a reconcile in a sentence', () => {
    const r: Reconcile = { id: 3, status: 'done', reason: 'x', requested_at: '2026-01-01T00:00:00Z', requested_by: 1, products: 10, missing: 1, stale: 2, extra: 0 }
    expect(describeReconcile(r)).toBe('Reconcile #3 done: 10 products compared with Directus; 1 missing, 2 stale, 0 extra there (fixed).')
    expect(describeReconcile({ ...r, status: 'failed', error: 'directus: 503' })).toBe('Reconcile #3 failed: directus: 503.')
    expect(describeReconcile({ ...r, status: 'running', started_by: 'sync-1' })).toBe('Reconcile #3 running on sync-1…')
  })

  it('recognises the intake-paused problem at checkout', () => {
    expect(intakePaused(new ApiError(503, 'Service Unavailable', 'paused', [], 45, { type: '/problems/intake-paused' }))).toBe(45)
    expect(intakePaused(new ApiError(503, 'Service Unavailable', 'paused', [], undefined, { type: 'https://shop.example/problems/intake-paused' }))).toBe(30)
    expect(intakePaused(new ApiError(503, 'Service Unavailable', 'down', [], 5, { type: '/problems/unavailable' }))).toBeUndefined()
    expect(intakePaused(new Error('x'))).toBeUndefined()
  })
})

describe('useAdminAction', () => {
  it('keeps the 422 problem with the reason’s field error, and clears it on the next run', async () => {
    await loggedIn('admin')
    const replies = [noReason, { body: { replayed: 1 } }]
    fakeFetch(() => replies.shift()!)
    const ops = useOperations()
    const a = useAdminAction()
    expect(await a.run(() => ops.replay({ ids: ['0:1-0'] }, ''))).toBeUndefined()
    expect(a.error.value).toBeInstanceOf(ApiError)
    expect(a.fields.value).toEqual({ reason: 'must be 1 to 500 characters' })
    expect(a.busy.value).toBe(false)
    expect(await a.run(() => ops.replay({ ids: ['0:1-0'] }, 'fixed'))).toBe(1)
    expect(a.error.value).toBeNull()
  })

  it('runs one action at a time', async () => {
    const a = useAdminAction()
    let release = () => {}
    const first = a.run(() => new Promise<number>((r) => (release = () => r(1))))
    expect(await a.run(async () => 2)).toBeUndefined()
    release()
    expect(await first).toBe(1)
  })
})

describe('useSelection', () => {
  it('toggles rows, all of a page, and keeps only ids still shown', () => {
    const s = useSelection<string>()
    s.toggle('a')
    s.toggle('b')
    s.toggle('a')
    expect(s.ids.value).toEqual(['b'])
    s.toggleAll(['a', 'b', 'c'])
    expect(s.size.value).toBe(3)
    expect(s.allOf(['a', 'b', 'c'])).toBe(true)
    s.toggleAll(['a', 'b', 'c'])
    expect(s.size.value).toBe(0)
    s.toggleAll(['a', 'b'])
    s.keep(['b', 'z'])
    expect(s.ids.value).toEqual(['b'])
    expect(s.allOf([])).toBe(false)
  })
})

describe('usePolling', () => {
  it('loads now and every interval until the scope ends; a hidden tab skips its turns', async () => {
    vi.useFakeTimers()
    let n = 0
    const load = vi.fn(async () => ++n)
    const scope = effectScope()
    const p = scope.run(() => usePolling(load, 3000))!
    await vi.advanceTimersByTimeAsync(0)
    expect(p.data.value).toBe(1)
    await vi.advanceTimersByTimeAsync(3000)
    expect(p.data.value).toBe(2)
    const hidden = vi.spyOn(document, 'visibilityState', 'get').mockReturnValue('hidden')
    await vi.advanceTimersByTimeAsync(6000)
    expect(load).toHaveBeenCalledTimes(2)
    hidden.mockRestore()
    await vi.advanceTimersByTimeAsync(3000)
    expect(p.data.value).toBe(3)
    scope.stop()
    await vi.advanceTimersByTimeAsync(30_000)
    expect(load).toHaveBeenCalledTimes(3)
  })

  it('keeps the last data on a failed refresh, and the latest load wins', async () => {
    vi.useFakeTimers()
    const replies: [number, number | Error][] = [
      [0, 1],
      [0, new Error('api down')],
      [500, 100], // slow: left before the refresh below, answers after it
      [0, 3],
    ]
    const load = vi.fn(() => {
      const [delay, v] = replies.shift()!
      const settle = (res: (n: number) => void, rej: (e: Error) => void) => (v instanceof Error ? rej(v) : res(v))
      return new Promise<number>((res, rej) => (delay ? setTimeout(() => settle(res, rej), delay) : settle(res, rej)))
    })
    const scope = effectScope()
    const p = scope.run(() => usePolling(load, 1000))!
    await vi.advanceTimersByTimeAsync(0)
    await p.refresh()
    expect(p.data.value).toBe(1)
    expect(p.error.value?.message).toBe('api down')
    const slow = p.refresh()
    await p.refresh()
    await vi.advanceTimersByTimeAsync(500)
    await slow
    expect(p.data.value).toBe(3)
    expect(p.error.value).toBeNull()
    scope.stop()
  })
})

describe('useReconcile', () => {
  it('requests a reconcile and follows its Location until it is done', async () => {
    await loggedIn('admin')
    const base = { reason: 'Directus restored', requested_at: '2026-01-01T00:00:00Z', requested_by: 1 }
    const states: Reconcile[] = [
      { id: 9, status: 'running', started_by: 'sync-1', ...base },
      { id: 9, status: 'done', products: 10, missing: 1, stale: 0, extra: 0, ...base },
    ]
    const calls = fakeFetch((c) =>
      c.method === 'POST'
        ? { status: 202, body: { id: 9, status: 'requested', ...base }, headers: { Location: '/api/v1/admin/catalog/reconciles/9' } }
        : { body: states.shift() },
    )
    const scope = effectScope()
    const r = scope.run(() => useReconcile(10))!
    expect((await r.start('Directus restored')).status).toBe('requested')
    expect(r.finished.value).toBe(false)
    await vi.waitFor(() => expect(r.finished.value).toBe(true))
    expect(r.current.value?.missing).toBe(1)
    expect(calls.map((c) => [c.method, path(c.url), c.body])).toEqual([
      ['POST', '/api/v1/admin/catalog/reconciles', { reason: 'Directus restored' }],
      ['GET', '/api/v1/admin/catalog/reconciles/9', undefined],
      ['GET', '/api/v1/admin/catalog/reconciles/9', undefined],
    ])
    scope.stop()
    await nextTick()
  })

  it('throws the api’s problem when the request is refused, and follows nothing', async () => {
    await loggedIn('admin')
    const calls = fakeFetch(() => noReason)
    const scope = effectScope()
    const r = scope.run(() => useReconcile(10))!
    await expect(r.start('')).rejects.toMatchObject({ status: 422, fields: { reason: 'must be 1 to 500 characters' } })
    expect(r.current.value).toBeNull()
    expect(calls).toHaveLength(1)
    scope.stop()
  })
})
