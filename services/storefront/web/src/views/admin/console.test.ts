import { afterEach, describe, expect, it, vi } from 'vitest'
import { nextTick } from 'vue'
import type { AdminUser, Queues } from '../../composables/useOperations'
import { button, byLabel, fakeFetch, fill, loggedIn, mount, resetEachTest, type Call, type Reply } from '../../test-helpers'
import AuditLogView from './AuditLogView.vue'
import CatalogSyncView from './CatalogSyncView.vue'
import DeadLettersView from './DeadLettersView.vue'
import QueuesView from './QueuesView.vue'
import UsersView from './UsersView.vue'

const unmounts: (() => void)[] = []
resetEachTest()
afterEach(() => {
  unmounts.splice(0).forEach((u) => u())
})

const problem = { 'Content-Type': 'application/problem+json' }
const noReason: Reply = {
  status: 422,
  headers: problem,
  body: { type: '/problems/validation', title: 'Unprocessable Entity', status: 422, detail: 'the request has invalid fields; see errors', errors: [{ pointer: '#/reason', detail: 'must be 1 to 500 characters: say why, it is kept in the audit log' }] },
}
const path = (c: Call) => c.url.replace('http://api.test/api/v1/admin', '')

/** Mounts view as a logged-in admin against route; returns its element and the calls made. */
async function page(view: Parameters<typeof mount>[0], route: (c: Call) => Reply) {
  await loggedIn('admin', 'ops@shop.example')
  const calls = fakeFetch(route)
  const m = await mount(view)
  unmounts.push(m.unmount)
  return { el: m.el, calls }
}

const form = (el: Element, name: string) => {
  const f = el.querySelector(`form[aria-label="${name}"]`)
  if (!f) throw new Error(`no form "${name}"; forms: ${[...el.querySelectorAll('form')].map((x) => x.getAttribute('aria-label')).join(', ')}`)
  return f as HTMLFormElement
}
const text = (el: Element, testid: string) => el.querySelector(`[data-testid="${testid}"]`)?.textContent?.trim()

function queues(over: Partial<Queues> = {}): Queues {
  return {
    stream: 'new_orders', group: 'order-workers', intake: { paused: false }, consumption: { paused: false },
    partitions: [{ partition: 0, stream: 'new_orders', length: 12, lag: 3, pending: 1, oldest_pending_age_seconds: 65, dead_letters: 2, consumers: [{ name: 'worker-a', pending: 1, idle_seconds: 2.5 }] }],
    totals: { length: 12, lag: 3, pending: 1, dead_letters: 2, consumers: 1 },
    ...over,
  }
}

