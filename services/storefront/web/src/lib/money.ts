// Prices travel as integer minor units plus an ISO 4217 code; the number of
// minor digits comes from the currency (EUR 2, JPY 0, KWD 3).
const formats = new Map<string, Intl.NumberFormat>()

function format(currency: string, locale?: string): Intl.NumberFormat {
  const key = `${locale ?? ''}/${currency}`
  let f = formats.get(key)
  if (!f) {
    f = new Intl.NumberFormat(locale, { style: 'currency', currency })
    formats.set(key, f)
  }
  return f
}

export function minorDigits(currency: string): number {
  return format(currency, 'en').resolvedOptions().maximumFractionDigits ?? 2
}

export function formatPrice(minor: number, currency: string, locale?: string): string {
  try {
    const f = format(currency, locale)
    return f.format(minor / 10 ** (f.resolvedOptions().maximumFractionDigits ?? 2))
  } catch {
    return `${minor} ${currency}`
  }
}

/** "19.99" in the currency's major units -> 1999; NaN when not a valid amount. */
export function parseMajor(text: string, currency: string): number {
  const digits = minorDigits(currency)
  const m = /^\s*(\d+)(?:[.,](\d+))?\s*$/.exec(text)
  if (!m || (m[2] ?? '').length > digits) return NaN
  return Number(m[1]) * 10 ** digits + Number((m[2] ?? '').padEnd(digits, '0') || 0)
}

export function toMajor(minor: number, currency: string): string {
  const digits = minorDigits(currency)
  return digits === 0 ? String(minor) : (minor / 10 ** digits).toFixed(digits)
}
