// Durations as the operations console shows them: ages in seconds from the
// api ("oldest pending 3 min 5 s") and Go duration strings ("720h0m0s").

const UNITS: [string, number][] = [
  ['d', 86_400],
  ['h', 3_600],
  ['min', 60],
  ['s', 1],
]

/** 0 → "0 s", 185.4 → "3 min 5 s", 90061 → "1 d 1 h": the two largest units. */
export function formatAge(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 1) return '0 s'
  let rest = Math.floor(seconds)
  const parts: string[] = []
  for (const [unit, size] of UNITS) {
    if (parts.length === 2) break
    const n = Math.floor(rest / size)
    rest -= n * size
    if (n > 0) parts.push(`${n} ${unit}`)
    else if (parts.length) break // "2 h", not "2 h 0 min"
  }
  return parts.join(' ')
}

const GO_UNITS: Record<string, number> = { ns: 1e-9, us: 1e-6, 'µs': 1e-6, ms: 1e-3, s: 1, m: 60, h: 3_600 }

/** "720h0m0s" → 2592000, "1m30s" → 90; NaN when it is not a Go duration. */
export function parseGoDuration(s: string): number {
  const text = s.trim()
  if (text === '0') return 0
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy
  let total = 0
  let m: RegExpExecArray | null
  let end = 0
  while ((m = re.exec(text))) {
    total += Number(m[1]) * GO_UNITS[m[2]!]!
    end = re.lastIndex
  }
  return text && end === text.length ? total : NaN
}

/** A Go duration in words for people: "720h0m0s" → "30 d"; unknown text as it is. */
export function formatGoDuration(s: string): string {
  const seconds = parseGoDuration(s)
  return Number.isNaN(seconds) ? s : formatAge(seconds)
}