describe('QueuesView', () => {
  it('shows the totals, every partition with its consumers, and both switches', async () => {
    const { el } = await page(QueuesView, () => ({ body: queues({ intake: { paused: true, reason: 'migration', by: 'ops@shop.example', since: new Date(Date.now() - 120_000).toISOString(), retry_after_seconds: 45 } }) }))
    await vi.waitFor(() => expect(text(el, 'total-lag')).toBe('3'))
    expect(text(el, 'total-dead_letters')).toBe('2')
    const row = el.querySelector('[data-testid=partition-row]')!
    expect(row.querySelector('[data-testid=lag]')!.textContent).toBe('3')
    expect(row.textContent).toContain('1 min 5 s')
    expect(row.querySelector('[data-testid=consumer]')!.textContent).toMatch(/worker-a — 1 pending, idle 2 s/)
    expect(text(el, 'consumption-state')).toBe('running')
    expect(text(el, 'intake-state')).toBe('paused')
    expect(text(el, 'intake-paused-by')).toMatch(/Paused by ops@shop\.example since .+ \(2 min ago\): “migration”\. Clients are told to retry after 45 s\./)
    expect(button(el, 'Pause consumption')).toBeTruthy()
    expect(button(el, 'Resume intake')).toBeTruthy()
  })

  it('pauses consumption with a reason; the api’s field error stands next to the reason input', async () => {
    let consumption = { paused: false }
    const { el, calls } = await page(QueuesView, (c) => {
      if (c.method === 'GET') return { body: queues({ consumption }) }
      if (!(c.body as { reason: string }).reason) return noReason
      consumption = { paused: true, reason: 'deploying', by: 'ops@shop.example', since: new Date().toISOString() } as typeof consumption
      return { body: consumption }
    })
    await vi.waitFor(() => expect(text(el, 'consumption-state')).toBe('running'))
    const open = button(el, 'Pause consumption')
    open.click()
    await nextTick()
    expect(open.getAttribute('aria-expanded')).toBe('true')
    const f = form(el, 'Pause consumption')
    const reason = byLabel(f, 'Reason')
    expect(document.activeElement).toBe(reason)
    button(f, 'Confirm').click()
    await vi.waitFor(() => expect(reason.getAttribute('aria-invalid')).toBe('true'))
    expect(el.querySelector(`#${CSS.escape(reason.getAttribute('aria-describedby')!)}`)!.textContent).toBe('must be 1 to 500 characters: say why, it is kept in the audit log')
    expect(f.querySelector('[data-testid=problem]')!.textContent).toContain('Unprocessable Entity (422)')

    fill(reason, 'deploying the worker')
    await nextTick()
    button(f, 'Confirm').click()
    await vi.waitFor(() => expect(text(el, 'consumption-state')).toBe('paused'))
    expect(calls.filter((c) => c.method === 'POST').map((c) => [path(c), c.body])).toEqual([
      ['/queues/consumption', { paused: true, reason: '' }],
      ['/queues/consumption', { paused: true, reason: 'deploying the worker' }],
    ])
    expect(text(el, 'done')).toBe('Consumption paused.')
    expect(el.querySelector('form[aria-label="Pause consumption"]')).toBeNull()
    expect(button(el, 'Resume consumption')).toBeTruthy()
  })

  it('pauses intake with the Retry-After clients get (30 s unless changed)', async () => {
    let intake = { paused: false }
    const { el, calls } = await page(QueuesView, (c) => {
      if (c.method === 'POST') intake = { paused: true, reason: 'x', retry_after_seconds: 60 } as typeof intake
      return { body: c.method === 'GET' ? queues({ intake }) : intake }
    })
    await vi.waitFor(() => expect(text(el, 'intake-state')).toBe('running'))
    button(el, 'Pause intake').click()
    await nextTick()
    const f = form(el, 'Pause intake')
    expect(byLabel(f, 'Retry-After (seconds)').value).toBe('30')
    fill(byLabel(f, 'Reason'), 'database migration')
    fill(byLabel(f, 'Retry-After (seconds)'), '60')
    await nextTick()
    button(f, 'Confirm').click()
    await vi.waitFor(() => expect(text(el, 'intake-state')).toBe('paused'))
    expect(calls.filter((c) => c.method === 'POST').map((c) => [path(c), c.body])).toEqual([['/intake', { paused: true, reason: 'database migration', retry_after_seconds: 60 }]])
  })

  it('reads the queue again on Refresh', async () => {
    let lag = 0
    const { el, calls } = await page(QueuesView, () => ({ body: queues({ totals: { length: 5, lag: lag++, pending: 0, dead_letters: 0, consumers: 1 } }) }))
    await vi.waitFor(() => expect(text(el, 'total-lag')).toBe('0'))
    button(el, 'Refresh').click()
    await vi.waitFor(() => expect(text(el, 'total-lag')).toBe('1'))
    expect(calls.every((c) => c.method === 'GET' && path(c) === '/queues')).toBe(true)
  })
})

const letter = (id: string, over = {}) => ({
  id, partition: 0, reason: 'rejected_by_database', error: 'insert order: violates foreign key constraint "orders_user_id_fkey"', consumer: 'worker-a',
  dead_at: '2026-03-01T10:00:00Z', order_id: '7d3c8e1a-5a8e-4e47-9d7a-5b0a1c2d3e4f', user_id: 424242, product_ids: [3],
  fields: { v: '1', order_id: '7d3c8e1a-5a8e-4e47-9d7a-5b0a1c2d3e4f', user_id: '424242', items: '[{"product_id":3,"quantity":1}]', accepted_at: '2026-03-01T09:59:59Z' },
  ...over,
})
const letters = (items: unknown[], state = 'dead') => ({ body: { items, total: items.length, limit: 50, offset: 0, state, discarded_retention: '720h0m0s' } })

