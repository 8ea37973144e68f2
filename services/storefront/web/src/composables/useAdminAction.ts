// One action at a time (console actions, and an order's cancel, ship, deliver):
// busy while it runs, and its failure kept for ProblemAlert, with the
// api's field errors by name (reason, retry_after_seconds) for the inputs.
import { computed, ref } from 'vue'
import { ApiError } from '../lib/http'

export function useAdminAction() {
  const busy = ref(false)
  const error = ref<ApiError | Error | null>(null)
  const fields = computed<Record<string, string>>(() => (error.value instanceof ApiError ? error.value.fields : {}))

  /** The action's answer, or undefined when it failed (see error) or another one is running. */
  async function run<T>(action: () => Promise<T>): Promise<T | undefined> {
    if (busy.value) return undefined
    busy.value = true
    error.value = null
    try {
      return await action()
    } catch (e) {
      error.value = e as Error
      return undefined
    } finally {
      busy.value = false
    }
  }

  function reset() {
    error.value = null
  }

  return { busy, error, fields, run, reset }
}
