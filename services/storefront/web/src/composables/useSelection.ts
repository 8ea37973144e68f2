// Rows picked with checkboxes, by id. Only ids still on the page count:
// keep() drops the others after a reload, so an action never touches a row
// the operator can no longer see.
import { computed, shallowRef } from 'vue'

export function useSelection<K extends string | number>() {
  // Replaced, never changed in place: shallowRef sees every change.
  const picked = shallowRef(new Set<K>())

  const has = (id: K) => picked.value.has(id)
  function toggle(id: K, on = !has(id)) {
    const next = new Set(picked.value)
    if (on) next.add(id)
    else next.delete(id)
    picked.value = next
  }
  /** Selects every id given, or none when all of them were selected. */
  function toggleAll(ids: K[]) {
    picked.value = ids.length > 0 && ids.every(has) ? new Set() : new Set(ids)
  }
  function keep(ids: K[]) {
    picked.value = new Set(ids.filter(has))
  }
  function clear() {
    picked.value = new Set()
  }
  const ids = computed(() => [...picked.value])
  const size = computed(() => picked.value.size)
  const allOf = (ids: K[]) => ids.length > 0 && ids.every(has)

  return { ids, size, has, toggle, toggleAll, keep, clear, allOf }
}
