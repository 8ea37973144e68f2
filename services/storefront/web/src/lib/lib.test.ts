import { afterEach, describe, expect, it, vi } from 'vitest'
import { fakeFetch } from '../test-helpers'
import { formatAge, formatGoDuration, parseGoDuration } from './duration'
import { ApiError, request } from './http'
import { formatPrice, parseMajor, toMajor } from './money'
import { actorLabel, declineReason, eventLabel, eventReason, humanReason } from './reasons'
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

  it('keeps the problem type and extension members', async () => {
    fakeFetch(() => ({ status: 409, body: { type: '/problems/wrong-state', title: 'Conflict', status: 409, current_status: 'shipped' } }))
    const err = (await request('http://api.test/x').catch((e: unknown) => e)) as ApiError
    expect(err.problem.type).toBe('/problems/wrong-state')
    expect(err.problem.current_status).toBe('shipped')
    expect(err.message).toBe('Conflict')
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
  it('explains declined cards, timeline events and who acted', () => {
    expect(declineReason('card_declined')).toBe('Your card was declined.')
    expect(declineReason('expired_card')).toBe('Your card has expired.')
    expect(declineReason('do_not_honor')).toBe('The payment was declined (do not honor).')
    expect(eventLabel('payment_failed')).toBe('Payment failed')
    expect(eventLabel('parcel_lost')).toBe('parcel lost')
    expect([actorLabel('user:12'), actorLabel('admin:1'), actorLabel('order-worker'), actorLabel('payments'), actorLabel('robot')])
      .toEqual(['customer #12', 'admin #1', 'the shop (automatic)', 'payment provider', 'robot'])
    expect([actorLabel('user:12', 12), actorLabel('user:12', 1)]).toEqual(['you', 'customer #12'])
    expect(eventReason('payment_failed', 'insufficient_funds')).toBe('Your card has insufficient funds.')
    expect(eventReason('failed', 'insufficient_stock')).toMatch(/^Not enough stock/)
    expect(eventReason('cancelled', 'found it cheaper')).toBe('found it cheaper')
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

describe('durations', () => {
  it('shows ages with their two largest units', () => {
    expect([0, 0.4, 45, 185.4, 7200, 7260, 90061].map(formatAge)).toEqual(['0 s', '0 s', '45 s', '3 min 5 s', '2 h', '2 h 1 min', '1 d 1 h'])
    expect(formatAge(Number.NaN)).toBe('0 s')
  })

  it('reads Go durations', () => {
    expect(parseGoDuration('720h0m0s')).toBe(2_592_000)
    expect(parseGoDuration('1m30s')).toBe(90)
    expect(parseGoDuration('1.5h')).toBe(5400)
    expect(parseGoDuration('250ms')).toBe(0.25)
    expect(parseGoDuration('0')).toBe(0)
    expect(parseGoDuration('30 days')).toBeNaN()
    expect(parseGoDuration('')).toBeNaN()
    expect(formatGoDuration('720h0m0s')).toBe('30 d')
    expect(formatGoDuration('forever')).toBe('forever')
  })
})