describe('DeadLettersView', () => {
  it('lists letters, inspects one, and replays the selected ones with a reason', async () => {
    let replayed = false
    const { el, calls } = await page(DeadLettersView, (c) => {
      if (c.method === 'POST') return (replayed = true), { body: { replayed: 1 } }
      if (path(c).startsWith('/dead-letters/')) return { body: letter('0:1733400000000-0') }
      return letters(replayed ? [] : [letter('0:1733400000000-0'), letter('0:1733400000001-0', { reason: 'poison_message', user_id: undefined, product_ids: [] })])
    })
    await vi.waitFor(() => expect(el.querySelectorAll('[data-testid=dead-letter-row]')).toHaveLength(2))
    expect(text(el, 'retention')).toBe('Discarded letters are kept for 30 d, then trimmed.')
    const row = el.querySelector('[data-testid=dead-letter-row]')!
    expect(row.textContent).toContain('rejected_by_database')
    expect(row.textContent).toContain('#424242')
    expect(row.textContent).toContain('7d3c8e1a')

    button(el, 'Inspect').click()
    await vi.waitFor(() => expect(el.querySelector('[data-testid=dead-letter-fields]')).not.toBeNull())
    expect(text(el, 'dead-letter-error')).toContain('orders_user_id_fkey')
    expect(el.querySelector('[data-testid=dead-letter-fields]')!.textContent).toContain('[{"product_id":3,"quantity":1}]')

    expect(button(el, 'Replay selected').disabled).toBe(true)
    check(el, 'Select dead letter 0:1733400000000-0')
    await nextTick()
    expect(text(el, 'selected-count')).toBe('1 selected')
    button(el, 'Replay selected').click()
    await nextTick()
    const f = form(el, 'Replay 1 selected dead letter')
    fill(byLabel(f, 'Reason'), 'created the missing user 424242')
    await nextTick()
    button(f, 'Confirm').click()
    await vi.waitFor(() => expect(text(el, 'empty')).toContain('No dead letters'))
    expect(text(el, 'done')).toBe('Replayed 1 dead letter: it is back on the order stream.')
    expect(button(el, 'Replay all matching').disabled).toBe(true)
    expect(calls.filter((c) => c.method !== 'GET' || path(c).startsWith('/dead-letters/')).map((c) => [c.method, path(c), c.body])).toEqual([
      ['GET', '/dead-letters/0:1733400000000-0', undefined],
      ['POST', '/dead-letters/replay', { ids: ['0:1733400000000-0'], reason: 'created the missing user 424242' }],
    ])
  })

  it('filters, and replays every letter the applied filter matches', async () => {
    const { el, calls } = await page(DeadLettersView, (c) => (c.method === 'POST' ? { body: { replayed: 2 } } : letters([letter('0:1-0'), letter('0:2-0')])))
    await vi.waitFor(() => expect(el.querySelectorAll('[data-testid=dead-letter-row]')).toHaveLength(2))
    fill(byLabel(el, 'Reason'), 'rejected_by_database')
    fill(byLabel(el, 'Product id'), '3')
    fill(byLabel(el, 'Older than'), '10m')
    await nextTick()
    button(el, 'Filter').click()
    await vi.waitFor(() => expect(calls).toHaveLength(2))
    fill(byLabel(el, 'Reason'), 'typed but not applied')
    button(el, 'Replay all matching').click()
    await nextTick()
    const f = form(el, 'Replay all 2 dead letters matching')
    fill(byLabel(f, 'Reason'), 'database fixed')
    await nextTick()
    button(f, 'Confirm').click()
    await vi.waitFor(() => expect(text(el, 'done')).toMatch(/^Replayed 2 dead letters/))
    expect(calls.map((c) => [c.method, path(c), c.body])).toEqual([
      ['GET', '/dead-letters?state=dead&limit=50&offset=0', undefined],
      ['GET', '/dead-letters?state=dead&reason=rejected_by_database&product_id=3&older_than=10m&limit=50&offset=0', undefined],
      ['POST', '/dead-letters/replay', { all: true, filter: { reason: 'rejected_by_database', product_id: 3, older_than: '10m' }, reason: 'database fixed' }],
      ['GET', '/dead-letters?state=dead&reason=rejected_by_database&product_id=3&older_than=10m&limit=50&offset=0', undefined],
    ])
  })

  it('names a wrong filter next to its input: a product id here, the api’s answer for the age', async () => {
    const { el, calls } = await page(DeadLettersView, (c) =>
      c.url.includes('older_than')
        ? { status: 400, headers: problem, body: { title: 'Bad Request', status: 400, detail: 'invalid query parameters', errors: [{ parameter: 'older_than', detail: 'must be a duration such as 30m or 24h' }] } }
        : letters([letter('0:1-0')]),
    )
    await vi.waitFor(() => expect(el.querySelectorAll('[data-testid=dead-letter-row]')).toHaveLength(1))
    fill(byLabel(el, 'Product id'), 'mug')
    await nextTick()
    button(el, 'Filter').click()
    await nextTick()
    expect(byLabel(el, 'Product id').getAttribute('aria-invalid')).toBe('true')
    expect(calls).toHaveLength(1)
    fill(byLabel(el, 'Product id'), '')
    fill(byLabel(el, 'Older than'), 'a week')
    await nextTick()
    button(el, 'Filter').click()
    await vi.waitFor(() => expect(byLabel(el, 'Older than').getAttribute('aria-invalid')).toBe('true'))
    expect(el.querySelector('#dl-older-error')!.textContent).toBe('must be a duration such as 30m or 24h')
  })

  it('shows discarded letters with who discarded them and why, without actions', async () => {
    const { el, calls } = await page(DeadLettersView, (c) =>
      c.url.includes('state=discarded')
        ? letters([letter('0:5-0', { discard_reason: 'test data', discarded_by: 'ops@shop.example', discarded_at: '2026-03-02T10:00:00Z' })], 'discarded')
        : letters([]),
    )
    await vi.waitFor(() => expect(text(el, 'empty')).toContain('No dead letters'))
    const discarded = el.querySelector('input[type=radio][value=discarded]') as HTMLInputElement
    expect(discarded.closest('label')!.textContent?.trim()).toBe('Discarded')
    discarded.checked = true
    discarded.dispatchEvent(new Event('change'))
    await vi.waitFor(() => expect(el.querySelectorAll('[data-testid=dead-letter-row]')).toHaveLength(1))
    expect(el.querySelector('[data-testid=dead-letter-row]')!.textContent).toContain('test dataops@shop.example')
    expect(el.querySelectorAll('input[type=checkbox]')).toHaveLength(0)
    expect([...el.querySelectorAll('button')].map((b) => b.textContent?.trim())).not.toContain('Replay selected')
    expect(path(calls.at(-1)!)).toBe('/dead-letters?state=discarded&limit=50&offset=0')
  })
})

