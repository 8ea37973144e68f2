// The cart lives in the browser only (localStorage) until checkout. Each
// line is limited by the stock the catalogue showed and by the api's
// per-line maximum; one currency per cart (the worker refuses mixed ones).
import { defineStore } from 'pinia'
import { computed, ref, watch } from 'vue'
import { uuid } from '../lib/uuid'

export interface CartLine {
  productId: number
  name: string
  priceMinor: number
  currency: string
  stock: number
  quantity: number
}

export const MAX_LINE_QUANTITY = 1000
export const MAX_LINES = 100
const KEY = 'goshop.cart'

function load(): CartLine[] {
  try {
    const v = JSON.parse(localStorage.getItem(KEY) ?? '[]') as CartLine[]
    return Array.isArray(v) ? v.filter((l) => Number.isInteger(l.productId) && l.quantity > 0) : []
  } catch {
    return []
  }
}

export function limit(stock: number): number {
  return Math.max(0, Math.min(stock, MAX_LINE_QUANTITY))
}

export const useCartStore = defineStore('cart', () => {
  const lines = ref<CartLine[]>(load())
  // One key per checkout attempt: a retry or a double click sends the same
  // key, so the api makes one order. A new key after success or a change.
  const checkoutKey = ref('')

  watch(lines, (v) => localStorage.setItem(KEY, JSON.stringify(v)), { deep: true })

  const count = computed(() => lines.value.reduce((n, l) => n + l.quantity, 0))
  const currency = computed(() => lines.value[0]?.currency ?? '')
  const totalMinor = computed(() => lines.value.reduce((n, l) => n + l.priceMinor * l.quantity, 0))

  function quantityOf(productId: number): number {
    return lines.value.find((l) => l.productId === productId)?.quantity ?? 0
  }

  /** Adds quantity; returns an error message when a limit stops it. */
  function add(p: Omit<CartLine, 'quantity'>, quantity = 1): string | null {
    if (lines.value.length > 0 && p.currency !== currency.value) {
      return `Your cart is priced in ${currency.value}; ${p.name} is in ${p.currency}. Check out first.`
    }
    const line = lines.value.find((l) => l.productId === p.productId)
    const max = limit(p.stock)
    const have = line?.quantity ?? 0
    if (max === 0) return `${p.name} is sold out.`
    if (have + quantity > max) return `Only ${max} of ${p.name} available; you have ${have} in your cart.`
    if (!line && lines.value.length >= MAX_LINES) return `A cart holds at most ${MAX_LINES} different products.`
    if (line) Object.assign(line, { ...p, quantity: have + quantity })
    else lines.value.push({ ...p, quantity })
    checkoutKey.value = ''
    return null
  }

  function setQuantity(productId: number, quantity: number): void {
    const line = lines.value.find((l) => l.productId === productId)
    if (!line) return
    const q = Math.floor(quantity)
    if (!Number.isFinite(q) || q < 1) return remove(productId)
    line.quantity = Math.min(q, limit(line.stock))
    checkoutKey.value = ''
  }

  function remove(productId: number): void {
    lines.value = lines.value.filter((l) => l.productId !== productId)
    checkoutKey.value = ''
  }

  function clear(): void {
    lines.value = []
    checkoutKey.value = ''
  }

  function idempotencyKey(): string {
    if (!checkoutKey.value) checkoutKey.value = uuid()
    return checkoutKey.value
  }

  return { lines, count, currency, totalMinor, quantityOf, add, setQuantity, remove, clear, idempotencyKey }
})
