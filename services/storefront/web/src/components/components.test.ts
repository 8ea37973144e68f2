import { afterEach, describe, expect, it, vi } from 'vitest'
import { nextTick } from 'vue'
import { ORDER_STATUSES, type Order } from '../composables/useOrders'
import { button, byLabel, fakeFetch, fill, mount, loggedIn, resetEachTest } from '../test-helpers'
import AdminOrderPanel from './AdminOrderPanel.vue'
import OrderTimeline from './OrderTimeline.vue'
import PaymentForm from './PaymentForm.vue'
import StatusBadge from './StatusBadge.vue'

const unmounts: (() => void)[] = []
async function render(...args: Parameters<typeof mount>) {
  const m = await mount(...args)
  unmounts.push(m.unmount)
  return m.el
}

resetEachTest()
afterEach(() => {
  unmounts.splice(0).forEach((u) => u())
})

const shipped: Order = {
  id: 'o-1', user_id: 12, status: 'shipped', items: [], accepted_at: '2026-03-01T10:00:00Z', carrier: 'DHL', tracking_number: 'JD014600003828',
  actions: [],
  events: [
    // Out of order on purpose: the timeline sorts by id.
    { id: 9, type: 'shipped', status: 'shipped', actor: 'admin:1', at: '2026-03-01T12:00:00Z', detail: { carrier: 'UPS', tracking_number: '1Z999' } },
    { id: 3, type: 'confirmed', status: 'confirmed', actor: 'order-worker', at: '2026-03-01T10:00:01Z' },
    { id: 5, type: 'payment_failed', status: 'confirmed', actor: 'payments', reason: 'card_declined', at: '2026-03-01T10:05:00Z' },
    { id: 7, type: 'paid', status: 'paid', actor: 'user:12', payment_id: 'p-1', at: '2026-03-01T10:06:00Z' },
  ],
}

describe('StatusBadge', () => {
  it('has its own colour for every status', async () => {
    const unknown = (await render(StatusBadge, { status: 'weird' })).querySelector('[data-testid=status]')!
    expect(unknown.textContent).toBe('weird')
    const classes = new Set<string>([unknown.className])
    for (const status of ORDER_STATUSES) {
      const badge = (await render(StatusBadge, { status })).querySelector('[data-testid=status]')!
      expect(badge.textContent).toBe(status)
      classes.add(badge.className)
    }
    expect(classes.size).toBe(ORDER_STATUSES.length + 1)
  })
})

describe('OrderTimeline', () => {
  it('lists events oldest first with who, why, and the parcel', async () => {
    const el = await render(OrderTimeline, { order: shipped })
    const items = [...el.querySelectorAll('[data-testid=timeline-event]')]
    expect(items.map((li) => li.getAttribute('data-type'))).toEqual(['confirmed', 'payment_failed', 'paid', 'shipped'])
    expect(items[0]!.textContent).toContain('by the shop (automatic)')
    expect(items[1]!.textContent).toContain('Payment failed')
    expect(items[1]!.textContent).toContain('Your card was declined.')
    expect(items[2]!.textContent).toContain('by customer #12')
    expect(items[3]!.textContent).toContain('UPS, tracking number 1Z999')
    expect(items[3]!.querySelector('time')!.getAttribute('datetime')).toBe('2026-03-01T12:00:00Z')
  })

  it('falls back to the order’s parcel and shows refunds', async () => {
    const el = await render(OrderTimeline, {
      order: {
        ...shipped,
        events: [
          { id: 1, type: 'shipped', status: 'shipped', actor: 'admin:1', at: '2026-03-01T12:00:00Z' },
          { id: 2, type: 'cancelled', status: 'cancelled', actor: 'admin:1', reason: 'lost in transit', at: '2026-03-02T12:00:00Z' },
          { id: 3, type: 'refunded', status: 'cancelled', actor: 'payments', refund_id: 're_123', at: '2026-03-02T12:00:01Z' },
        ],
      },
    })
    expect(el.textContent).toContain('DHL, tracking number JD014600003828')
    expect(el.textContent).toContain('lost in transit')
    expect(el.textContent).toContain('Refund re_123')
  })
})

