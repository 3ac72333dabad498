import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'

import { resetApiState } from '@/api/client'
import type { Job } from '@/api/types'
import { pollMs } from '@/settings'
import { renderApp } from '@/test/app'
import { getByRole, queryByRole } from '@/test/dom'
import { installFakeFetch } from '@/test/fakeFetch'
import { makeJob } from '@/test/fixtures'

describe('JobDetailView', () => {
  beforeEach(() => {
    vi.useFakeTimers()
    pollMs.value = 1000
  })

  afterEach(() => {
    vi.useRealTimers()
    document.body.innerHTML = ''
    resetApiState()
  })

  it('shows a finished summary with its timings and usage, then stops polling', async () => {
    const job = makeJob({
      kind: 'summarize',
      status: 'completed',
      progress: 100,
      attempts: 1,
      input_text: 'A long document. '.repeat(100),
      params: {},
      result: { summary: 'The gist of it.', provider: 'local', model: 'extractive', chunks: 2 },
      usage: { prompt_tokens: 812, completion_tokens: 96 },
      created_at: '2026-12-03T10:00:00Z',
      started_at: '2026-12-03T10:00:01Z',
      finished_at: '2026-12-03T10:00:04Z',
    })
    const { fetch } = installFakeFetch({ [`GET /jobs/${job.id}`]: { body: job } })

    const { wrapper } = await renderApp(`/jobs/${job.id}`)

    expect(getByRole('heading', `Job ${job.id.slice(-8)}`)).toBeTruthy()
    expect(getByRole('region', 'Result').textContent).toContain('The gist of it.')
    const run = getByRole('region', 'Run').textContent ?? ''
    expect(run).toMatch(/Queued\s*1\.0 s/)
    expect(run).toMatch(/Ran\s*3\.0 s/)
    expect(run).toMatch(/Total\s*4\.0 s/)
    expect(run).toMatch(/Prompt tokens\s*812/)
    expect(getByRole('button', /Show all 1700 characters/)).toBeTruthy()
    expect(queryByRole('button', 'Cancel job')).toBeNull()
    expect(queryByRole('button', 'Retry job')).toBeNull()

    const calls = fetch.mock.calls.length
    await vi.advanceTimersByTimeAsync(pollMs.value * 5)
    expect(fetch.mock.calls.length).toBe(calls)
    wrapper.unmount()
  })

  it('follows a running job until it finishes', async () => {
    const running = makeJob({ status: 'processing', progress: 40, progress_message: 'step 2 of 5' })
    const answers: Job[] = [
      running,
      { ...running, progress: 80, progress_message: 'step 4 of 5' },
      { ...running, status: 'completed', progress: 100, result: { steps: 5 } },
    ]
    let call = 0
    installFakeFetch({
      [`GET /jobs/${running.id}`]: () => ({ body: answers[Math.min(call++, answers.length - 1)] }),
    })

    const { wrapper } = await renderApp(`/jobs/${running.id}`)
    expect(getByRole('progressbar', 'Progress').getAttribute('aria-valuenow')).toBe('40')

    await vi.advanceTimersByTimeAsync(pollMs.value)
    expect(getByRole('progressbar', 'Progress').getAttribute('aria-valuenow')).toBe('80')

    await vi.advanceTimersByTimeAsync(pollMs.value)
    expect(document.querySelector('[data-testid="status-badge"]')?.textContent).toContain(
      'completed',
    )
    expect(getByRole('region', 'Result').textContent).toContain('"steps": 5')

    await vi.advanceTimersByTimeAsync(pollMs.value * 5)
    expect(call).toBe(3)
    wrapper.unmount()
  })

  it('says when there is no such job', async () => {
    installFakeFetch({})

    const { wrapper } = await renderApp('/jobs/does-not-exist')

    expect(getByRole('alert').textContent).toContain('There is no job with id does-not-exist')
    wrapper.unmount()
  })
})
