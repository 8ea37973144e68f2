// The admin product calls Appsmith makes too: list, create, replace with
// If-Match, stock adjustments and archive. Field errors arrive as
// ApiError.fields keyed by JSON pointer ("price_minor").
import { useApi } from './useApi'

export interface AdminProduct {
  id: number
  sku: string
  name: string
  description: string
  price_minor: number
  currency: string
  stock: number
  image_url: string
  active: boolean
  version: number
  archived_at: string | null
}

export type ProductFields = Pick<AdminProduct, 'sku' | 'name' | 'description' | 'price_minor' | 'currency' | 'image_url' | 'active'>

export interface ProductPage {
  items: AdminProduct[]
  total: number
}

export function useAdminProducts() {
  const { call } = useApi()

  async function list(opts: { q: string; active?: boolean; limit: number; offset: number }): Promise<ProductPage> {
    const p = new URLSearchParams({ limit: String(opts.limit), offset: String(opts.offset) })
    if (opts.q.trim()) p.set('q', opts.q.trim())
    if (opts.active !== undefined) p.set('active', String(opts.active))
    return (await call<ProductPage>(`/api/v1/products?${p}`)).data
  }

  async function get(id: number): Promise<{ product: AdminProduct; etag: string }> {
    const r = await call<AdminProduct>(`/api/v1/products/${id}`)
    return { product: r.data, etag: r.headers.get('ETag') ?? '' }
  }

  async function create(fields: ProductFields & { stock: number }): Promise<AdminProduct> {
    return (await call<AdminProduct>('/api/v1/products', { method: 'POST', body: fields })).data
  }

  async function replace(id: number, etag: string, fields: ProductFields): Promise<{ product: AdminProduct; etag: string }> {
    const r = await call<AdminProduct>(`/api/v1/products/${id}`, { method: 'PUT', body: fields, headers: { 'If-Match': etag } })
    return { product: r.data, etag: r.headers.get('ETag') ?? '' }
  }

  async function adjustStock(id: number, delta: number, reason: string): Promise<AdminProduct> {
    const body = reason ? { delta, reason } : { delta }
    return (await call<AdminProduct>(`/api/v1/products/${id}/stock-adjustments`, { method: 'POST', body })).data
  }

  async function archive(id: number): Promise<void> {
    await call(`/api/v1/products/${id}`, { method: 'DELETE' })
  }

  return { list, get, create, replace, adjustStock, archive }
}
