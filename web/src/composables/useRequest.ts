import { readonly, ref, shallowRef } from 'vue'

import { ApiError, toApiError } from '@/api/errors'

/**
 * Run a user's action against the API, one at a time.
 *
 * `pending` is true while it runs (a second `run` meanwhile is ignored) and
 * `error` holds the ApiError of the last failure. `run` resolves to the
 * action's answer, or to undefined when it failed.
 */
export function useRequest<Args extends unknown[], T>(action: (...args: Args) => Promise<T>) {
  const pending = ref(false)
  const error = shallowRef<ApiError | null>(null)

  async function run(...args: Args): Promise<T | undefined> {
    if (pending.value) return undefined

    pending.value = true
    error.value = null
    try {
      return await action(...args)
    } catch (caught) {
      error.value = toApiError(caught)
      return undefined
    } finally {
      pending.value = false
    }
  }

  function clearError(): void {
    error.value = null
  }

  return { pending: readonly(pending), error, run, clearError }
}
