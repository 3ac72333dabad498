import { describe, expect, it } from 'vitest'

import { excerpt, formatAge, formatDuration, jobTimings } from '@/format'
import { makeJob } from '@/test/fixtures'

const CREATED = '2026-12-03T10:00:00Z'
const at = (iso: string) => Date.parse(iso)

describe('formatAge', () => {
  it.each([
    ['2026-12-03T10:00:02Z', 'just now'],
    ['2026-12-03T10:00:42Z', '42 s ago'],
    ['2026-12-03T10:07:00Z', '7 min ago'],
    ['2026-12-03T13:00:00Z', '3 h ago'],
    ['2026-12-05T10:00:00Z', '2 d ago'],
  ])('at %s says %s', (now, expected) => {
    expect(formatAge(CREATED, at(now))).toBe(expected)
  })
})

describe('formatDuration', () => {
  it.each([
    [null, '—'],
    [850, '850 ms'],
    [4200, '4.2 s'],
    [192_000, '3 min 12 s'],
    [7_500_000, '2 h 5 min'],
  ])('%s ms reads %s', (ms, expected) => {
    expect(formatDuration(ms)).toBe(expected)
  })
})

describe('jobTimings', () => {
  it('splits a finished job into queued, ran and total', () => {
    const job = makeJob({
      created_at: CREATED,
      started_at: '2026-12-03T10:00:02Z',
      finished_at: '2026-12-03T10:00:07Z',
    })

    expect(jobTimings(job, at('2026-12-03T11:00:00Z'))).toEqual({
      queuedMs: 2000,
      ranMs: 5000,
      totalMs: 7000,
      finished: true,
    })
  })

  it('counts a running job up to now', () => {
    const job = makeJob({ created_at: CREATED, started_at: '2026-12-03T10:00:01Z' })

    const timings = jobTimings(job, at('2026-12-03T10:00:11Z'))

    expect(timings).toMatchObject({
      queuedMs: 1000,
      ranMs: 10_000,
      totalMs: 11_000,
      finished: false,
    })
  })

  it('counts a job canceled before it started as queued all along', () => {
    const job = makeJob({
      created_at: CREATED,
      finished_at: '2026-12-03T10:00:03Z',
      status: 'canceled',
    })

    expect(jobTimings(job, at('2026-12-03T11:00:00Z'))).toMatchObject({
      queuedMs: 3000,
      ranMs: null,
    })
  })
})

describe('excerpt', () => {
  it('keeps a short text whole and cuts a long one at a word', () => {
    expect(excerpt('short', 10)).toBe('short')
    expect(excerpt('alpha beta gamma delta', 12)).toBe('alpha beta…')
  })
})
