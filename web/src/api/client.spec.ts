import { flushPromises } from '@vue/test-utils'
import { afterEach, describe, expect, it } from 'vitest'

import {
  KEY_STORAGE,
  api,
  apiReachable,
  hasApiKey,
  keyWanted,
  rateLimited,
  resetApiState,
} from '@/api/client'
import { ApiError, UNREACHABLE, errorFromResponse } from '@/api/errors'
import { givenKeptKey } from '@/test/apiKey'
import { NetworkDown, installFakeFetch, requireKey } from '@/test/fakeFetch'
import { makeJob, makeMe, makePage } from '@/test/fixtures'

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

describe('the API key', () => {
  const KEY = 'aij_right'
  const MISSING = 'missing API key: send `Authorization: Bearer <key>`'

  afterEach(() => {
    sessionStorage.clear()
    resetApiState()
  })

  /** The API with auth on, as far as these tests go. */
  function apiWithAuth() {
    return installFakeFetch({
      'GET /me': requireKey(KEY, { body: makeMe() }),
      'GET /jobs': requireKey(KEY, { body: makePage([]) }),
    })
  }

  it('sends the kept key as a bearer token, in a header and never in the URL', async () => {
    givenKeptKey(KEY)
    const { requests } = apiWithAuth()

    await api.listJobs({ limit: 20 })

    expect(requests[0]?.headers.get('Authorization')).toBe(`Bearer ${KEY}`)
    expect(requests[0]?.url.href).not.toContain(KEY)
  })

  it('sends no Authorization header while it has no key', async () => {
    const { requests } = installFakeFetch({ 'GET /jobs': { body: makePage([]) } })

    await api.listJobs()

    expect(requests[0]?.headers.has('Authorization')).toBe(false)
  })

  it("holds a call the API refuses, asks for a key with the API's reason, then makes the call again", async () => {
    const { requests } = apiWithAuth()

    let answered = false
    const listed = api.listJobs().then((page) => {
      answered = true
      return page
    })
    await flushPromises()
    expect(keyWanted.value).toBe(MISSING)
    expect(answered).toBe(false)

    await api.signIn(KEY)

    await expect(listed).resolves.toEqual(makePage([]))
    expect(keyWanted.value).toBeNull()
    expect(requests.at(-1)?.headers.get('Authorization')).toBe(`Bearer ${KEY}`)
  })

  it('keeps an accepted key in sessionStorage only', async () => {
    apiWithAuth()

    await expect(api.signIn(KEY)).resolves.toEqual(makeMe())

    expect(sessionStorage.getItem(KEY_STORAGE)).toBe(KEY)
    expect(localStorage.getItem(KEY_STORAGE)).toBeNull()
    expect(hasApiKey.value).toBe(true)
  })

  it("refuses a wrong key with the API's message, keeps none and goes on asking", async () => {
    apiWithAuth()
    void api.listJobs()
    await flushPromises()

    const error = await api.signIn('aij_wrong').catch((caught: unknown) => caught)

    expect((error as ApiError).status).toBe(401)
    expect((error as ApiError).detail).toBe('invalid or revoked API key')
    expect(sessionStorage.getItem(KEY_STORAGE)).toBeNull()
    expect(keyWanted.value).toBe(MISSING)
  })

  it('drops a kept key the API refuses and says why', async () => {
    givenKeptKey('aij_revoked')
    apiWithAuth()

    void api.listJobs()
    await flushPromises()

    expect(keyWanted.value).toBe('invalid or revoked API key')
    expect(sessionStorage.getItem(KEY_STORAGE)).toBeNull()
    expect(hasApiKey.value).toBe(false)
  })

  it('forgets the key on request, and then asks for one again', async () => {
    givenKeptKey(KEY)
    const { requests } = apiWithAuth()

    api.forgetKey()
    void api.me()
    await flushPromises()

    expect(sessionStorage.getItem(KEY_STORAGE)).toBeNull()
    expect(hasApiKey.value).toBe(false)
    expect(requests[0]?.headers.has('Authorization')).toBe(false)
    expect(keyWanted.value).toBe(MISSING)
  })

  it('shows the detail of a 429 until the API answers anything else', async () => {
    const detail = 'rate limit of 600 requests per minute reached; retry in 12 s'
    let limited = true
    installFakeFetch({
      'GET /jobs': () =>
        limited ? { status: 429, body: { status_code: 429, detail } } : { body: makePage([]) },
    })

    await api.listJobs().catch(() => undefined)
    expect(rateLimited.value).toBe(detail)

    limited = false
    await api.listJobs()
    expect(rateLimited.value).toBeNull()
  })
})
