import { afterEach, describe, expect, it, vi } from 'vitest'
import { fakeFetch } from '../test-helpers'
import { ApiError, request } from './http'
import { formatPrice, parseMajor, toMajor } from './money'
import { humanReason } from './reasons'
import { SSEParser } from './sse'

afterEach(() => vi.unstubAllGlobals())

describe('http', () => {
  it('turns problem+json into field errors keyed by pointer', async () => {
    fakeFetch(() => ({
      status: 422,
      headers: { 'Content-Type': 'application/problem+json' },
      body: { type: 'x', title: 'Unprocessable', status: 422, detail: 'invalid product', errors: [{ pointer: '#/price_minor', detail: 'must be >= 0' }, { pointer: '#/items/0/quantity', detail: 'too many' }, { parameter: 'limit', detail: 'max 100' }] },
    }))
    const err = await request('http://api.test/x').catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ApiError)
    expect((err as ApiError).status).toBe(422)
    expect((err as ApiError).message).toBe('invalid product')
    expect((err as ApiError).fields).toEqual({ price_minor: 'must be >= 0', 'items.0.quantity': 'too many', limit: 'max 100' })
  })

  it('reports an unreachable server as status 0', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => Promise.reject(new TypeError('Failed to fetch'))))
    const err = (await request('http://api.test/x').catch((e: unknown) => e)) as ApiError
    expect(err.status).toBe(0)
    expect(err.message).toBe('cannot reach api.test: Failed to fetch')
  })

  it('reads Retry-After', async () => {
    fakeFetch(() => ({ status: 429, headers: { 'Retry-After': '17' }, body: { title: 'Too Many Requests', status: 429 } }))
    expect(((await request('http://api.test/x').catch((e: unknown) => e)) as ApiError).retryAfter).toBe(17)
  })
})

describe('money', () => {
  it('formats by the currency’s minor digits', () => {
    expect(formatPrice(1999, 'EUR', 'en-US')).toBe('€19.99')
    expect(formatPrice(1500, 'JPY', 'en-US')).toBe('¥1,500')
    expect(formatPrice(1999, 'KWD', 'en-US')).toMatch(/^KWD\s1\.999$/)
  })
  it('parses and prints major units exactly', () => {
    expect(parseMajor('19.99', 'EUR')).toBe(1999)
    expect(parseMajor('19,5', 'EUR')).toBe(1950)
    expect(parseMajor('7', 'EUR')).toBe(700)
    expect(parseMajor('1.999', 'EUR')).toBeNaN()
    expect(parseMajor('-1', 'EUR')).toBeNaN()
    expect(parseMajor('1500', 'JPY')).toBe(1500)
    expect(toMajor(1999, 'EUR')).toBe('19.99')
    expect(toMajor(1500, 'JPY')).toBe('1500')
  })
})

describe('reasons', () => {
  it('explains failures in words', () => {
    expect(humanReason('insufficient_stock')).toMatch(/^Not enough stock/)
    expect(humanReason('cosmic_rays')).toBe('The order could not be completed (cosmic rays).')
  })
})

describe('SSE parser', () => {
  it('parses events split across chunks and skips comments', () => {
    const p = new SSEParser()
    expect(p.push(': keep-alive\n\nid: pending\nevent: status\ndata: {"status":')).toEqual([])
    expect(p.push('"pending"}\n\r\nid: confirmed\r\nevent: status\r\ndata: {"status":"confirmed"}\r\n\r\n')).toEqual([
      { event: 'status', data: '{"status":"pending"}', id: 'pending' },
      { event: 'status', data: '{"status":"confirmed"}', id: 'confirmed' },
    ])
  })
  it('joins multi-line data', () => {
    expect(new SSEParser().push('data: a\ndata: b\n\n')).toEqual([{ event: 'message', data: 'a\nb', id: '' }])
  })
})
