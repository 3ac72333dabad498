import { mount } from '@vue/test-utils'
import { afterEach, describe, expect, it } from 'vitest'

import { resetApiState } from '@/api/client'
import type { JobStatus } from '@/api/types'
import JobActions from '@/components/JobActions.vue'
import { click, getByRole, queryByRole } from '@/test/dom'
import { installFakeFetch } from '@/test/fakeFetch'
import { makeJob } from '@/test/fixtures'

function renderActions(status: JobStatus) {
  const job = makeJob({ status })
  const wrapper = mount(JobActions, { props: { job }, attachTo: document.body })
  return { job, wrapper }
}

describe('JobActions', () => {
  afterEach(() => {
    document.body.innerHTML = ''
    resetApiState()
  })

  it.each<[JobStatus, boolean, boolean]>([
    ['pending', true, false],
    ['processing', true, false],
    ['completed', false, false],
    ['failed', false, true],
    ['canceled', false, true],
  ])('for a %s job offers cancel: %s, retry: %s', (status, cancel, retry) => {
    renderActions(status)

    expect(queryByRole('button', 'Cancel job') !== null).toBe(cancel)
    expect(queryByRole('button', 'Retry job') !== null).toBe(retry)
  })

  it('cancels, announces the answer and hands the updated job up', async () => {
    const { job, wrapper } = renderActions('processing')
    const canceled = { ...job, cancel_requested: true }
    installFakeFetch({ [`POST /jobs/${job.id}/cancel`]: { status: 202, body: canceled } })

    await click(getByRole('button', 'Cancel job'))

    expect(getByRole('status').textContent).toContain('Cancellation requested')
    expect(wrapper.emitted('updated')).toEqual([[canceled]])
  })

  it("announces the API's refusal in the live region", async () => {
    const { job, wrapper } = renderActions('failed')
    installFakeFetch({
      [`POST /jobs/${job.id}/retry`]: {
        status: 409,
        body: { status_code: 409, detail: 'Only failed or canceled jobs can be retried' },
      },
    })

    await click(getByRole('button', 'Retry job'))

    const status = getByRole('status')
    expect(status.getAttribute('aria-live')).toBe('polite')
    expect(status.textContent).toContain(
      'Could not retry: Only failed or canceled jobs can be retried',
    )
    expect(wrapper.emitted('updated')).toBeUndefined()
  })
})
