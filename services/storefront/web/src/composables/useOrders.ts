// Orders through the api: checkout with an Idempotency-Key, one order,
// the caller's (or, for admins, everyone's) order list, and live status.
import { onScopeDispose, ref } from 'vue'
import { config } from '../config'
import { readEventStream } from '../lib/sse'
import { useAuthStore } from '../stores/auth'
import { useApi } from './useApi'

export type OrderStatus = 'pending' | 'confirmed' | 'failed'

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
 * Follows one order live over the api's event stream (fetch-based, with the
 * bearer token); reconnects with Last-Event-ID, and polls while the stream
 * is unavailable. Stops at the final status or when the scope ends.
 */
export function useOrderStatus(id: string) {
  const order = ref<Order | null>(null)
  const error = ref('')
  const live = ref(false)
  const auth = useAuthStore()
  const { get } = useOrders()
  const abort = new AbortController()
  onScopeDispose(() => abort.abort())

  const final = () => order.value?.status === 'confirmed' || order.value?.status === 'failed'
  const pause = (ms: number) => new Promise((r) => setTimeout(r, ms))

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
            order.value = JSON.parse(e.data) as Order
            live.value = true
            error.value = ''
          },
          abort.signal,
        )
        lastId = res.lastEventId
        if (res.status === 204) order.value = await get(id)
        else if (res.status === 401) await auth.refresh()
        else if (res.status === 404) throw new Error('Order not found.')
        else if (res.status >= 400) {
          live.value = false
          order.value = await get(id)
          await pause(2000)
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
  return { order, error, live }
}