const base = { reason: 'Directus restored', requested_at: '2026-03-01T10:00:00Z', requested_by: 1 }
const deadEvent = (id: number) => ({
  id, product_id: 4, product_version: 2, event_type: 'product.updated', attempts: 10, last_error: 'directus: 503 Service Unavailable',
  created_at: '2026-03-01T09:00:00Z', dead_at: '2026-03-01T09:30:00Z',
})

describe('CatalogSyncView', () => {
  it('shows the sync, reconciles now and follows it until done', async () => {
    const progress = [{ id: 8, status: 'running', started_by: 'sync-1', ...base }, { id: 8, status: 'done', products: 10, missing: 1, stale: 2, extra: 0, ...base }]
    const { el, calls } = await page(CatalogSyncView, (c) => {
      if (c.method === 'POST') return { status: 202, body: { id: 8, status: 'requested', ...base }, headers: { Location: '/api/v1/admin/catalog/reconciles/8' } }
      if (path(c) === '/catalog') return { body: { pending: 2, oldest_pending_age_seconds: 75, dead: 0, last_reconcile: null } }
      if (path(c).startsWith('/catalog/reconciles/')) return { body: progress.length > 1 ? progress.shift() : progress[0] }
      return { body: { items: [], total: 0, limit: 20, offset: 0 } }
    })
    await vi.waitFor(() => expect(text(el, 'catalog-pending')).toBe('2'))
    expect(text(el, 'catalog-oldest')).toBe('1 min 15 s')
    expect(text(el, 'catalog-dead')).toBe('0')
    expect(text(el, 'empty')).toContain('No dead events')
    button(el, 'Reconcile now').click()
    await nextTick()
    const f = form(el, 'Reconcile now')
    fill(byLabel(f, 'Reason'), 'Directus restored')
    await nextTick()
    button(f, 'Confirm').click()
    await vi.waitFor(() => expect(el.querySelector('[data-testid=reconcile-outcome]')?.getAttribute('data-status')).toBe('done'), { timeout: 5000 })
    expect(text(el, 'reconcile-outcome')).toBe('Reconcile #8 done: 10 products compared with Directus; 1 missing, 2 stale, 0 extra there (fixed).')
    expect(calls.filter((c) => c.method === 'POST').map((c) => [path(c), c.body])).toEqual([['/catalog/reconciles', { reason: 'Directus restored' }]])
    expect(calls.some((c) => path(c) === '/catalog/reconciles/8')).toBe(true)
  })

  it('inspects a dead event’s payload and retries the selected ones, or all', async () => {
    let dead = [deadEvent(7), deadEvent(9)]
    const { el, calls } = await page(CatalogSyncView, (c) => {
      if (c.method === 'POST') return (dead = []), { body: { retried: (c.body as { ids?: number[] }).ids?.length ?? 2 } }
      if (path(c) === '/catalog') return { body: { pending: 0, oldest_pending_age_seconds: 0, dead: dead.length, last_reconcile: { id: 3, status: 'failed', error: 'directus: timeout', ...base } } }
      if (path(c) === '/catalog/dead-events/7') return { body: { ...deadEvent(7), payload: { sku: 'MUG-001', name: 'Enamel mug' } } }
      return { body: { items: dead, total: dead.length, limit: 20, offset: 0 } }
    })
    await vi.waitFor(() => expect(el.querySelectorAll('[data-testid=dead-event-row]')).toHaveLength(2))
    expect(text(el, 'last-reconcile-status')).toBe('failed')
    expect(text(el, 'last-reconcile')).toContain('directus: timeout')
    button(el, /^Inspect$/).click()
    await vi.waitFor(() => expect(text(el, 'dead-event-payload')).toContain('"sku": "MUG-001"'))
    check(el, 'Select event 7')
    await nextTick()
    button(el, 'Retry selected').click()
    await nextTick()
    const f = form(el, 'Retry 1 selected event')
    fill(byLabel(f, 'Reason'), 'Directus is back')
    await nextTick()
    button(f, 'Confirm').click()
    await vi.waitFor(() => expect(text(el, 'done')).toBe('Retried 1 event: catalog-sync delivers it again.'))
    await vi.waitFor(() => expect(text(el, 'empty')).toContain('No dead events'))
    expect(calls.filter((c) => c.method === 'POST').map((c) => [path(c), c.body])).toEqual([['/catalog/dead-events/retry', { ids: [7], reason: 'Directus is back' }]])
  })
})

