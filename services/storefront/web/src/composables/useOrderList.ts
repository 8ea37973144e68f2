// A paged order list with a status filter, for "my orders" and the admin.
import { ref, watch } from 'vue'
import { useOrders, type Order } from './useOrders'

export const ORDER_PAGE_SIZE = 20

export function useOrderList() {
  const { list } = useOrders()
  const orders = ref<Order[]>([])
  const total = ref(0)
  const page = ref(1)
  const status = ref('')
  const state = ref<'loading' | 'ready' | 'error'>('loading')
  const error = ref('')

  async function load() {
    state.value = 'loading'
    try {
      const r = await list({ status: status.value || undefined, limit: ORDER_PAGE_SIZE, offset: (page.value - 1) * ORDER_PAGE_SIZE })
      orders.value = r.items
      total.value = r.total
      state.value = 'ready'
    } catch (e) {
      error.value = (e as Error).message
      state.value = 'error'
    }
  }

  watch(status, () => (page.value = 1))
  watch([status, page], load, { immediate: true })
  return { orders, total, page, status, state, error, load }
}
