/**
 * The one client of the aijobs API.
 *
 * Every call goes through `request`, the single place that turns failures
 * into an ApiError and keeps `apiReachable` up to date for the banner.
 */
import { readonly, ref } from 'vue'

import { ApiError, errorFromResponse, toApiError } from '@/api/errors'
import type { Health, Job, JobCreate, JobPage, JobQuery, Stats } from '@/api/types'

/** How long a call may take before we treat the API as unreachable. */
export const REQUEST_TIMEOUT_MS = 15_000

const API_BASE = (import.meta.env.VITE_API_BASE ?? '').replace(/\/$/, '')

const reachable = ref(true)

/** False from a failed call (no answer, or a 5xx) until the next answer. */
export const apiReachable = readonly(reachable)

interface RequestOptions {
  body?: unknown
  query?: Record<string, string | number | undefined>
  headers?: Record<string, string>
}

interface Answer<T> {
  status: number
  data: T
}

async function request<T>(
  method: 'GET' | 'POST',
  path: string,
  options: RequestOptions = {},
): Promise<Answer<T>> {
  const headers: Record<string, string> = { Accept: 'application/json', ...options.headers }
  if (options.body !== undefined) headers['Content-Type'] = 'application/json'

  let response: Response
  try {
    response = await fetch(API_BASE + path + queryString(options.query), {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    })
  } catch (error) {
    reachable.value = false
    throw toApiError(error)
  }

  const body: unknown = await response.json().catch(() => null)
  reachable.value = response.status < 500

  if (!response.ok) throw errorFromResponse(response.status, body)
  if (body === null) throw new ApiError(response.status, 'The API sent an answer that is not JSON.')
  return { status: response.status, data: body as T }
}

function queryString(query: RequestOptions['query']): string {
  if (!query) return ''

  const params = new URLSearchParams()
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined && value !== '') params.set(name, String(value))
  }
  const text = params.toString()
  return text ? `?${text}` : ''
}

function jobPath(id: string, action = ''): string {
  return `/jobs/${encodeURIComponent(id)}${action}`
}

/** What POST /jobs gave back; `replayed` when an Idempotency-Key matched. */
export interface Submitted {
  job: Job
  replayed: boolean
}

export const api = {
  async listJobs(query: JobQuery = {}): Promise<JobPage> {
    return (await request<JobPage>('GET', '/jobs', { query: { ...query } })).data
  },

  async getJob(id: string): Promise<Job> {
    return (await request<Job>('GET', jobPath(id))).data
  },

  async createJob(body: JobCreate, idempotencyKey?: string): Promise<Submitted> {
    const headers: Record<string, string> = idempotencyKey
      ? { 'Idempotency-Key': idempotencyKey }
      : {}
    const answer = await request<Job>('POST', '/jobs', { body, headers })
    return { job: answer.data, replayed: answer.status === 200 }
  },

  async cancelJob(id: string): Promise<Job> {
    return (await request<Job>('POST', jobPath(id, '/cancel'))).data
  },

  async retryJob(id: string): Promise<Job> {
    return (await request<Job>('POST', jobPath(id, '/retry'))).data
  },

  async getStats(): Promise<Stats> {
    return (await request<Stats>('GET', '/admin/stats')).data
  },

  async health(): Promise<Health> {
    return (await request<Health>('GET', '/health')).data
  },
}

/** Put the reachability flag back; for tests, which share one module. */
export function resetApiState(): void {
  reachable.value = true
}
