import { describe, expect, it, vi } from 'vitest'
import { effectScope, nextTick } from 'vue'
import { guard } from '../router'
import { fakeFetch, loggedIn, resetEachTest } from '../test-helpers'
import { catalogQuery, useCatalog } from './useCatalog'
import { useOrders, useOrderStatus } from './useOrders'


resetEachTest()

describe('catalogue', () => {
  it('asks Directus for active products matching the search, one page with a count', () => {
    const p = new URLSearchParams(catalogQuery(' mug ', 3, 12))
    expect(JSON.parse(p.get('filter')!)).toEqual({ _and: [{ active: { _eq: true } }, { _or: [{ name: { _icontains: 'mug' } }, { sku: { _icontains: 'mug' } }] }] })
    expect([p.get('page'), p.get('limit'), p.get('meta')]).toEqual(['3', '12', 'filter_count'])
  })

  it('converts Directus bigint strings to numbers', async () => {
    fakeFetch(() => ({ body: { data: [{ id: '4', sku: 'A', name: 'A', description: null, price_minor: '1999', currency: 'EUR', stock: 2, image_url: null }], meta: { filter_count: '31' } } }))
    const r = await useCatalog().list('', 1, 12)
    expect(r).toEqual({ total: 31, products: [{ id: 4, sku: 'A', name: 'A', description: '', priceMinor: 1999, currency: 'EUR', stock: 2, imageURL: '' }] })
  })
})

describe('orders', () => {
  it('checkout sends the bearer token and the Idempotency-Key', async () => {
    await loggedIn()
    const calls = fakeFetch(() => ({ status: 202, body: { id: 'o-1', status: 'pending' } }))
    expect(await useOrders().place([{ product_id: 1, quantity: 2 }], 'key-1')).toBe('o-1')
    expect(calls[0]).toMatchObject({ url: 'http://api.test/api/v1/orders', method: 'POST', body: { items: [{ product_id: 1, quantity: 2 }] } })
    expect(calls[0]!.headers['Idempotency-Key']).toBe('key-1')
    expect(calls[0]!.headers.Authorization).toMatch(/^Bearer ey/)
  })

  it('follows the live status stream to the final status', async () => {
    await loggedIn()
    const sse = 'id: pending\nevent: status\ndata: {"id":"o-1","status":"pending","items":[]}\n\n: keep-alive\n\nid: failed\nevent: status\ndata: {"id":"o-1","status":"failed","reason":"insufficient_stock","items":[]}\n\n'
    const fetchMock = vi.fn(async () => new Response(sse, { status: 200, headers: { 'Content-Type': 'text/event-stream' } }))
    vi.stubGlobal('fetch', fetchMock)
    const scope = effectScope()
    const s = scope.run(() => useOrderStatus('o-1'))!
    await vi.waitFor(() => expect(s.order.value?.status).toBe('failed'))
    expect(s.order.value?.reason).toBe('insufficient_stock')
    expect(fetchMock).toHaveBeenCalledTimes(1)
    scope.stop()
    await nextTick()
  })
})

describe('route guard', () => {
  const to = (meta: Record<string, boolean>) => ({ meta, fullPath: '/admin/products' }) as never

  it('sends guests to login and customers away from admin pages', async () => {
    expect(guard(to({ admin: true }))).toEqual({ name: 'login', query: { next: '/admin/products' } })
    await loggedIn('customer')
    expect(guard(to({ admin: true }))).toEqual({ name: 'forbidden' })
    expect(guard(to({ auth: true }))).toBe(true)
  })

  it('lets admins in', async () => {
    await loggedIn('admin')
    expect(guard(to({ admin: true }))).toBe(true)
  })
})
