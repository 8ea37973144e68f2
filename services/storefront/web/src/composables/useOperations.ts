// The operations console's calls to the api's admin operations API
// (services/api/openapi/openapi.yaml, tag "operations"): the order queue and
// its two pause switches, dead letters of new_orders, the catalogue sync
// (dead events, reconciles), user accounts (log out everywhere, disable,
// enable) and the audit log. Every POST carries the
// operator's reason, which the api keeps in the audit log; a missing one is
// a 422 whose field error is ApiError.fields.reason.
import { config } from '../config'
import { useApi } from './useApi'

/** A pause switch: running, or paused by whom, since when and why. */
export interface PauseState {
  paused: boolean
  reason?: string
  /** The admin's email. */
  by?: string
  since?: string
  /** Intake only: the Retry-After clients get while paused. */
  retry_after_seconds?: number
}

export interface QueueConsumer {
  name: string
  pending: number
  idle_seconds: number
}

export interface QueuePartition {
  partition: number
  stream: string
  length: number
  /** Entries no consumer has read yet. */
  lag: number
  /** Entries read but not acknowledged. */
  pending: number
  oldest_pending_age_seconds: number
  dead_letters: number
  consumers: QueueConsumer[]
}

export interface Queues {
  stream: string
  group: string
  intake: PauseState
  consumption: PauseState
  partitions: QueuePartition[]
  totals: { length: number; lag: number; pending: number; dead_letters: number; consumers: number }
}

export type Switch = 'consumption' | 'intake'

export interface DeadLetter {
  /** "<partition>:<entry id>", e.g. "0:1733400000000-0". */
  id: string
  partition: number
  reason: string
  error: string
  consumer?: string
  dead_at: string
  order_id?: string
  user_id?: number
  product_ids: number[]
  /** The original entry's fields, as the api wrote them. */
  fields: Record<string, string>
  discard_reason?: string
  discarded_by?: string
  discarded_at?: string
}

export type LetterState = 'dead' | 'discarded'

export interface DeadLetterPage {
  items: DeadLetter[]
  total: number
  limit: number
  offset: number
  state: LetterState
  /** How long discarded letters are kept, a Go duration ("720h0m0s"). */
  discarded_retention: string
}

/** The list's filters; empty ones match everything. */
export interface DeadLetterFilter {
  reason?: string
  product_id?: number
  user_id?: number
  /** A Go duration such as 30m or 24h. */
  older_than?: string
}

/** Letters by id, or every letter matching filter with all. */
export type DeadLetterSelection = { ids: string[] } | { all: true; filter: DeadLetterFilter }

export interface Reconcile {
  id: number
  status: 'requested' | 'running' | 'done' | 'failed'
  reason: string
  requested_at: string
  requested_by: number
  started_at?: string | null
  started_by?: string | null
  finished_at?: string | null
  products?: number | null
  missing?: number | null
  stale?: number | null
  extra?: number | null
  error?: string | null
}

export interface CatalogSync {
  pending: number
  oldest_pending_age_seconds: number
  dead: number
  last_reconcile: Reconcile | null
}

export interface DeadEvent {
  id: number
  product_id: number
  product_version: number
  event_type: string
  attempts: number
  last_error: string
  created_at: string
  dead_at: string
  /** Only when fetched one by one. */
  payload?: unknown
}

export interface DeadEventPage {
  items: DeadEvent[]
  total: number
  limit: number
  offset: number
}

/** An account as the console sees it. */
export interface AdminUser {
  id: number
  email: string
  role: 'customer' | 'admin'
  created_at: string
  /** Set while the account is disabled. */
  disabled_at: string | null
  /** Incremented whenever the account's sessions are ended. */
  session_version: number
}

export interface AdminUserPage {
  items: AdminUser[]
  total: number
  limit: number
  offset: number
}

/**
 * What the console does to an account, as its path segment: end every
 * session (log out everywhere), disable it (which ends them too), enable it.
 */
export type UserAction = 'sessions/end' | 'disable' | 'enable'

export interface AdminAction {
  id: number
  at: string
  admin_id: number
  admin_email: string
  action: string
  target: string
  reason: string
  /** What was asked and its outcome (done or failed, counts, error). */
  detail: Record<string, unknown>
}

export interface AdminActionPage {
  items: AdminAction[]
  total: number
  limit: number
  offset: number
}

/** The actions the audit log records (GET /api/v1/admin/actions?action=). */
export const AUDITED_ACTIONS = [
  'pause_consumption',
  'resume_consumption',
  'pause_intake',
  'resume_intake',
  'replay_dead_letters',
  'discard_dead_letters',
  'retry_catalog_events',
  'request_catalog_reconcile',
  'end_sessions',
  'disable_user',
  'enable_user',
] as const

export const FINAL_RECONCILE: readonly string[] = ['done', 'failed']

const ADMIN = '/api/v1/admin'

/** Only the filters that are set, numbers as numbers. */
export function cleanFilter(f: DeadLetterFilter): DeadLetterFilter {
  const out: DeadLetterFilter = {}
  if (f.reason?.trim()) out.reason = f.reason.trim()
  if (f.product_id) out.product_id = f.product_id
  if (f.user_id) out.user_id = f.user_id
  if (f.older_than?.trim()) out.older_than = f.older_than.trim()
  return out
}

function query(params: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams()
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, String(v))
  const s = q.toString()
  return s ? `?${s}` : ''
}

