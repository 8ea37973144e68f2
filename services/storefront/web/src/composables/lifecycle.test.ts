import { describe, expect, it, vi } from 'vitest'
import { effectScope, nextTick } from 'vue'
import { fakeFetch, type Call, loggedIn, resetEachTest } from '../test-helpers'
import { currentStatus, useOrderAction, useOrderActions, usePayment } from './useOrderActions'
import { notOlder, useOrderStatus, type Order } from './useOrders'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/
const problem = { 'Content-Type': 'application/problem+json' }

resetEachTest()

const payment = (status: 'succeeded' | 'processing') => ({ id: 'p-1', order_id: 'o-1', status, amount_minor: 2980, currency: 'EUR', order_status: status === 'succeeded' ? 'paid' : 'confirmed' })
const declined = (detail: string) => ({
  status: 402,
  headers: problem,
  body: { type: '/problems/payment-declined', title: 'Payment declined', status: 402, errors: [{ pointer: '/payment_method', detail }] },
})
const wrongState = (current: string) => ({
  status: 409,
  headers: problem,
  body: { type: '/problems/wrong-state', title: 'Wrong state', status: 409, detail: `order is ${current}`, current_status: current },
})

function order(status: Order['status'], events: [number, string][] = [], actions: Order['actions'] = []): Order {
  return {
    id: 'o-1', user_id: 1, status, items: [], accepted_at: '2026-01-01T10:00:00Z', actions,
    events: events.map(([id, type]) => ({ id, type, status: type, actor: 'user:1', at: `2026-01-01T10:0${id}:00Z` })),
  }
}

describe('payment', () => {
  it('pays with the card and a fresh Idempotency-Key per attempt; a decline names the reason', async () => {
    await loggedIn()
    const replies = [declined('insufficient_funds'), { status: 201, body: payment('succeeded') }]
    const calls = fakeFetch(() => replies.shift()!)
    const p = usePayment('o-1')

    expect(await p.submit('4000 0000 0000 9995')).toEqual({ kind: 'declined', code: 'insufficient_funds', message: 'Your card has insufficient funds.' })
    expect(await p.submit('4242 4242 4242 4242')).toEqual({ kind: 'paid', payment: payment('succeeded') })

    expect(calls.map((c) => [c.method, c.url, c.body])).toEqual([
      ['POST', 'http://api.test/api/v1/orders/o-1/payments', { payment_method: '4000 0000 0000 9995' }],
      ['POST', 'http://api.test/api/v1/orders/o-1/payments', { payment_method: '4242 4242 4242 4242' }],
    ])
    const keys = calls.map((c) => c.headers['Idempotency-Key'])
    expect(keys[0]).toMatch(UUID)
    expect(keys[1]).toMatch(UUID)
    expect(keys[0]).not.toBe(keys[1])
    expect(calls[0]!.headers.Authorization).toMatch(/^Bearer ey/)
  })

  it('reports a 202 as processing, a 409 with the current status and a 400 with the field error', async () => {
    await loggedIn()
    const replies = [
      { status: 202, body: payment('processing') },
      wrongState('expired'),
      { status: 400, headers: problem, body: { title: 'Bad Request', status: 400, errors: [{ pointer: '/payment_method', detail: 'not a card number' }] } },
    ]
    fakeFetch(() => replies.shift()!)
    const p = usePayment('o-1')
    expect(await p.submit('4000000000000077')).toEqual({ kind: 'processing', payment: payment('processing') })
    expect(await p.submit('4242424242424242')).toEqual({ kind: 'wrong-state', status: 'expired', message: 'This order cannot be paid any more: it is expired.' })
    expect(await p.submit('1234')).toEqual({ kind: 'invalid', message: 'not a card number' })
    expect(p.outcome.value?.kind).toBe('invalid')
  })

  it('sends the same key again only when the outcome of an attempt is unknown', async () => {
    await loggedIn()
    let n = 0
    const calls: Call[] = []
    const answered = fakeFetch(() => ({ status: 201, body: payment('succeeded') }))
    const real = globalThis.fetch
    vi.stubGlobal('fetch', async (url: string, init: RequestInit) => {
      if (n++ === 0) {
        calls.push({ url, method: init.method ?? 'GET', headers: init.headers as Record<string, string>, body: JSON.parse(String(init.body)) })
        throw new TypeError('Failed to fetch')
      }
      return real(url, init)
    })
    const p = usePayment('o-1')
    expect((await p.submit('4242424242424242'))?.kind).toBe('error')
    expect((await p.submit('4242424242424242'))?.kind).toBe('paid')
    expect(answered[0]!.headers['Idempotency-Key']).toBe(calls[0]!.headers['Idempotency-Key'])
  })

  it('ignores a second submit while one is under way', async () => {
    await loggedIn()
    const calls = fakeFetch(() => ({ status: 201, body: payment('succeeded') }))
    const p = usePayment('o-1')
    const [a, b] = await Promise.all([p.submit('4242424242424242'), p.submit('4242424242424242')])
    expect([a?.kind, b]).toEqual(['paid', null])
    expect(calls).toHaveLength(1)
  })
})

