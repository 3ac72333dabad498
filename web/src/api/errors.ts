import type { ApiErrorBody, JsonValue } from '@/api/types'

/** `status` of an ApiError raised when no answer came back at all. */
export const UNREACHABLE = 0

const FIELD_PREFIX = /^([A-Za-z_][\w-]*(?:\.[\w-]+|\[\d+\])*): ([\s\S]+)$/
const MSGSPEC_PATH = /\s*-\s*at `\$\.?([^`]*)`\s*$/

/**
 * Every failed call to the API, whatever went wrong.
 *
 * `status` is the HTTP status, or UNREACHABLE when the network, a proxy
 * timeout or an aborted request left us without an answer. `fieldErrors`
 * maps a field path such as `params.steps` to its message, so a form can
 * show each one beside its control; `message` is the text for everything
 * else.
 */
export class ApiError extends Error {
  readonly status: number
  readonly detail: string
  readonly fieldErrors: Readonly<Record<string, string>>

  constructor(status: number, detail: string, fieldErrors: Record<string, string> = {}) {
    super(detail)
    this.name = 'ApiError'
    this.status = status
    this.detail = detail
    this.fieldErrors = fieldErrors
  }

  /** True when the API did not answer, or answered that it is broken. */
  get unreachable(): boolean {
    return this.status === UNREACHABLE || this.status >= 500
  }
}

/** Build the ApiError for a response the API sent with a non-2xx status. */
export function errorFromResponse(status: number, body: unknown): ApiError {
  if (!isErrorBody(body)) {
    return new ApiError(status, `The API answered ${status}.`)
  }

  return new ApiError(status, body.detail, fieldErrorsOf(body))
}

/** Turn anything a request threw into an ApiError. */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error

  const reason = error instanceof Error ? error.message : String(error)
  return new ApiError(UNREACHABLE, `Cannot reach the aijobs API (${reason}).`)
}

/**
 * Find the fields an error names.
 *
 * Three spellings are understood: a detail that starts with the field path
 * (`params.steps: Expected int, got str`, the aijobs contract), Litestar's
 * default `extra: [{"key": ..., "message": ...}]`, and msgspec's trailing
 * "- at `$.params.steps`".
 */
function fieldErrorsOf(body: ApiErrorBody): Record<string, string> {
  const errors: Record<string, string> = {}

  const prefixed = FIELD_PREFIX.exec(body.detail)
  if (prefixed?.[1] && prefixed[2]) {
    errors[prefixed[1]] = prefixed[2]
  }

  if (Array.isArray(body.extra)) {
    for (const item of body.extra) {
      const entry = keyedMessage(item)
      if (entry && !(entry.key in errors)) errors[entry.key] = entry.message
    }
  }

  const trailing = MSGSPEC_PATH.exec(body.detail)
  if (trailing?.[1] && !(trailing[1] in errors)) {
    errors[trailing[1]] = body.detail.replace(MSGSPEC_PATH, '')
  }

  return errors
}

function keyedMessage(item: JsonValue): { key: string; message: string } | null {
  if (item === null || typeof item !== 'object' || Array.isArray(item)) return null

  const { key, message } = item
  if (typeof key !== 'string' || typeof message !== 'string' || key === '') return null
  return { key, message }
}

function isErrorBody(body: unknown): body is ApiErrorBody {
  return (
    typeof body === 'object' &&
    body !== null &&
    'detail' in body &&
    typeof (body as { detail: unknown }).detail === 'string'
  )
}
