/**
 * The one client of the aijobs API.
 *
 * Every call goes through `request`, the single place that turns failures
 * into an ApiError, keeps `apiReachable` up to date for the banner and sends
 * the API key. When the API asks for a key (401), the call waits until the
 * person has given one (`api.signIn`) and is then made again, so nothing a
 * page or a form asked for is lost behind the key prompt.
 */
import { computed, readonly, ref } from 'vue'

import { ApiError, errorFromResponse, toApiError } from '@/api/errors'
import type { Health, Job, JobCreate, JobPage, JobQuery, Me, Stats } from '@/api/types'

/** How long a call may take before we treat the API as unreachable. */
export const REQUEST_TIMEOUT_MS = 15_000

/** sessionStorage entry of the API key: it lasts as long as the tab. */
export const KEY_STORAGE = 'aijobs.apiKey'

const API_BASE = (import.meta.env.VITE_API_BASE ?? '').replace(/\/$/, '')

const reachable = ref(true)
const apiKey = ref<string | null>(storedKey())
const keyReason = ref<string | null>(null)
const rateLimit = ref<string | null>(null)
let keyGiven = newKeySignal()

/** False from a failed call (no answer, or a 5xx) until the next answer. */
export const apiReachable = readonly(reachable)

/** True while this tab keeps an API key. */
export const hasApiKey = computed(() => apiKey.value !== null)

/** While calls wait for a key, the API's reason for wanting one; else null. */
export const keyWanted = readonly(keyReason)

/** The detail of the API's last 429, until it answers anything else. */
export const rateLimited = readonly(rateLimit)

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
  for (;;) {
    const key = apiKey.value
    try {
      return await send<T>(method, path, options, key)
    } catch (error) {
      // A 401 comes before the handler ran, so making the call again is safe.
      if (!(error instanceof ApiError) || error.status !== 401) throw error
      await nextKey(key, error.detail)
    }
  }
}

async function send<T>(
  method: 'GET' | 'POST',
  path: string,
  options: RequestOptions,
  key: string | null,
): Promise<Answer<T>> {
  const headers: Record<string, string> = { Accept: 'application/json', ...options.headers }
  if (key !== null) headers.Authorization = `Bearer ${key}`
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

  const error = response.ok ? null : errorFromResponse(response.status, body)
  rateLimit.value = error?.status === 429 ? error.detail : null
  if (error) throw error
  if (body === null) throw new ApiError(response.status, 'The API sent an answer that is not JSON.')
  return { status: response.status, data: body as T }
}

/**
 * Wait for a key other than `refused`, which the API has just turned down.
 *
 * A refused key is forgotten. The first reason stays on the prompt: once the
 * stored key is dropped, other calls are refused for having none, which
 * would hide why.
 */
function nextKey(refused: string | null, reason: string): Promise<void> {
  if (apiKey.value !== null && apiKey.value !== refused) return Promise.resolve()

  if (apiKey.value !== null) keep(null)
  keyReason.value ??= reason
  return keyGiven.promise
}

function keep(key: string | null): void {
  apiKey.value = key
  try {
    if (key === null) sessionStorage.removeItem(KEY_STORAGE)
    else sessionStorage.setItem(KEY_STORAGE, key)
  } catch {
    // Storage can be forbidden; the key then lasts until the page is reloaded.
  }
}

function storedKey(): string | null {
  try {
    return sessionStorage.getItem(KEY_STORAGE) || null
  } catch {
    return null
  }
}

function newKeySignal() {
  let give: () => void = () => undefined
  const promise = new Promise<void>((resolve) => (give = resolve))
  return { promise, give }
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

  async me(): Promise<Me> {
    return (await request<Me>('GET', '/me')).data
  },

  /**
   * Check `key` with GET /me, then keep it and let the waiting calls go.
   * A key the API refuses raises its ApiError and is not kept.
   */
  async signIn(key: string): Promise<Me> {
    const answer = await send<Me>('GET', '/me', {}, key)

    keep(key)
    keyReason.value = null
    keyGiven.give()
    keyGiven = newKeySignal()
    return answer.data
  },

  /** Drop the key; the next call the API refuses brings the prompt back. */
  forgetKey(): void {
    keep(null)
  },
}

/** Put the state back as a page load finds it; for tests, which share one module. */
export function resetApiState(): void {
  reachable.value = true
  rateLimit.value = null
  keyReason.value = null
  apiKey.value = storedKey()
  keyGiven = newKeySignal()
}
