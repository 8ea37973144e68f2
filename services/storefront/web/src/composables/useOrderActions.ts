// What can be done to an order after checkout: pay (the owner), cancel
// (the owner before shipping, an admin until delivery), ship and mark
// delivered (admins). Each answers with the order as it is now, except pay,
// which answers with the payment.
import { ref } from 'vue'
import { ApiError } from '../lib/http'
import { declineReason } from '../lib/reasons'
import { uuid } from '../lib/uuid'
import { useApi } from './useApi'
import { useAdminAction } from './useAdminAction'
import type { Order } from './useOrders'

export interface Payment {
  id: string
  order_id: string
  /** succeeded (201) or processing (202: settles later, the stream shows paid). */
  status: 'succeeded' | 'processing'
  amount_minor: number
  currency: string
  order_status: string
}

const orderPath = (id: string) => `/api/v1/orders/${encodeURIComponent(id)}`

export function useOrderActions() {
  const { call } = useApi()

  async function pay(id: string, cardNumber: string, key: string): Promise<Payment> {
    const r = await call<Payment>(`${orderPath(id)}/payments`, { method: 'POST', body: { payment_method: cardNumber }, headers: { 'Idempotency-Key': key } })
    return r.data
  }

  async function cancel(id: string, reason: string): Promise<Order> {
    const body = reason.trim() ? { reason: reason.trim() } : {}
    return (await call<Order>(`${orderPath(id)}/cancel`, { method: 'POST', body })).data
  }

  async function ship(id: string, carrier: string, trackingNumber: string): Promise<Order> {
    return (await call<Order>(`${orderPath(id)}/shipments`, { method: 'POST', body: { carrier: carrier.trim(), tracking_number: trackingNumber.trim() } })).data
  }

  async function deliver(id: string): Promise<Order> {
    return (await call<Order>(`${orderPath(id)}/delivery`, { method: 'POST', body: {} })).data
  }

  return { pay, cancel, ship, deliver }
}

/** The status a 409 wrong-state problem reports the order to be in now. */
export function currentStatus(e: unknown): string | undefined {
  if (!(e instanceof ApiError) || e.status !== 409) return undefined
  const s = e.problem.current_status
  return typeof s === 'string' ? s : undefined
}

export type PaymentOutcome =
  | { kind: 'paid'; payment: Payment }
  | { kind: 'processing'; payment: Payment }
  /** 402: code is card_declined, insufficient_funds or expired_card; try again. */
  | { kind: 'declined'; code: string; message: string }
  /** 400: not a card number. */
  | { kind: 'invalid'; message: string }
  /** 409: the order is no longer payable (paid meanwhile, expired, cancelled). */
  | { kind: 'wrong-state'; status: string; message: string }
  | { kind: 'error'; message: string }

/**
 * One order's payment form. Every attempt gets a new Idempotency-Key, so a
 * second card after a decline is a new payment; only an attempt whose
 * outcome is unknown (the network failed, or the api answered 5xx) is sent
 * again with the same key and card, so that retrying can never pay twice.
 */
export function usePayment(orderId: string) {
  const { pay } = useOrderActions()
  const busy = ref(false)
  const outcome = ref<PaymentOutcome | null>(null)
  let unsettled: { card: string; key: string } | null = null

  async function submit(cardNumber: string): Promise<PaymentOutcome | null> {
    if (busy.value) return null
    const card = cardNumber.trim()
    const key = unsettled?.card === card ? unsettled.key : uuid()
    busy.value = true
    try {
      const payment = await pay(orderId, card, key)
      unsettled = null
      outcome.value = payment.status === 'processing' ? { kind: 'processing', payment } : { kind: 'paid', payment }
    } catch (e) {
      unsettled = e instanceof ApiError && (e.status === 0 || e.status >= 500) ? { card, key } : null
      outcome.value = paymentFailure(e)
    } finally {
      busy.value = false
    }
    return outcome.value
  }

  return { busy, outcome, submit }
}

function paymentFailure(e: unknown): PaymentOutcome {
  if (!(e instanceof ApiError)) return { kind: 'error', message: (e as Error).message }
  if (e.status === 402) {
    const code = e.fields.payment_method ?? ''
    return { kind: 'declined', code, message: declineReason(code) }
  }
  if (e.status === 400) return { kind: 'invalid', message: e.fields.payment_method ?? e.message }
  const status = currentStatus(e)
  if (status) return { kind: 'wrong-state', status, message: `This order cannot be paid any more: it is ${status}.` }
  if (e.status === 0 || e.status >= 500)
    return { kind: 'error', message: 'We could not hear back about this payment. Try again: the same card goes with the same key, so it is never charged twice.' }
  return { kind: 'error', message: e.message }
}

/**
 * Runs one order action at a time and keeps its failure for display: the
 * problem (title, detail, field errors, current status) or a plain error.
 * The same as a console action (useAdminAction); undefined when it failed.
 */
export const useOrderAction = useAdminAction
