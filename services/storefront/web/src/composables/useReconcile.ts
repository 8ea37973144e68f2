// "Reconcile now": ask catalog-sync for a full reconcile, then follow the
// request (the answer's Location) until it is done or failed. Stops
// following when the page goes away.
import { computed, onScopeDispose, ref } from 'vue'
import { FINAL_RECONCILE, useOperations, type Reconcile } from './useOperations'

export function useReconcile(intervalMs = 1000) {
  const ops = useOperations()
  const current = ref<Reconcile | null>(null)
  /** A failure to read the request's progress (the request itself was made). */
  const error = ref<Error | null>(null)
  const finished = computed(() => current.value !== null && FINAL_RECONCILE.includes(current.value.status))
  let timer: ReturnType<typeof setTimeout> | undefined
  let following = 0
  let stopped = false

  async function poll(path: string, mine: number) {
    if (stopped || mine !== following) return
    try {
      const r = await ops.reconcile(path)
      if (stopped || mine !== following) return
      current.value = r
      error.value = null
    } catch (e) {
      if (mine === following) error.value = e as Error
    }
    if (!finished.value && !stopped && mine === following) timer = setTimeout(() => void poll(path, mine), intervalMs)
  }

  /** Requests a reconcile (throws the api's problem, e.g. a missing reason) and starts following it. */
  async function start(reason: string): Promise<Reconcile> {
    const { reconcile, path } = await ops.requestReconcile(reason)
    clearTimeout(timer)
    const mine = ++following
    current.value = reconcile
    error.value = null
    if (!finished.value) timer = setTimeout(() => void poll(path, mine), intervalMs)
    return reconcile
  }

  onScopeDispose(() => {
    stopped = true
    clearTimeout(timer)
  })
  return { current, error, finished, start }
}
