import { mount } from '@vue/test-utils'
import { afterEach, describe, expect, it } from 'vitest'
import { createMemoryHistory } from 'vue-router'

import JobList from '@/components/JobList.vue'
import { createAppRouter } from '@/router'
import { getByRole, queryAllByRole } from '@/test/dom'
import { makeJob } from '@/test/fixtures'

const NOW = Date.parse('2026-12-03T10:30:00Z')

function renderList(jobs = [makeJob()]) {
  return mount(JobList, {
    props: { jobs, now: NOW },
    global: { plugins: [createAppRouter(createMemoryHistory('/ui/'))] },
    attachTo: document.body,
  })
}

describe('JobList', () => {
  afterEach(() => {
    document.body.innerHTML = ''
  })

  it('renders one row per job under a header row', () => {
    renderList([makeJob(), makeJob(), makeJob()])

    expect(queryAllByRole('row')).toHaveLength(4)
  })

  it('shows each job with its status in words, kind, attempts and age', () => {
    const job = makeJob({ kind: 'summarize', status: 'failed', attempts: 3 })
    renderList([job])

    const row = queryAllByRole('row')[1] as HTMLElement
    expect(row.textContent).toContain('failed')
    expect(row.textContent).toContain('summarize')
    expect(row.querySelector('[data-label="Attempts"]')?.textContent?.trim()).toBe('3')
    expect(row.querySelector('[data-label="Age"]')?.textContent?.trim()).toBe('1 min ago')
  })

  it('shows progress as a progress bar with its message', () => {
    const job = makeJob({ status: 'processing', progress: 40, progress_message: 'step 2 of 5' })
    renderList([job])

    const bar = getByRole('progressbar', `Progress of job ${job.id.slice(-8)}`)
    expect(bar.getAttribute('aria-valuenow')).toBe('40')
    expect(document.body.textContent).toContain('step 2 of 5')
  })

  it('links each row to the job detail page', () => {
    const job = makeJob({ status: 'completed' })
    renderList([job])

    const link = getByRole('link', new RegExp(`^Job ${job.id.slice(-8)}`))
    expect(link.getAttribute('href')).toBe(`/ui/jobs/${job.id}`)
    expect(link.getAttribute('aria-label')).toContain('completed')
  })
})
