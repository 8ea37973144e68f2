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