const account = (id: number, over: Partial<AdminUser> = {}): AdminUser => ({
  id, email: `user${id}@shop.example`, role: 'customer', created_at: '2026-02-01T09:00:00Z', disabled_at: null, session_version: 0, ...over,
})
const users = (items: AdminUser[]) => ({ body: { items, total: items.length, limit: 20, offset: 0 } })
const row = (el: Element, id: number) => {
  const r = el.querySelector(`[data-testid=user-row][data-user-id="${id}"]`)
  if (!r) throw new Error(`no row for user ${id}`)
  return r
}

describe('UsersView', () => {
  it('lists the users whose email contains the search, with state and session version', async () => {
    const { el, calls } = await page(UsersView, (c) =>
      c.url.includes('email=nobody')
        ? users([])
        : c.url.includes('email=')
        ? users([account(7, { email: 'anna@shop.example', session_version: 3 }), account(5, { email: 'bob@shop.example', disabled_at: '2026-03-01T10:00:00Z' })])
        : users([account(9), account(7), account(5)]),
    )
    await vi.waitFor(() => expect(el.querySelectorAll('[data-testid=user-row]')).toHaveLength(3))
    fill(byLabel(el, 'Email'), ' shop.example ')
    await nextTick()
    button(el, 'Search').click()
    await vi.waitFor(() => expect(el.querySelectorAll('[data-testid=user-row]')).toHaveLength(2))
    expect(text(el, 'result-count')).toBe('2 users')
    const anna = row(el, 7)
    expect(anna.querySelector('[data-testid=user-email]')!.textContent).toBe('anna@shop.example')
    expect(anna.textContent).toContain('customer')
    expect(anna.querySelector('time')!.getAttribute('datetime')).toBe('2026-02-01T09:00:00Z')
    expect(anna.querySelector('[data-testid=user-state]')!.textContent!.trim()).toBe('Active')
    expect(anna.querySelector('[data-testid=session-version]')!.textContent).toBe('3')
    expect(button(anna, /^Disable/).textContent).toBe('Disable: anna@shop.example')
    const bob = row(el, 5)
    expect(text(bob, 'user-state')).toMatch(/^Disabled since .+/)
    expect(bob.querySelector('[data-testid=user-state] time')!.getAttribute('datetime')).toBe('2026-03-01T10:00:00Z')
    expect(button(bob, /^Enable/)).toBeTruthy()
    expect([...bob.querySelectorAll('button')].map((b) => b.textContent)).not.toContain('Disable: bob@shop.example')
    expect(calls.map(path)).toEqual(['/users?limit=20&offset=0', '/users?email=shop.example&limit=20&offset=0'])

    fill(byLabel(el, 'Email'), 'nobody')
    await nextTick()
    button(el, 'Search').click()
    await vi.waitFor(() => expect(text(el, 'empty')).toBe('No usersNo email contains “nobody”.'))
    expect(path(calls.at(-1)!)).toBe('/users?email=nobody&limit=20&offset=0')
  })

  it('shows the search’s answer even when an earlier read of the list answers after it', async () => {
    let release = () => {}
    const { el } = await page(UsersView, (c) => (c.url.includes('email=') ? users([account(7)]) : users([account(9), account(7), account(5)])))
    await vi.waitFor(() => expect(el.querySelectorAll('[data-testid=user-row]')).toHaveLength(3))
    // From here on the whole list answers only when released: Refresh asks for it, then a search overtakes it.
    const replied = globalThis.fetch
    vi.stubGlobal('fetch', async (url: string, init?: RequestInit) => {
      if (!String(url).includes('email=')) await new Promise<void>((r) => (release = r))
      return replied(url, init)
    })
    button(el, 'Refresh').click()
    fill(byLabel(el, 'Email'), 'user7')
    await nextTick()
    button(el, 'Search').click()
    await vi.waitFor(() => expect(el.querySelectorAll('[data-testid=user-row]')).toHaveLength(1))
    release()
    await new Promise((r) => setTimeout(r, 20))
    expect(el.querySelectorAll('[data-testid=user-row]')).toHaveLength(1)
    expect(text(el, 'result-count')).toBe('1 user')
  })

  it('disables a user with a reason: the api’s field error stands next to the reason, then the row shows the answer', async () => {
    const disabledAt = '2026-03-02T08:00:00Z'
    const { el, calls } = await page(UsersView, (c) => {
      if (c.method === 'GET') return users([account(5, { session_version: 1 })])
      if (!(c.body as { reason: string }).reason) return noReason
      return { body: account(5, { disabled_at: disabledAt, session_version: 2 }) }
    })
    await vi.waitFor(() => expect(el.querySelectorAll('[data-testid=user-row]')).toHaveLength(1))
    const open = button(row(el, 5), /^Disable/)
    open.click()
    await nextTick()
    expect(open.getAttribute('aria-expanded')).toBe('true')
    const f = form(el, 'Disable user5@shop.example')
    const reason = byLabel(f, 'Reason')
    expect(document.activeElement).toBe(reason)
    button(f, 'Confirm').click()
    await vi.waitFor(() => expect(reason.getAttribute('aria-invalid')).toBe('true'))
    expect(el.querySelector(`#${CSS.escape(reason.getAttribute('aria-describedby')!)}`)!.textContent).toBe('must be 1 to 500 characters: say why, it is kept in the audit log')
    expect(f.querySelector('[data-testid=problem]')!.textContent).toContain('Unprocessable Entity (422)')
    expect(text(row(el, 5), 'user-state')).toBe('Active')

    fill(reason, 'card fraud reported by the bank')
    await nextTick()
    button(f, 'Confirm').click()
    await vi.waitFor(() => expect(text(row(el, 5), 'user-state')).toMatch(/^Disabled since /))
    expect(row(el, 5).querySelector('[data-testid=user-state] time')!.getAttribute('datetime')).toBe(disabledAt)
    expect(text(row(el, 5), 'session-version')).toBe('2')
    expect(text(el, 'done')).toBe('Disabled user5@shop.example: the account cannot log in, and its sessions have ended.')
    expect(el.querySelector('[data-testid=reason-form]')).toBeNull()
    expect(button(row(el, 5), /^Enable/)).toBeTruthy()
    expect(calls.filter((c) => c.method === 'POST').map((c) => [path(c), c.body])).toEqual([
      ['/users/5/disable', { reason: '' }],
      ['/users/5/disable', { reason: 'card fraud reported by the bank' }],
    ])
    expect(calls.filter((c) => c.method === 'GET')).toHaveLength(1) // the row came from the answer
  })

  it('enables a disabled user', async () => {
    const { el, calls } = await page(UsersView, (c) =>
      c.method === 'GET' ? users([account(5, { disabled_at: '2026-03-02T08:00:00Z', session_version: 2 })]) : { body: account(5, { session_version: 2 }) },
    )
    await vi.waitFor(() => expect(el.querySelectorAll('[data-testid=user-row]')).toHaveLength(1))
    button(row(el, 5), /^Enable/).click()
    await nextTick()
    const f = form(el, 'Enable user5@shop.example')
    fill(byLabel(f, 'Reason'), 'the bank cleared it')
    await nextTick()
    button(f, 'Confirm').click()
    await vi.waitFor(() => expect(text(row(el, 5), 'user-state')).toBe('Active'))
    expect(text(el, 'done')).toBe('Enabled user5@shop.example: the account can log in again.')
    expect(button(row(el, 5), /^Disable/)).toBeTruthy()
    expect(calls.filter((c) => c.method === 'POST').map((c) => [path(c), c.body])).toEqual([['/users/5/enable', { reason: 'the bank cleared it' }]])
  })

  it('logs a user out everywhere: the session version goes up', async () => {
    const { el, calls } = await page(UsersView, (c) => (c.method === 'GET' ? users([account(9), account(5, { session_version: 4 })]) : { body: account(5, { session_version: 5 }) }))
    await vi.waitFor(() => expect(el.querySelectorAll('[data-testid=user-row]')).toHaveLength(2))
    button(row(el, 5), /^Log out everywhere/).click()
    await nextTick()
    const f = form(el, 'Log user5@shop.example out everywhere')
    fill(byLabel(f, 'Reason'), 'phone stolen')
    await nextTick()
    button(f, 'Confirm').click()
    await vi.waitFor(() => expect(text(el, 'done')).toBe('Logged user5@shop.example out everywhere: every session of the account has ended.'))
    expect(text(row(el, 5), 'session-version')).toBe('5')
    expect(text(row(el, 5), 'user-state')).toBe('Active')
    expect(text(row(el, 9), 'session-version')).toBe('0')
    expect(calls.filter((c) => c.method === 'POST').map((c) => [path(c), c.body])).toEqual([['/users/5/sessions/end', { reason: 'phone stolen' }]])
  })

  it('shows the api’s refusals: the own account (409), an unknown user (404), a cut-off not broadcast (503)', async () => {
    const refusals: Reply[] = [
      { status: 409, headers: problem, body: { type: '/problems/own-account', title: 'Conflict', status: 409, detail: 'an admin cannot disable their own account or end their own sessions from the console; use POST /api/v1/auth/logout-everywhere to end your own' } },
      { status: 404, headers: problem, body: { type: '/problems/not-found', title: 'Not Found', status: 404, detail: 'not found' } },
      { status: 503, headers: { ...problem, 'Retry-After': '1' }, body: { type: '/problems/cut-off-not-broadcast', title: 'Service Unavailable', status: 503, detail: 'sessions ended, but the api replicas were not told (redis down): retry to tell them at once' } },
    ]
    const { el } = await page(UsersView, (c) => (c.method === 'GET' ? users([account(1, { email: 'ops@shop.example', role: 'admin' }), account(5)]) : refusals.shift()!))
    await vi.waitFor(() => expect(el.querySelectorAll('[data-testid=user-row]')).toHaveLength(2))
    expect(row(el, 1).textContent).toContain('(you)')
    button(row(el, 1), /^Disable/).click()
    await nextTick()
    let f = form(el, 'Disable ops@shop.example')
    fill(byLabel(f, 'Reason'), 'testing')
    await nextTick()
    button(f, 'Confirm').click()
    await vi.waitFor(() => expect(f.querySelector('[data-testid=problem]')?.textContent).toContain('Conflict (409)'))
    expect(f.querySelector('[data-testid=problem]')!.textContent).toContain('use POST /api/v1/auth/logout-everywhere to end your own')
    expect(text(row(el, 1), 'user-state')).toBe('Active')
    expect(el.querySelector('[data-testid=done]')).toBeNull()

    button(row(el, 5), /^Log out everywhere/).click()
    await nextTick()
    expect(el.querySelector('form[aria-label="Disable ops@shop.example"]')).toBeNull()
    f = form(el, 'Log user5@shop.example out everywhere')
    expect(f.querySelector('[data-testid=problem]')).toBeNull()
    fill(byLabel(f, 'Reason'), 'phone stolen')
    await nextTick()
    button(f, 'Confirm').click()
    await vi.waitFor(() => expect(f.querySelector('[data-testid=problem]')?.textContent).toContain('Not Found (404)'))
    button(f, 'Confirm').click()
    await vi.waitFor(() => expect(f.querySelector('[data-testid=problem]')?.textContent).toContain('Service Unavailable (503)'))
    expect(f.querySelector('[data-testid=problem]')!.textContent).toContain('retry to tell them at once')
    expect(text(row(el, 5), 'session-version')).toBe('0')
  })
})

