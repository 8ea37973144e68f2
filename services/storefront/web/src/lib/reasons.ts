// Human words for the order-worker's failure reasons.
const reasons: Record<string, string> = {
  insufficient_stock: 'Not enough stock: someone bought the last items first, or you asked for more than we have.',
  unknown_product: 'One of the products no longer exists.',
  inactive_product: 'One of the products is no longer sold.',
  mixed_currency: 'Products priced in different currencies cannot be ordered together.',
}

export function humanReason(reason?: string): string {
  if (!reason) return 'The order could not be completed.'
  return reasons[reason] ?? `The order could not be completed (${reason.replace(/_/g, ' ')}).`
}

// The payment provider's decline codes (402 problem, pointer /payment_method).
const declines: Record<string, string> = {
  card_declined: 'Your card was declined.',
  insufficient_funds: 'Your card has insufficient funds.',
  expired_card: 'Your card has expired.',
}

export function declineReason(code?: string): string {
  if (!code) return 'The payment was declined.'
  return declines[code] ?? `The payment was declined (${code.replace(/_/g, ' ')}).`
}

// Timeline entries: what happened, and who did it.
const eventLabels: Record<string, string> = {
  confirmed: 'Order confirmed',
  failed: 'Order failed',
  payment_failed: 'Payment failed',
  paid: 'Paid',
  shipped: 'Shipped',
  delivered: 'Delivered',
  cancelled: 'Cancelled',
  expired: 'Expired (not paid in time)',
  refunded: 'Refunded',
  refund_failed: 'Refund failed',
}

export function eventLabel(type: string): string {
  return eventLabels[type] ?? type.replace(/_/g, ' ')
}

/** "user:12" -> "customer #12" ("you" when me is 12), "admin:1" -> "admin #1", services by role. */
export function actorLabel(actor: string, me?: number): string {
  const [kind, id] = actor.split(':', 2)
  if (kind === 'user' && id) return me !== undefined && Number(id) === me ? 'you' : `customer #${id}`
  if (kind === 'admin' && id) return `admin #${id}`
  return ({ 'order-worker': 'the shop (automatic)', payments: 'payment provider', stripe: 'Stripe' } as Record<string, string>)[actor] ?? actor
}

/** An event's reason in words: failure and decline codes are known, a person's text is kept. */
export function eventReason(type: string, reason?: string): string {
  if (!reason) return ''
  if (type === 'failed') return humanReason(reason)
  if (type === 'payment_failed') return declineReason(reason)
  return reason
}
