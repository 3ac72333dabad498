/**
 * A stand-in for `fetch`: the network boundary of the dashboard.
 *
 * Routes are keyed "METHOD /path" (the query string is not part of the key)
 * and answer with a status and a JSON body, or throw like a dead network.
 */
import { vi } from 'vitest'

export interface FakeRequest {
  method: string
  url: URL
  headers: Headers
  body: unknown
}

export interface FakeAnswer {
  status?: number
  body?: unknown
}

export type FakeRoute = FakeAnswer | ((request: FakeRequest) => FakeAnswer | Promise<FakeAnswer>)

export class NetworkDown extends TypeError {
  constructor() {
    super('Failed to fetch')
  }
}

export function installFakeFetch(routes: Record<string, FakeRoute>) {
  const requests: FakeRequest[] = []

  const fake = vi.fn(
    async (input: RequestInfo | URL, init: RequestInit = {}): Promise<Response> => {
      const url = new URL(String(input), 'http://aijobs.test')
      const method = (init.method ?? 'GET').toUpperCase()
      const request: FakeRequest = {
        method,
        url,
        headers: new Headers(init.headers),
        body: typeof init.body === 'string' ? JSON.parse(init.body) : undefined,
      }
      requests.push(request)

      const route = routes[`${method} ${url.pathname}`]
      if (route === undefined) {
        return json(404, {
          status_code: 404,
          detail: `No fake route for ${method} ${url.pathname}`,
        })
      }
      const answer = typeof route === 'function' ? await route(request) : route
      return json(answer.status ?? 200, answer.body ?? null)
    },
  )

  vi.stubGlobal('fetch', fake)
  return { fetch: fake, requests, routes }
}

/** A route that answers like the API with auth on: only to `Bearer key`. */
export function requireKey(key: string, route: FakeRoute): FakeRoute {
  return (request) => {
    const sent = request.headers.get('Authorization')
    if (sent === `Bearer ${key}`) return typeof route === 'function' ? route(request) : route

    const detail = sent
      ? 'invalid or revoked API key'
      : 'missing API key: send `Authorization: Bearer <key>`'
    return { status: 401, body: { status_code: 401, detail } }
  }
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json' },
  })
}