describe('order actions', () => {
  it('cancels with an optional reason, ships with carrier and tracking number, marks delivered', async () => {
    await loggedIn('admin')
    const calls = fakeFetch((c) => ({ body: order(c.url.endsWith('/cancel') ? 'cancelled' : c.url.endsWith('/shipments') ? 'shipped' : 'delivered') }))
    const a = useOrderActions()
    expect((await a.cancel('o/1', '  changed my mind ')).status).toBe('cancelled')
    await a.cancel('o-2', '   ')
    expect((await a.ship('o-3', ' DHL ', 'JD014600003828')).status).toBe('shipped')
    expect((await a.deliver('o-4')).status).toBe('delivered')
    expect(calls.map((c) => [c.method, c.url.replace('http://api.test/api/v1/orders/', ''), c.body])).toEqual([
      ['POST', 'o%2F1/cancel', { reason: 'changed my mind' }],
      ['POST', 'o-2/cancel', {}],
      ['POST', 'o-3/shipments', { carrier: 'DHL', tracking_number: 'JD014600003828' }],
      ['POST', 'o-4/delivery', {}],
    ])
  })

  it('keeps the problem of a failed action, with the status the order is in now', async () => {
    await loggedIn('admin')
    fakeFetch(() => wrongState('delivered'))
    const { busy, error, run } = useOrderAction()
    const a = useOrderActions()
    expect(await run(() => a.ship('o-1', 'DHL', 'X1'))).toBeUndefined()
    expect(busy.value).toBe(false)
    expect(currentStatus(error.value)).toBe('delivered')
    expect(error.value?.message).toBe('order is delivered')
  })
})

describe('live order', () => {
  it('follows the stream past confirmed and paid to the final status, with the timeline', async () => {
    await loggedIn()
    const frame = (o: Order, id: number) => `id: ${id}\nevent: status\ndata: ${JSON.stringify(o)}\n\n`
    const sse =
      frame(order('confirmed', [[1, 'confirmed']], ['pay', 'cancel']), 1) +
      frame(order('paid', [[1, 'confirmed'], [2, 'paid']], ['cancel']), 2) +
      frame(order('shipped', [[1, 'confirmed'], [2, 'paid'], [3, 'shipped']]), 3) +
      frame(order('delivered', [[1, 'confirmed'], [2, 'paid'], [3, 'shipped'], [4, 'delivered']]), 4)
    const fetchMock = vi.fn(async () => new Response(sse, { status: 200, headers: { 'Content-Type': 'text/event-stream' } }))
    vi.stubGlobal('fetch', fetchMock)
    const scope = effectScope()
    const s = scope.run(() => useOrderStatus('o-1'))!
    await vi.waitFor(() => expect(s.order.value?.status).toBe('delivered'))
    expect(s.order.value?.events?.map((e) => e.type)).toEqual(['confirmed', 'paid', 'shipped', 'delivered'])
    expect(fetchMock).toHaveBeenCalledTimes(1)
    scope.stop()
    await nextTick()
  })

  it('reconnects when the stream ends before the final status', async () => {
    await loggedIn()
    const frames = [order('confirmed', [[1, 'confirmed']]), order('cancelled', [[1, 'confirmed'], [2, 'cancelled']])]
    const fetchMock = vi.fn(async () => new Response(`event: status\ndata: ${JSON.stringify(frames.shift())}\n\n`, { status: 200 }))
    vi.stubGlobal('fetch', fetchMock)
    const scope = effectScope()
    const s = scope.run(() => useOrderStatus('o-1'))!
    await vi.waitFor(() => expect(s.order.value?.status).toBe('cancelled'))
    expect(fetchMock).toHaveBeenCalledTimes(2)
    scope.stop()
  })

  it('shows an action’s answer unless the stream already brought a newer order', () => {
    const paid = order('paid', [[1, 'confirmed'], [2, 'paid']])
    const cancelled = order('cancelled', [[1, 'confirmed'], [2, 'paid'], [3, 'cancelled'], [4, 'refunded']])
    expect(notOlder(paid, cancelled)).toBe(true)
    expect(notOlder(cancelled, paid)).toBe(false)
    expect(notOlder(paid, paid)).toBe(true)
    const { events: _, ...listed } = cancelled
    expect(notOlder(paid, { ...listed, status_changed_at: '2026-01-01T10:00:00Z' })).toBe(true)
  })
})
