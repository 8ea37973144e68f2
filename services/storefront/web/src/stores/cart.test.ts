import { createPinia, setActivePinia } from 'pinia'
import { nextTick } from 'vue'
import { beforeEach, describe, expect, it } from 'vitest'
import { MAX_LINE_QUANTITY, useCartStore } from './cart'

const mug = { productId: 1, name: 'Enamel mug', priceMinor: 1490, currency: 'EUR', stock: 3 }
const yen = { productId: 2, name: 'Tea cup', priceMinor: 1500, currency: 'JPY', stock: 10 }

describe('cart store', () => {
  beforeEach(() => {
    localStorage.clear()
    setActivePinia(createPinia())
  })

  it('adds up to the stock and refuses more', () => {
    const cart = useCartStore()
    expect(cart.add(mug, 2)).toBeNull()
    expect(cart.add(mug, 2)).toBe('Only 3 of Enamel mug available; you have 2 in your cart.')
    expect(cart.add(mug)).toBeNull()
    expect(cart.count).toBe(3)
    expect(cart.totalMinor).toBe(4470)
    expect(cart.add({ ...mug, productId: 9, stock: 0 })).toBe('Enamel mug is sold out.')
  })

  it('clamps quantities to stock and the api maximum, removes at zero', () => {
    const cart = useCartStore()
    cart.add({ ...mug, stock: 5000 })
    cart.setQuantity(1, 4000)
    expect(cart.quantityOf(1)).toBe(MAX_LINE_QUANTITY)
    cart.setQuantity(1, 0)
    expect(cart.lines).toHaveLength(0)
  })

  it('keeps one currency per cart', () => {
    const cart = useCartStore()
    cart.add(mug)
    expect(cart.add(yen)).toMatch(/priced in EUR/)
    expect(cart.lines).toHaveLength(1)
  })

  it('survives a reload through localStorage', async () => {
    useCartStore().add(mug, 2)
    await nextTick()
    setActivePinia(createPinia())
    expect(useCartStore().quantityOf(1)).toBe(2)
  })

  it('keeps the idempotency key until the cart changes', () => {
    const cart = useCartStore()
    cart.add(mug)
    const k = cart.idempotencyKey()
    expect(k).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    expect(cart.idempotencyKey()).toBe(k)
    cart.setQuantity(1, 2)
    expect(cart.idempotencyKey()).not.toBe(k)
  })
})
