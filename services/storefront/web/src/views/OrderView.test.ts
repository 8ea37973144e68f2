import { afterEach, describe, expect, it, vi } from 'vitest'
import { nextTick } from 'vue'
import type { Order } from '../composables/useOrders'
import { button, byLabel, fakeFetch, fill, mount, type Call, type Reply, loggedIn, resetEachTest } from '../test-helpers'
import OrderView from './OrderView.vue'

let unmount = () => {}
resetEachTest()
afterEach(() => {
  unmount()
})

const confirmed: Order = {
  id: 'o-1', user_id: 1, status: 'confirmed', items: [{ product_id: 3, quantity: 2, unit_price_minor: 1490, currency: 'EUR' }], total_minor: 2980, currency: 'EUR',
  accepted_at: '2026-03-01T10:00:00Z', payment_due_at: new Date(Date.now() + 14 * 60_000 + 30_000).toISOString(), actions: ['pay', 'cancel'],
  events: [{ id: 1, type: 'confirmed', status: 'confirmed', actor: 'order-worker', at: '2026-03-01T10:00:01Z' }],
}

/**
 * The order page against a scripted api: the event stream sends the
 * confirmed order once and then stays open (as the real one does) until
 * the test ends; other calls go to route.
 */
async function orderPage(route: (c: Call) => Reply) {
  await loggedIn()
  const calls = fakeFetch(route)
  const replied = globalThis.fetch
  vi.stubGlobal('fetch', async (url: string, init: RequestInit & { signal?: AbortSignal }) => {
    if (!String(url).endsWith('/events')) return replied(url, init)
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new TextEncoder().encode(`id: 1\nevent: status\ndata: ${JSON.stringify(confirmed)}\n\n`))
        init.signal?.addEventListener('abort', () => c.error(new DOMException('aborted', 'AbortError')))
      },
    })
    return new Response(body, { status: 200, headers: { 'Content-Type': 'text/event-stream' } })
  })
  const m = await mount(OrderView, { id: 'o-1' })
  unmount = m.unmount
  await vi.waitFor(() => expect(m.el.textContent).toContain('Confirmed — thank you!'))
  return { el: m.el, calls }
}

describe('order page', () => {
  it('shows the deadline, the timeline, and a payment form that stays after a decline', async () => {
    const { el, calls } = await orderPage((c) =>
      c.url.endsWith('/payments') && (c.body as { payment_method: string }).payment_method.startsWith('4000')
        ? { status: 402, headers: { 'Content-Type': 'application/problem+json' }, body: { type: '/problems/payment-declined', title: 'Payment declined', status: 402, errors: [{ pointer: '/payment_method', detail: 'expired_card' }] } }
        : { status: 201, body: { id: 'p-2', order_id: 'o-1', status: 'succeeded', amount_minor: 2980, currency: 'EUR', order_status: 'paid' } },
    )
    expect(el.querySelector('[data-testid=payment-due]')!.textContent).toContain('15 minutes left')
    expect(el.querySelectorAll('[data-testid=timeline-event]')).toHaveLength(1)

    fill(byLabel(el, 'Card number'), '4000 0000 0000 0069')
    await nextTick()
    button(el, 'Pay now').click()
    await vi.waitFor(() => expect(el.querySelector('[data-testid=payment-error]')?.textContent).toBe('Your card has expired.'))
    expect(byLabel(el, 'Card number').value).toBe('4000 0000 0000 0069')

    fill(byLabel(el, 'Card number'), '4242 4242 4242 4242')
    await nextTick()
    button(el, 'Pay now').click()
    await vi.waitFor(() => expect(el.textContent).toContain('Payment received — thank you!'))
    expect(el.querySelector('form[aria-label=Payment]')).toBeNull()
    const keys = calls.filter((c) => c.url.endsWith('/payments')).map((c) => c.headers['Idempotency-Key'])
    expect(keys).toHaveLength(2)
    expect(new Set(keys).size).toBe(2)
  })

  it('cancels with the reason and shows the order the api answers with', async () => {
    const cancelled: Order = {
      ...confirmed, status: 'cancelled', payment_due_at: undefined, actions: [], // the reason is the event's
      events: [...confirmed.events!, { id: 2, type: 'cancelled', status: 'cancelled', actor: 'user:1', reason: 'found it cheaper', at: '2026-03-01T10:03:00Z' }],
    }
    const { el, calls } = await orderPage(() => ({ body: cancelled }))
    fill(byLabel(el, 'Reason (optional)'), 'found it cheaper')
    button(el, 'Cancel order').click()
    await vi.waitFor(() => expect(el.textContent).toContain('Cancelled: found it cheaper'))
    expect(calls.at(-1)).toMatchObject({ method: 'POST', url: 'http://api.test/api/v1/orders/o-1/cancel', body: { reason: 'found it cheaper' } })
    expect(el.querySelector('[data-testid=status]')!.textContent).toBe('cancelled')
    expect(el.querySelectorAll('[data-testid=timeline-event]')).toHaveLength(2)
    expect(el.textContent).not.toContain('Cancel order')
    expect(el.querySelector('form[aria-label=Payment]')).toBeNull()
    expect(el.querySelector('[data-testid=payment-due]')).toBeNull()
  })
})
