// The public catalogue, read from Directus without a token
// (GET /items/products, active products only).
import { config } from '../config'
import { request } from '../lib/http'

export interface Product {
  id: number
  sku: string
  name: string
  description: string
  priceMinor: number
  currency: string
  stock: number
  imageURL: string
}

// Directus sends bigInteger columns as strings.
interface Item {
  id: number | string
  sku: string
  name: string
  description: string | null
  price_minor: number | string
  currency: string
  stock: number | string
  image_url: string | null
}

const FIELDS = 'id,sku,name,description,price_minor,currency,stock,image_url'

export function toProduct(i: Item): Product {
  return {
    id: Number(i.id),
    sku: i.sku,
    name: i.name,
    description: i.description ?? '',
    priceMinor: Number(i.price_minor),
    currency: i.currency,
    stock: Number(i.stock),
    imageURL: i.image_url ?? '',
  }
}

export interface CatalogPage {
  products: Product[]
  total: number
}

export function catalogQuery(search: string, page: number, pageSize: number): string {
  const and: unknown[] = [{ active: { _eq: true } }]
  const q = search.trim()
  if (q) and.push({ _or: [{ name: { _icontains: q } }, { sku: { _icontains: q } }] })
  const p = new URLSearchParams({
    fields: FIELDS,
    filter: JSON.stringify({ _and: and }),
    sort: 'name,id',
    limit: String(pageSize),
    page: String(page),
    meta: 'filter_count',
  })
  return p.toString()
}

export function useCatalog() {
  const base = () => config().directusURL + '/items/products'

  async function list(search: string, page: number, pageSize: number, signal?: AbortSignal): Promise<CatalogPage> {
    const r = await request<{ data: Item[]; meta?: { filter_count?: number | string } }>(
      `${base()}?${catalogQuery(search, page, pageSize)}`,
      { signal },
    )
    return { products: r.data.data.map(toProduct), total: Number(r.data.meta?.filter_count ?? r.data.data.length) }
  }

  /** One active product, or null when there is none with that id. */
  async function get(id: number): Promise<Product | null> {
    const filter = JSON.stringify({ _and: [{ id: { _eq: id } }, { active: { _eq: true } }] })
    const r = await request<{ data: Item[] }>(`${base()}?${new URLSearchParams({ fields: FIELDS, filter, limit: '1' })}`)
    return r.data.data.length ? toProduct(r.data.data[0]!) : null
  }

  return { list, get }
}
