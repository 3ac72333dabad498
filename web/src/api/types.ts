/**
 * Every shape the dashboard reads from or sends to the aijobs API.
 *
 * Written by hand, narrower than the generated ones where the dashboard
 * relies on it (statuses and kinds as unions); ./conformance.ts proves at
 * compile time that they agree with the types generated from the API's
 * OpenAPI document (./schema.d.ts). Newer shapes are the generated ones.
 */
import type { components } from './schema'

export const JOB_STATUSES = ['pending', 'processing', 'completed', 'failed', 'canceled'] as const
export type JobStatus = (typeof JOB_STATUSES)[number]

export const JOB_KINDS = ['summarize', 'simulate'] as const
export type JobKind = (typeof JOB_KINDS)[number]

export const FAIL_KINDS = ['transient', 'permanent'] as const
export type FailKind = (typeof FAIL_KINDS)[number]

/** Statuses a job never leaves by itself. */
export const FINISHED_STATUSES: readonly JobStatus[] = ['completed', 'failed', 'canceled']

export type JsonValue =
  string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue }

export type JsonObject = { [key: string]: JsonValue }

export type SimulateParams = {
  steps?: number
  step_s?: number
  fail_rate?: number
  fail_kind?: FailKind
}

/** A JSON object whose shape the kind decides (params, result). */
export type KindObject = { [key: string]: unknown }

export interface TokenUsage {
  prompt_tokens: number
  completion_tokens: number
}

export interface Job {
  id: string
  /** A kind this dashboard does not know yet still renders, as JSON. */
  kind: JobKind | (string & {})
  status: JobStatus
  progress: number
  progress_message: string | null
  input_text: string | null
  input_file_path: string | null
  params: KindObject
  webhook_url: string | null
  result: KindObject | null
  error_message: string | null
  attempts: number
  usage: TokenUsage
  created_at: string
  started_at: string | null
  finished_at: string | null
  updated_at: string
  cancel_requested: boolean
}

export interface JobCreate {
  kind?: JobKind
  input_text?: string
  input_file_path?: string
  params?: SimulateParams
  webhook_url?: string
}

export interface JobPage {
  items: Job[]
  total: number
  limit: number
  offset: number
}

export interface JobQuery {
  status?: JobStatus
  kind?: JobKind
  limit?: number
  offset?: number
}

export interface RunTimePercentiles {
  p50: number | null
  p95: number | null
  p99: number | null
}

export interface Stats {
  pending: number
  processing: number
  completed: number
  failed: number
  canceled: number
  total: number
  /** Null while the broker does not answer. */
  queue_depth: number | null
  workers: number | null
  throughput_per_min: number
  run_time_ms: RunTimePercentiles
}

/** Who GET /me says the API key is; with auth off, the local caller. */
export type Me = components['schemas']['Me']
export type Role = Me['role']

export interface Health {
  status: string
}

/** Litestar's error body. */
export interface ApiErrorBody {
  status_code: number
  detail: string
  extra?: JsonValue
}