describe('AuditLogView', () => {
  it('lists actions newest first with reason and outcome, filtered by action', async () => {
    const { el, calls } = await page(AuditLogView, () => ({
      body: {
        items: [
          { id: 2, at: '2026-03-01T10:05:00Z', admin_id: 1, admin_email: 'ops@shop.example', action: 'replay_dead_letters', target: '0:1-0', reason: 'user created', detail: { ids: ['0:1-0'], outcome: 'done', replayed: 1 } },
          { id: 1, at: '2026-03-01T10:00:00Z', admin_id: 1, admin_email: 'ops@shop.example', action: 'request_catalog_reconcile', target: 'catalog', reason: 'check', detail: { outcome: 'done', reconcileId: 4 } },
        ],
        total: 2, limit: 20, offset: 0,
      },
    }))
    await vi.waitFor(() => expect(el.querySelectorAll('[data-testid=audit-row]')).toHaveLength(2))
    const rows = [...el.querySelectorAll('[data-testid=audit-row]')]
    expect(rows[0]!.textContent).toContain('Replay dead letters')
    expect(rows[0]!.querySelector('summary')!.textContent).toBe('done, replayed 1')
    expect(rows[1]!.querySelector('summary')!.textContent).toBe('done, reconcile #4')
    fill(byLabel(el, 'Action'), 'pause_intake')
    await vi.waitFor(() => expect(calls).toHaveLength(2))
    expect(path(calls[1]!)).toBe('/actions?action=pause_intake&limit=20&offset=0')
  })
})

/** Clicks the checkbox named by its aria-label. */
function check(root: ParentNode, name: string) {
  const box = root.querySelector(`input[type=checkbox][aria-label="${name}"]`) as HTMLInputElement | null
  if (!box) throw new Error(`no checkbox "${name}"`)
  box.click()
}
