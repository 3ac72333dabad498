import type { Job, JobPage, Me, Stats } from '@/api/types'

let counter = 0

/** A job as the API sends it; every call gets a fresh id. */
export function makeJob(overrides: Partial<Job> = {}): Job {
  counter += 1
  const id = `0193f9c2-0000-7000-8000-${String(counter).padStart(12, '0')}`
  return {
    id,
    kind: 'simulate',
    status: 'pending',
    progress: 0,
    progress_message: null,
    input_text: 'some text',
    input_file_path: null,
    params: { steps: 5 },
    webhook_url: null,
    result: null,
    error_message: null,
    attempts: 0,
    usage: { prompt_tokens: 0, completion_tokens: 0 },
    created_at: '2026-12-03T10:28:35Z',
    started_at: null,
    finished_at: null,
    updated_at: '2026-12-03T10:28:35Z',
    cancel_requested: false,
    ...overrides,
  }
}

export function makePage(items: Job[], overrides: Partial<JobPage> = {}): JobPage {
  return { items, total: items.length, limit: 20, offset: 0, ...overrides }
}

export function makeStats(overrides: Partial<Stats> = {}): Stats {
  return {
    pending: 1,
    processing: 2,
    completed: 30,
    failed: 4,
    canceled: 5,
    total: 42,
    queue_depth: 3,
    workers: 2,
    throughput_per_min: 12.5,
    run_time_ms: { p50: 1200, p95: 4100, p99: null },
    ...overrides,
  }
}

export function makeMe(overrides: Partial<Me> = {}): Me {
  return { name: 'alice', role: 'user', auth_enabled: true, ...overrides }
}
