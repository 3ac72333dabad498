import { afterEach, describe, expect, it } from 'vitest'

import { api, apiReachable, resetApiState } from '@/api/client'
import { ApiError, UNREACHABLE, errorFromResponse } from '@/api/errors'
import { NetworkDown, installFakeFetch } from '@/test/fakeFetch'
import { makeJob, makePage } from '@/test/fixtures'

describe('errorFromResponse', () => {
  it('reads the field path at the start of the detail', () => {
    const error = errorFromResponse(400, {
      status_code: 400,
      detail: 'params.steps: Expected `int`, got `str`',
    })

    expect(error.fieldErrors).toEqual({ 'params.steps': 'Expected `int`, got `str`' })
    expect(error.detail).toBe('params.steps: Expected `int`, got `str`')
  })

  it("reads Litestar's default list of keyed messages", () => {
    const error = errorFromResponse(400, {
      status_code: 400,
      detail: 'Validation failed for POST /jobs',
      extra: [{ key: 'input_text', message: 'Expected `str`, got `int`' }],
    })

    expect(error.fieldErrors).toEqual({ input_text: 'Expected `str`, got `int`' })
  })

  it("reads msgspec's trailing path", () => {
    const error = errorFromResponse(400, {
      status_code: 400,
      detail: 'Expected `float` <= 1.0 - at `$.params.fail_rate`',
    })

    expect(error.fieldErrors).toEqual({ 'params.fail_rate': 'Expected `float` <= 1.0' })
  })

  it('names no field for a plain sentence', () => {
    const error = errorFromResponse(409, { status_code: 409, detail: 'Job is already completed' })

    expect(error.fieldErrors).toEqual({})
    expect(error.unreachable).toBe(false)
  })

  it('copes with a body that is not an error object', () => {
    const error = errorFromResponse(502, '<html>Bad Gateway</html>')

    expect(error.detail).toBe('The API answered 502.')
    expect(error.unreachable).toBe(true)
  })
})

describe('api', () => {
  afterEach(() => {
    resetApiState()
  })

  it('sends list filters as query parameters and leaves out empty ones', async () => {
    const { requests } = installFakeFetch({ 'GET /jobs': { body: makePage([]) } })

    await api.listJobs({ status: 'failed', kind: undefined, limit: 20, offset: 40 })

    expect(requests[0]?.url.search).toBe('?status=failed&limit=20&offset=40')
  })

  it('raises an ApiError with the status and detail of a refusal', async () => {
    installFakeFetch({
      'POST /jobs/abc/cancel': {
        status: 409,
        body: { status_code: 409, detail: 'Job is finished' },
      },
    })

    const error = await api.cancelJob('abc').catch((caught: unknown) => caught)

    expect(error).toBeInstanceOf(ApiError)
    expect((error as ApiError).status).toBe(409)
    expect((error as ApiError).detail).toBe('Job is finished')
    expect(apiReachable.value).toBe(true)
  })

  it('marks the API unreachable when the network fails, and reachable again on an answer', async () => {
    const job = makeJob()
    let down = true
    installFakeFetch({
      [`GET /jobs/${job.id}`]: () => {
        if (down) throw new NetworkDown()
        return { body: job }
      },
    })

    const error = await api.getJob(job.id).catch((caught: unknown) => caught)
    expect((error as ApiError).status).toBe(UNREACHABLE)
    expect(apiReachable.value).toBe(false)

    down = false
    await expect(api.getJob(job.id)).resolves.toEqual(job)
    expect(apiReachable.value).toBe(true)
  })

  it('marks the API unreachable on a 5xx answer', async () => {
    installFakeFetch({
      'GET /admin/stats': { status: 503, body: { status_code: 503, detail: 'down' } },
    })

    await api.getStats().catch(() => undefined)

    expect(apiReachable.value).toBe(false)
  })
})