describe('PaymentForm', () => {
  it('has a labelled card input, lists the test cards and emits the card number', async () => {
    const paid: string[] = []
    const el = await render(PaymentForm, { busy: false, onPay: (c: string) => paid.push(c) })
    const input = byLabel(el, 'Card number')
    expect(el.querySelector('details')!.textContent).toContain('4242 4242 4242 4242')
    expect(el.querySelector('details')!.textContent).toContain('4000 0000 0000 0002')
    expect(button(el, 'Pay now').disabled).toBe(true)
    fill(input, '4242 4242 4242 4242')
    await nextTick()
    button(el, 'Pay now').click()
    expect(paid).toEqual(['4242 4242 4242 4242'])
  })

  it('ties the decline reason to the input', async () => {
    const el = await render(PaymentForm, { busy: false, error: 'Your card was declined.' })
    const input = byLabel(el, 'Card number')
    expect(input.getAttribute('aria-invalid')).toBe('true')
    expect(el.querySelector(`#${CSS.escape(input.getAttribute('aria-describedby')!)}`)!.textContent).toBe('Your card was declined.')
  })
})

describe('AdminOrderPanel', () => {
  const paid: Order = { ...shipped, status: 'paid', carrier: undefined, tracking_number: undefined, actions: ['ship', 'cancel'], events: shipped.events!.slice(1) }

  async function admin(route: Parameters<typeof fakeFetch>[0]) {
    await loggedIn('admin', 'a@b.c')
    return fakeFetch(route)
  }

  it('offers what the order allows and ships with carrier and tracking number', async () => {
    const changed: Order[] = []
    const calls = await admin((c) =>
      c.method === 'GET' ? { body: paid } : { body: { ...paid, status: 'shipped', carrier: 'DHL', tracking_number: 'JD1', actions: ['deliver', 'cancel'] } },
    )
    const el = await render(AdminOrderPanel, { orderId: 'o-1', onChanged: (o: Order) => changed.push(o) })
    await vi.waitFor(() => expect(el.querySelector('[data-testid=timeline]')).not.toBeNull())
    expect(el.textContent).not.toContain('Mark delivered')
    expect(button(el, 'Cancel & refund')).toBeTruthy()
    fill(byLabel(el, 'Carrier'), 'DHL')
    fill(byLabel(el, 'Tracking number'), 'JD1')
    await nextTick()
    button(el, 'Ship').click()
    await vi.waitFor(() => expect(el.textContent).toContain('Shipped.'))
    expect(calls.at(-1)).toMatchObject({ method: 'POST', url: 'http://api.test/api/v1/orders/o-1/shipments', body: { carrier: 'DHL', tracking_number: 'JD1' } })
    expect(changed.map((o) => o.status)).toEqual(['shipped'])
    expect(button(el, 'Mark delivered')).toBeTruthy()
    expect(el.querySelector('form[aria-label=Ship]')).toBeNull()
  })

  it('shows the problem when the action is refused', async () => {
    await admin((c) =>
      c.method === 'GET'
        ? { body: paid }
        : { status: 409, headers: { 'Content-Type': 'application/problem+json' }, body: { type: '/problems/wrong-state', title: 'Wrong state', status: 409, detail: 'order is cancelled', current_status: 'cancelled' } },
    )
    const el = await render(AdminOrderPanel, { orderId: 'o-1' })
    await vi.waitFor(() => expect(el.querySelector('form[aria-label=Cancel]')).not.toBeNull())
    fill(byLabel(el, 'Cancellation reason'), 'customer called')
    button(el, 'Cancel & refund').click()
    await vi.waitFor(() => expect(el.querySelector('[data-testid=problem]')).not.toBeNull())
    const p = el.querySelector('[data-testid=problem]')!.textContent
    expect(p).toContain('Wrong state (409)')
    expect(p).toContain('order is cancelled')
    expect(p).toContain('The order is now cancelled.')
  })
})
