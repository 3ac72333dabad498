import { afterEach, describe, expect, it } from 'vitest'

import { resetApiState } from '@/api/client'
import { renderApp } from '@/test/app'
import { choose, click, getByLabel, getByRole, queryAllByRole } from '@/test/dom'
import { installFakeFetch } from '@/test/fakeFetch'
import { makeJob, makePage, makeStats } from '@/test/fixtures'

describe('JobsView', () => {
  afterEach(() => {
    document.body.innerHTML = ''
    resetApiState()
  })

  it('asks the API for the filters in the URL and shows the stats', async () => {
    const { requests } = installFakeFetch({
      'GET /jobs': { body: makePage([makeJob({ status: 'failed' })]) },
      'GET /admin/stats': { body: makeStats({ queue_depth: 7, workers: 3 }) },
    })

    const { wrapper } = await renderApp('/?status=failed&kind=simulate')

    const list = requests.find((request) => request.url.pathname === '/jobs')
    expect(list?.url.searchParams.get('status')).toBe('failed')
    expect(list?.url.searchParams.get('kind')).toBe('simulate')
    expect((getByLabel('Status') as unknown as HTMLSelectElement).value).toBe('failed')
    const stats = getByRole('region', 'Queue statistics')
    expect(stats.textContent).toMatch(/Queue depth\s*7/)
    expect(stats.textContent).toMatch(/Workers\s*3/)
    wrapper.unmount()
  })

  it('writes a chosen filter into the URL and lists again', async () => {
    const { requests } = installFakeFetch({
      'GET /jobs': { body: makePage([makeJob()]) },
      'GET /admin/stats': { body: makeStats() },
    })
    const { router, wrapper } = await renderApp('/?offset=20')

    await choose(getByLabel('Kind'), 'summarize')

    expect(router.currentRoute.value.query).toEqual({ kind: 'summarize' })
    const last = requests.filter((request) => request.url.pathname === '/jobs').at(-1)
    expect(last?.url.searchParams.get('kind')).toBe('summarize')
    expect(last?.url.searchParams.get('offset')).toBe('0')
    wrapper.unmount()
  })

  it('pages through the jobs with previous and next', async () => {
    const jobs = Array.from({ length: 20 }, () => makeJob())
    installFakeFetch({
      'GET /jobs': (request) => ({
        body: makePage(jobs, {
          total: 45,
          offset: Number(request.url.searchParams.get('offset') ?? 0),
        }),
      }),
      'GET /admin/stats': { body: makeStats() },
    })
    const { router, wrapper } = await renderApp('/')

    expect(getByRole('navigation', 'Pages of jobs').textContent).toContain('1–20 of 45')
    expect((getByRole('button', 'Previous') as HTMLButtonElement).disabled).toBe(true)

    await click(getByRole('button', 'Next'))

    expect(router.currentRoute.value.query).toEqual({ offset: '20' })
    expect(getByRole('navigation', 'Pages of jobs').textContent).toContain('21–40 of 45')
    wrapper.unmount()
  })

  it('says so when there are no jobs yet', async () => {
    installFakeFetch({
      'GET /jobs': { body: makePage([]) },
      'GET /admin/stats': { body: makeStats() },
    })

    const { wrapper } = await renderApp('/')

    expect(document.body.textContent).toContain('No jobs yet.')
    expect(queryAllByRole('table')).toHaveLength(0)
    wrapper.unmount()
  })

  it('says so when no job matches the filters', async () => {
    installFakeFetch({
      'GET /jobs': { body: makePage([]) },
      'GET /admin/stats': { body: makeStats() },
    })

    const { wrapper } = await renderApp('/?status=canceled')

    expect(document.body.textContent).toContain('No jobs match these filters.')
    wrapper.unmount()
  })
})
