// Orders through the api: checkout with an Idempotency-Key, one order,
// the caller's (or, for admins, everyone's) order list, and live status
// with the order's timeline.
import { onScopeDispose, ref } from 'vue'
import { config } from '../config'
import { ApiError } from '../lib/http'
import { readEventStream } from '../lib/sse'
import { useAuthStore } from '../stores/auth'
import { useApi } from './useApi'

/** Every status, in lifecycle order; pending lives in Redis until the worker decides. */
export const ORDER_STATUSES = ['pending', 'confirmed', 'paid', 'shipped', 'delivered', 'failed', 'cancelled', 'expired'] as const
export type OrderStatus = (typeof ORDER_STATUSES)[number]

/** After these nothing changes any more; the live stream ends. */
export const FINAL_STATUSES: readonly string[] = ['failed', 'cancelled', 'expired', 'delivered']

/** What the caller may do with the order now (the api decides, per caller). */
export type OrderAction = 'pay' | 'cancel' | 'ship' | 'deliver'

export type OrderEventType =
  | 'confirmed'
  | 'failed'
  | 'payment_failed'
  | 'paid'
  | 'shipped'
  | 'delivered'
  | 'cancelled'
  | 'expired'
  | 'refunded'
  | 'refund_failed'

export interface OrderEvent {
  id: number
  type: OrderEventType | string
  /** The order's status after the event. */
  status: string
  /** "user:12", "admin:1", "order-worker", "payments", "stripe". */
  actor: string
  reason?: string
  payment_id?: string
  refund_id?: string
  detail?: Record<string, unknown>
  at: string
}

export interface Order {
  id: string
  user_id: number
  status: OrderStatus
  reason?: string
  reason_detail?: string
  items: { product_id: number; quantity: number; unit_price_minor?: number; currency?: string }[]
  total_minor?: number
  currency?: string
  accepted_at: string
  processed_at?: string
  status_changed_at?: string
  /** Only while confirmed: unpaid orders expire then. */
  payment_due_at?: string
  carrier?: string
  tracking_number?: string
  /** Missing from older api versions: treat as none. */
  actions?: OrderAction[]
  /** Oldest first; one order only (lists leave it out). */
  events?: OrderEvent[]
}

export function can(order: Order | null | undefined, action: OrderAction): boolean {
  return !!order?.actions?.includes(action)
}

/**
 * Whether b is at least as recent as a: the stream and an action's answer
 * can cross, and the older one must not win. Without timelines, status
 * time decides; without either, the later arrival.
 */
export function notOlder(a: Order, b: Order): boolean {
  const last = (o: Order) => o.events?.reduce((m, e) => Math.max(m, e.id), 0)
  const la = last(a)
  const lb = last(b)
  if (la !== undefined && lb !== undefined) return lb >= la
  if (a.status_changed_at && b.status_changed_at) return Date.parse(b.status_changed_at) >= Date.parse(a.status_changed_at)
  return true
}

export interface OrderPage {
  items: Order[]
  total: number
  limit: number
  offset: number
}

export function useOrders() {
  const { call } = useApi()

  async function place(items: { product_id: number; quantity: number }[], key: string): Promise<string> {
    const r = await call<{ id: string }>('/api/v1/orders', { method: 'POST', body: { items }, headers: { 'Idempotency-Key': key } })
    return r.data.id
  }

  async function get(id: string): Promise<Order> {
    return (await call<Order>(`/api/v1/orders/${encodeURIComponent(id)}`)).data
  }

  async function list(opts: { status?: string; limit: number; offset: number }): Promise<OrderPage> {
    const q = new URLSearchParams({ limit: String(opts.limit), offset: String(opts.offset) })
    if (opts.status) q.set('status', opts.status)
    return (await call<OrderPage>(`/api/v1/orders?${q}`)).data
  }

  return { place, get, list }
}

/**
 * Whether checkout was refused because an operator paused order intake
 * (503, type ending /intake-paused): then the seconds to wait (Retry-After,
 * 30 when absent), else undefined.
 */
export function intakePaused(e: unknown): number | undefined {
  if (!(e instanceof ApiError) || e.status !== 503 || !String(e.problem.type ?? '').endsWith('/intake-paused')) return undefined
  return e.retryAfter ?? 30
}

/**
 * Follows one order live over the api's event stream (fetch-based, with the
 * bearer token); each event is the whole order with its timeline. Reconnects
 * with Last-Event-ID, and polls while the stream is unavailable. Stops at
 * the final status or when the scope ends. show() puts in an order an action
 * answered with, unless the stream has already brought a newer one.
 */
export function useOrderStatus(id: string) {
  const order = ref<Order | null>(null)
  const error = ref('')
  const live = ref(false)
  const auth = useAuthStore()
  const { get } = useOrders()
  const abort = new AbortController()
  onScopeDispose(() => abort.abort())

  const final = () => FINAL_STATUSES.includes(order.value?.status ?? '')
  const pause = (ms: number) => new Promise((r) => setTimeout(r, ms))

  function show(o: Order): void {
    if (!order.value || notOlder(order.value, o)) order.value = o
  }

  async function follow(): Promise<void> {
    let lastId = ''
    while (!abort.signal.aborted && !final()) {
      try {
        const headers: Record<string, string> = { Authorization: `Bearer ${await auth.token()}` }
        if (lastId) headers['Last-Event-ID'] = lastId
        const res = await readEventStream(
          `${config().apiURL}/api/v1/orders/${encodeURIComponent(id)}/events`,
          headers,
          (e) => {
            if (e.event !== 'status') return
            show(JSON.parse(e.data) as Order)
            live.value = true
            error.value = ''
          },
          abort.signal,
        )
        lastId = res.lastEventId
        if (res.status === 204) show(await get(id))
        else if (res.status === 401) await auth.refresh()
        else if (res.status === 404) throw new Error('Order not found.')
        else if (res.status >= 400) {
          live.value = false
          show(await get(id))
          await pause(2000)
        } else if (!final()) {
          // The server closed a stream that had more to tell (restart,
          // proxy timeout): reconnect, but never in a tight loop.
          live.value = false
          await pause(500)
        }
      } catch (e) {
        if (abort.signal.aborted) return
        live.value = false
        error.value = (e as Error).message
        if (error.value === 'Order not found.') return
        await pause(2000)
      }
    }
    live.value = false
  }

  void follow()
  return { order, error, live, show }
}
