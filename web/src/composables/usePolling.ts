import {
  getCurrentScope,
  onScopeDispose,
  readonly,
  ref,
  shallowRef,
  toValue,
  watch,
  type MaybeRefOrGetter,
} from 'vue'

import { ApiError, toApiError } from '@/api/errors'
import { DEFAULT_POLL_MS } from '@/settings'

export interface PollingOptions {
  /** Start polling at once (default true); otherwise call `start()`. */
  immediate?: boolean
}

/**
 * Call `fn` now and again `intervalMs` after each answer.
 *
 * The next call is scheduled only when the previous one has finished, so
 * calls never overlap however slow the API is. Polling pauses while the tab
 * is hidden and resumes with a call as soon as it is visible again, and it
 * stops when the calling component unmounts. Each answer replaces `data`;
 * after a failure `data` keeps the last good answer and `error` says why.
 */
export function usePolling<T>(
  fn: () => Promise<T>,
  intervalMs: MaybeRefOrGetter<number> = DEFAULT_POLL_MS,
  options: PollingOptions = {},
) {
  const data = shallowRef<T | null>(null)
  const error = shallowRef<ApiError | null>(null)
  const loading = ref(false)
  const active = ref(false)
  let timer: ReturnType<typeof setTimeout> | undefined
  let stale = false

  function isHidden(): boolean {
    return typeof document !== 'undefined' && document.hidden
  }

  function clearTimer(): void {
    if (timer !== undefined) clearTimeout(timer)
    timer = undefined
  }

  function schedule(): void {
    clearTimer()
    if (!active.value || isHidden()) return

    timer = setTimeout(() => void poll(), Math.max(0, toValue(intervalMs)))
  }

  async function poll(): Promise<void> {
    clearTimer()
    if (loading.value) {
      // Whatever is in flight answers an older question: ask again after it.
      stale = true
      return
    }
    if (isHidden()) return

    loading.value = true
    try {
      const answer = await fn()
      if (!stale) {
        data.value = answer
        error.value = null
      }
    } catch (caught) {
      if (!stale) error.value = toApiError(caught)
    } finally {
      loading.value = false
    }

    if (stale) {
      stale = false
      return poll()
    }
    schedule()
  }

  function start(): void {
    if (active.value) return

    active.value = true
    void poll()
  }

  function stop(): void {
    active.value = false
    clearTimer()
  }

  /** Call now (or right after the call in flight) and keep the rhythm. */
  function refresh(): Promise<void> {
    return poll()
  }

  function onVisibilityChange(): void {
    if (isHidden()) clearTimer()
    else if (active.value && !loading.value) void poll()
  }

  if (typeof document !== 'undefined') {
    document.addEventListener('visibilitychange', onVisibilityChange)
  }

  watch(
    () => toValue(intervalMs),
    () => {
      if (active.value && !loading.value) schedule()
    },
  )

  if (getCurrentScope()) {
    onScopeDispose(() => {
      stop()
      if (typeof document !== 'undefined') {
        document.removeEventListener('visibilitychange', onVisibilityChange)
      }
    })
  }

  if (options.immediate !== false) start()

  return { data, error, loading: readonly(loading), active: readonly(active), start, stop, refresh }
}
