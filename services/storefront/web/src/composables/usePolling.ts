// Data that refreshes itself while the page is open: load now, then every
// interval after the previous load ended, until the component's scope ends.
// refresh() loads at once (a Refresh button, or after an action); the
// latest load wins, so an answer that left before an action cannot
// overwrite what the action changed. A hidden tab skips its turns.
import { onScopeDispose, ref, shallowRef, type Ref } from 'vue'

export function usePolling<T>(load: () => Promise<T>, intervalMs: number) {
  const data = shallowRef<T | null>(null) as Ref<T | null>
  const error = ref<Error | null>(null)
  const loading = ref(false)
  const updatedAt = ref<Date | null>(null)
  let timer: ReturnType<typeof setTimeout> | undefined
  let seq = 0
  let stopped = false

  function schedule() {
    clearTimeout(timer)
    if (!stopped) timer = setTimeout(tick, intervalMs)
  }

  function tick() {
    if (typeof document !== 'undefined' && document.visibilityState === 'hidden') schedule()
    else void refresh()
  }

  async function refresh(): Promise<void> {
    if (stopped) return
    clearTimeout(timer)
    const mine = ++seq
    loading.value = true
    try {
      const v = await load()
      if (mine !== seq || stopped) return
      data.value = v
      error.value = null
      updatedAt.value = new Date()
    } catch (e) {
      if (mine !== seq || stopped) return
      error.value = e as Error
    } finally {
      if (mine === seq) {
        loading.value = false
        schedule()
      }
    }
  }

  onScopeDispose(() => {
    stopped = true
    clearTimeout(timer)
  })
  void refresh()
  return { data, error, loading, updatedAt, refresh }
}