/**
 * A dead letter's id as a path segment: percent-encoded except its ':',
 * which is valid in a segment and which the api needs as it is (it does
 * not decode "%3A" in the path: "0%3A1733400000000-0" is refused as an
 * invalid id).
 */
export function letterSegment(id: string): string {
  return encodeURIComponent(id).replace(/%3A/gi, ':')
}

/**
 * The path to poll for a reconcile: the answer's Location (relative to the
 * api, or absolute on the api's origin), else the path by id.
 */
export function reconcilePath(location: string | null, id: number): string {
  if (location) {
    const api = new URL(config().apiURL || 'http://api.invalid')
    const u = new URL(location, api)
    if (u.origin === api.origin) return u.pathname + u.search
  }
  return `${ADMIN}/catalog/reconciles/${id}`
}

export function useOperations() {
  const { call } = useApi()
  const get = async <T>(path: string) => (await call<T>(path)).data
  const post = async <T>(path: string, body: unknown) => (await call<T>(path, { method: 'POST', body })).data

  return {
    queues: () => get<Queues>(`${ADMIN}/queues`),

    /** Pause or resume consumption of new_orders, or order intake (with the Retry-After clients get). */
    setSwitch(which: Switch, paused: boolean, reason: string, retryAfterSeconds?: number): Promise<PauseState> {
      const body: Record<string, unknown> = { paused, reason: reason.trim() }
      if (which === 'intake' && paused && retryAfterSeconds !== undefined) body.retry_after_seconds = retryAfterSeconds
      return post<PauseState>(which === 'intake' ? `${ADMIN}/intake` : `${ADMIN}/queues/consumption`, body)
    },

    deadLetters(opts: { state: LetterState; filter: DeadLetterFilter; limit: number; offset: number }) {
      const f = cleanFilter(opts.filter)
      return get<DeadLetterPage>(`${ADMIN}/dead-letters${query({ state: opts.state, ...f, limit: opts.limit, offset: opts.offset })}`)
    },

    deadLetter: (id: string, state: LetterState) =>
      get<DeadLetter>(`${ADMIN}/dead-letters/${letterSegment(id)}${query({ state: state === 'dead' ? undefined : state })}`),

    replay: (sel: DeadLetterSelection, reason: string) =>
      post<{ replayed: number }>(`${ADMIN}/dead-letters/replay`, selectionBody(sel, reason)).then((r) => r.replayed),

    discard: (sel: DeadLetterSelection, reason: string) =>
      post<{ discarded: number }>(`${ADMIN}/dead-letters/discard`, selectionBody(sel, reason)).then((r) => r.discarded),

    catalog: () => get<CatalogSync>(`${ADMIN}/catalog`),

    deadEvents: (limit: number, offset: number) => get<DeadEventPage>(`${ADMIN}/catalog/dead-events${query({ limit, offset })}`),

    deadEvent: (id: number) => get<DeadEvent>(`${ADMIN}/catalog/dead-events/${id}`),

    retryDeadEvents: (sel: { ids: number[] } | { all: true }, reason: string) =>
      post<{ retried: number }>(`${ADMIN}/catalog/dead-events/retry`, { ...sel, reason: reason.trim() }).then((r) => r.retried),

    /** Asks catalog-sync for a full reconcile; poll the answer's path for its outcome. */
    async requestReconcile(reason: string): Promise<{ reconcile: Reconcile; path: string }> {
      const r = await call<Reconcile>(`${ADMIN}/catalog/reconciles`, { method: 'POST', body: { reason: reason.trim() } })
      return { reconcile: r.data, path: reconcilePath(r.headers.get('Location'), r.data.id) }
    },

    reconcile: (path: string) => get<Reconcile>(path),

    /** Accounts whose email contains the given part (all when empty), newest first. */
    users: (opts: { email?: string; limit: number; offset: number }) =>
      get<AdminUserPage>(`${ADMIN}/users${query({ email: opts.email?.trim(), limit: opts.limit, offset: opts.offset })}`),

    /** Ends the account's sessions, disables or enables it; the answer is the account after it. */
    actOnUser: (id: number, action: UserAction, reason: string) => post<AdminUser>(`${ADMIN}/users/${id}/${action}`, { reason: reason.trim() }),

    actions: (opts: { action?: string; limit: number; offset: number }) =>
      get<AdminActionPage>(`${ADMIN}/actions${query({ action: opts.action, limit: opts.limit, offset: opts.offset })}`),
  }
}

function selectionBody(sel: DeadLetterSelection, reason: string) {
  return 'ids' in sel ? { ids: sel.ids, reason: reason.trim() } : { all: true, filter: cleanFilter(sel.filter), reason: reason.trim() }
}

/** A reconcile request in a sentence: where it is, or what it found. */
export function describeReconcile(r: Reconcile): string {
  const n = (v: number | null | undefined) => v ?? 0
  switch (r.status) {
    case 'requested':
      return `Reconcile #${r.id} requested; waiting for catalog-sync to take it…`
    case 'running':
      return `Reconcile #${r.id} running${r.started_by ? ` on ${r.started_by}` : ''}…`
    case 'done':
      return `Reconcile #${r.id} done: ${n(r.products)} products compared with Directus; ${n(r.missing)} missing, ${n(r.stale)} stale, ${n(r.extra)} extra there (fixed).`
    case 'failed':
      return `Reconcile #${r.id} failed: ${r.error || 'no error given'}.`
    default:
      return `Reconcile #${r.id}: ${String(r.status)}.`
  }
}
