import { flushPromises } from '@vue/test-utils'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'

import { KEY_STORAGE, resetApiState } from '@/api/client'
import { pollMs } from '@/settings'
import { givenKeptKey, submitKey } from '@/test/apiKey'
import { renderApp } from '@/test/app'
import { click, getByRole, queryByRole } from '@/test/dom'
import { NetworkDown, installFakeFetch, requireKey, type FakeRoute } from '@/test/fakeFetch'
import { makeJob, makeMe, makePage, makeStats } from '@/test/fixtures'

const KEY = 'aij_right'

/** An API with auth on that takes KEY, which is alice's user key. */
function apiWithAuth() {
  const job = makeJob()
  const fake = installFakeFetch({
    'GET /me': requireKey(KEY, { body: makeMe({ name: 'alice', role: 'user' }) }),
    'GET /jobs': requireKey(KEY, { body: makePage([job]) }),
    'GET /admin/stats': requireKey(KEY, {
      status: 403,
      body: { status_code: 403, detail: 'this route needs an admin API key' },
    }),
  })
  return { ...fake, job }
}

/** The dashboard at / with KEY kept from earlier in this tab. */
async function renderSignedIn() {
  givenKeptKey(KEY)
  const { requests } = apiWithAuth()
  const { wrapper } = await renderApp('/')
  return { requests, wrapper }
}

function header(): HTMLElement {
  return document.querySelector('header') as HTMLElement
}

describe('App', () => {
  beforeEach(() => {
    vi.useFakeTimers()
    pollMs.value = 3000
  })

  afterEach(() => {
    vi.useRealTimers()
    document.body.innerHTML = ''
    sessionStorage.clear()
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
      'GET /me': whenUp({ body: makeMe() }),
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

  it('asks for a key when the API wants one, then shows the page and who is signed in', async () => {
    const { job } = apiWithAuth()
    const { wrapper } = await renderApp('/')

    expect(getByRole('heading', 'API key needed')).toBeTruthy()
    expect(header().textContent).not.toContain('alice')

    await submitKey(KEY)

    expect(queryByRole('heading', 'API key needed')).toBeNull()
    expect(queryByRole('link', new RegExp(`^Job ${job.id.slice(-8)}`))).not.toBeNull()
    expect(header().textContent).toMatch(/Signed in as alice\s*, role user/)
    expect(getByRole('region', 'Queue statistics').textContent).toContain(
      'Statistics need an admin key.',
    )
    wrapper.unmount()
  })

  it('stops asking for statistics that need an admin key', async () => {
    const { requests, wrapper } = await renderSignedIn()

    await vi.advanceTimersByTimeAsync(pollMs.value * 3)

    const statsCalls = requests.filter((request) => request.url.pathname === '/admin/stats')
    expect(statsCalls).toHaveLength(1)
    expect(queryByRole('alert')).toBeNull()
    wrapper.unmount()
  })

  it('forgets the key from the header, asks for one again and asks for statistics again with it', async () => {
    const { requests, wrapper } = await renderSignedIn()
    expect(header().textContent).toContain('alice')

    await click(getByRole('button', 'Forget key'))

    expect(sessionStorage.getItem(KEY_STORAGE)).toBeNull()
    expect(getByRole('heading', 'API key needed')).toBeTruthy()
    expect(document.body.textContent).toContain('missing API key')
    expect(header().textContent).not.toContain('alice')

    await submitKey(KEY)
    const statsCalls = requests.filter((request) => request.url.pathname === '/admin/stats')
    expect(statsCalls).toHaveLength(2)
    wrapper.unmount()
  })

  it('says that authentication is off when the API says so, and only then', async () => {
    installFakeFetch({
      'GET /jobs': { body: makePage([]) },
      'GET /admin/stats': { body: makeStats() },
      'GET /me': { body: makeMe({ name: 'local', role: 'admin', auth_enabled: false }) },
    })
    const { wrapper } = await renderApp('/')

    expect(document.body.textContent).toContain('Authentication is off.')
    expect(header().textContent).toContain('local')
    expect(queryByRole('button', 'Forget key')).toBeNull()
    wrapper.unmount()

    const signedIn = await renderSignedIn()
    expect(document.body.textContent).not.toContain('Authentication is off')
    signedIn.wrapper.unmount()
  })

  it('shows the detail of a rate limit', async () => {
    const detail = 'rate limit of 600 requests per minute reached; retry in 12 s'
    const limited = { status: 429, body: { status_code: 429, detail } }
    installFakeFetch({ 'GET /jobs': limited, 'GET /admin/stats': limited, 'GET /me': limited })

    const { wrapper } = await renderApp('/')

    expect(getByRole('status').textContent).toBe(`Too many requests: ${detail}`)
    wrapper.unmount()
  })
})
