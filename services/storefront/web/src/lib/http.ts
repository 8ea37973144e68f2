// The one place the SPA calls fetch: JSON in and out, and RFC 9457
// problem+json answers turned into ApiError with per-field messages.

export interface FieldError {
  pointer?: string
  parameter?: string
  detail: string
}

/** An RFC 9457 problem document: the standard members and any extension members. */
export interface Problem {
  type?: string
  title?: string
  status?: number
  detail?: string
  errors?: FieldError[]
  [member: string]: unknown
}

export class ApiError extends Error {
  readonly status: number
  readonly title: string
  readonly fields: Record<string, string>
  readonly retryAfter?: number
  /** The whole problem document: type and extension members such as current_status. */
  readonly problem: Problem

  constructor(status: number, title: string, detail: string, errors: FieldError[] = [], retryAfter?: number, problem: Problem = {}) {
    super(detail || title || `request failed (${status})`)
    this.status = status
    this.title = title
    this.retryAfter = retryAfter
    this.problem = problem
    this.fields = {}
    for (const e of errors) {
      // "#/items/0/quantity" -> "items.0.quantity"; parameters by name.
      const key = e.pointer ? e.pointer.replace(/^#?\//, '').split('/').join('.') : (e.parameter ?? '')
      if (key && !(key in this.fields)) this.fields[key] = e.detail
    }
  }
}

/** Network failure (server down, CORS refused): status 0. */
export function isUnreachable(e: unknown): boolean {
  return e instanceof ApiError && e.status === 0
}

export interface Request {
  method?: string
  body?: unknown
  headers?: Record<string, string>
  signal?: AbortSignal
}

export interface Response<T> {
  data: T
  status: number
  headers: Headers
}

export async function request<T>(url: string, req: Request = {}): Promise<Response<T>> {
  const headers: Record<string, string> = { Accept: 'application/json', ...req.headers }
  let body: string | undefined
  if (req.body !== undefined) {
    headers['Content-Type'] = 'application/json'
    body = JSON.stringify(req.body)
  }
  let res: globalThis.Response
  try {
    res = await fetch(url, { method: req.method ?? 'GET', headers, body, signal: req.signal })
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw e
    throw new ApiError(0, 'unreachable', `cannot reach ${new URL(url).host}: ${(e as Error).message}`)
  }
  const text = await res.text()
  let json: unknown = undefined
  if (text) {
    try {
      json = JSON.parse(text)
    } catch {
      json = undefined
    }
  }
  if (!res.ok) {
    const p = (json !== null && typeof json === 'object' && !Array.isArray(json) ? json : {}) as Problem
    const ra = Number(res.headers.get('Retry-After'))
    throw new ApiError(res.status, p.title ?? res.statusText, p.detail ?? '', Array.isArray(p.errors) ? p.errors : [], Number.isFinite(ra) && ra > 0 ? ra : undefined, p)
  }
  return { data: json as T, status: res.status, headers: res.headers }
}
