import { flushPromises } from '@vue/test-utils'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'

import { resetApiState } from '@/api/client'
import { pollMs } from '@/settings'
import { renderApp } from '@/test/app'
import { getByRole, queryByRole } from '@/test/dom'
import { NetworkDown, installFakeFetch, type FakeRoute } from '@/test/fakeFetch'
import { makePage, makeStats } from '@/test/fixtures'

describe('App', () => {
  beforeEach(() => {
    vi.useFakeTimers()
    pollMs.value = 3000
  })

  afterEach(() => {
    vi.useRealTimers()
    document.body.innerHTML = ''
    resetApiState()
  })

  it('shows the API-down banner while the API is unreachable and drops it once it answers', async () => {
    let down = true
    const whenUp =
      (answer: FakeRoute): FakeRoute =>
      () => {
        if (down) throw new NetworkDown()
        return typeof answer === 'function' ? answer({} as never) : answer
      }
    installFakeFetch({
      'GET /jobs': whenUp({ body: makePage([]) }),
      'GET /admin/stats': whenUp({ body: makeStats() }),
      'GET /health': whenUp({ body: { status: 'ok' } }),
    })

    const { wrapper } = await renderApp('/')

    expect(getByRole('alert').textContent).toContain('Cannot reach the aijobs API…')

    down = false
    await vi.advanceTimersByTimeAsync(pollMs.value)
    await flushPromises()

    expect(queryByRole('alert')).toBeNull()
    wrapper.unmount()
  })

  it('shows the API-down banner on a 5xx answer', async () => {
    const broken = { status: 502, body: { status_code: 502, detail: 'Bad Gateway' } }
    installFakeFetch({ 'GET /jobs': broken, 'GET /admin/stats': broken, 'GET /health': broken })

    const { wrapper } = await renderApp('/')

    expect(queryByRole('alert', /Cannot reach the aijobs API/)).not.toBeNull()
    wrapper.unmount()
  })

  it('labels every control it shows', async () => {
    installFakeFetch({
      'GET /jobs': { body: makePage([]) },
      'GET /admin/stats': { body: makeStats() },
    })
    const { wrapper } = await renderApp('/new')

    const controls = document.body.querySelectorAll('input, select, textarea')
    expect(controls.length).toBeGreaterThan(3)
    for (const control of controls) {
      const id = control.getAttribute('id')
      const labelled =
        (id && document.querySelector(`label[for="${id}"]`)) || control.closest('label')
      expect(labelled, control.outerHTML).toBeTruthy()
    }
    wrapper.unmount()
  })
})
