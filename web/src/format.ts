import type { Job } from '@/api/types'

const SECOND = 1000
const MINUTE = 60 * SECOND
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR

/** "just now", "12 s ago", "4 min ago", "3 h ago", "2 d ago". */
export function formatAge(iso: string, now: number): string {
  const elapsed = now - Date.parse(iso)

  if (Number.isNaN(elapsed)) return '—'
  if (elapsed < 5 * SECOND) return 'just now'
  if (elapsed < MINUTE) return `${Math.floor(elapsed / SECOND)} s ago`
  if (elapsed < HOUR) return `${Math.floor(elapsed / MINUTE)} min ago`
  if (elapsed < DAY) return `${Math.floor(elapsed / HOUR)} h ago`
  return `${Math.floor(elapsed / DAY)} d ago`
}

/** "850 ms", "4.2 s", "3 min 12 s", "2 h 5 min". */
export function formatDuration(ms: number | null): string {
  if (ms === null || Number.isNaN(ms)) return '—'

  const value = Math.max(0, ms)
  if (value < SECOND) return `${Math.round(value)} ms`
  if (value < MINUTE) return `${(value / SECOND).toFixed(1)} s`
  if (value < HOUR) {
    return `${Math.floor(value / MINUTE)} min ${Math.floor((value % MINUTE) / SECOND)} s`
  }
  return `${Math.floor(value / HOUR)} h ${Math.floor((value % HOUR) / MINUTE)} min`
}

export function formatDateTime(iso: string | null): string {
  if (!iso) return '—'

  const date = new Date(iso)
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString()
}

/**
 * The last 8 characters of a job id. Ids are UUIDv7: their first characters
 * are a timestamp, shared by jobs made together; the last are random.
 */
export function shortId(id: string): string {
  return id.length > 8 ? id.slice(-8) : id
}

export interface Timings {
  /** From creation to the start, or to the end (or now) if it never started. */
  queuedMs: number | null
  /** From the start to the end, or to now while running. */
  ranMs: number | null
  /** From creation to the end, or to now while unfinished. */
  totalMs: number | null
  finished: boolean
}

export function jobTimings(job: Job, now: number): Timings {
  const created = Date.parse(job.created_at)
  const started = job.started_at ? Date.parse(job.started_at) : null
  const finished = job.finished_at ? Date.parse(job.finished_at) : null
  const end = finished ?? now

  return {
    queuedMs: (started ?? end) - created,
    ranMs: started === null ? null : end - started,
    totalMs: end - created,
    finished: finished !== null,
  }
}

/** The first `limit` characters of a text, cut at a word where possible. */
export function excerpt(text: string, limit: number): string {
  if (text.length <= limit) return text

  const cut = text.slice(0, limit)
  const lastSpace = cut.lastIndexOf(' ')
  return `${lastSpace > limit * 0.8 ? cut.slice(0, lastSpace) : cut}…`
}
