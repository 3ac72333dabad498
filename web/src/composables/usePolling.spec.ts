import { flushPromises } from '@vue/test-utils'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { effectScope, ref } from 'vue'

import { ApiError } from '@/api/errors'
import { usePolling } from '@/composables/usePolling'

const INTERVAL = 1000

let hidden = false

function setHidden(value: boolean): void {
  hidden = value
  document.dispatchEvent(new Event('visibilitychange'))
}

/** Run the composable inside a scope we can stop, as an unmount would. */
function poll<T>(fn: () => Promise<T>, interval: number | (() => number) = INTERVAL) {
  const scope = effectScope()
  const polling = scope.run(() => usePolling(fn, interval))
  if (!polling) throw new Error('scope did not run')
  return { ...polling, scope }
}

/** A call that answers only when the test says so. */
function deferred<T>() {
  let resolve: (value: T) => void = () => undefined
  const promise = new Promise<T>((done) => (resolve = done))
  return { promise, resolve }
}

describe('usePolling', () => {
  beforeEach(() => {
    vi.useFakeTimers()
    hidden = false
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => hidden })
  })

  afterEach(() => {
    vi.useRealTimers()
    Reflect.deleteProperty(document, 'hidden')
  })

  it('calls at once, then once per interval after each answer', async () => {
    const fn = vi.fn(async () => 'ok')
    const { scope } = poll(fn)

    await flushPromises()
    expect(fn).toHaveBeenCalledTimes(1)

    await vi.advanceTimersByTimeAsync(INTERVAL - 1)
    expect(fn).toHaveBeenCalledTimes(1)

    await vi.advanceTimersByTimeAsync(1)
    expect(fn).toHaveBeenCalledTimes(2)

    scope.stop()
  })

  it('waits 3000 ms between calls unless told otherwise', async () => {
    const fn = vi.fn(async () => 'ok')
    const scope = effectScope()
    scope.run(() => usePolling(fn))
    await flushPromises()

    await vi.advanceTimersByTimeAsync(2999)
    expect(fn).toHaveBeenCalledTimes(1)
    await vi.advanceTimersByTimeAsync(1)
    expect(fn).toHaveBeenCalledTimes(2)

    scope.stop()
  })

  it('never starts a call while the previous one is in flight', async () => {
    const answers = [deferred<string>(), deferred<string>()]
    let calls = 0
    const fn = vi.fn(() => (answers[calls++] as ReturnType<typeof deferred<string>>).promise)
    const { scope, loading } = poll(fn)

    await vi.advanceTimersByTimeAsync(INTERVAL * 10)
    expect(fn).toHaveBeenCalledTimes(1)
    expect(loading.value).toBe(true)

    answers[0]?.resolve('first')
    await flushPromises()
    await vi.advanceTimersByTimeAsync(INTERVAL - 1)
    expect(fn).toHaveBeenCalledTimes(1)

    await vi.advanceTimersByTimeAsync(1)
    expect(fn).toHaveBeenCalledTimes(2)

    scope.stop()
  })

  it('schedules with setTimeout after each answer, never with setInterval', async () => {
    const setIntervalSpy = vi.spyOn(globalThis, 'setInterval')
    const { scope } = poll(async () => 'ok')

    await vi.advanceTimersByTimeAsync(INTERVAL * 5)

    expect(setIntervalSpy).not.toHaveBeenCalled()
    scope.stop()
  })

  it('pauses while the page is hidden and calls again as it comes back', async () => {
    const fn = vi.fn(async () => 'ok')
    const { scope } = poll(fn)
    await flushPromises()

    setHidden(true)
    await vi.advanceTimersByTimeAsync(INTERVAL * 10)
    expect(fn).toHaveBeenCalledTimes(1)

    setHidden(false)
    await flushPromises()
    expect(fn).toHaveBeenCalledTimes(2)

    scope.stop()
  })

  it('does not call at start while the page is hidden', async () => {
    hidden = true
    const fn = vi.fn(async () => 'ok')
    const { scope } = poll(fn)

    await vi.advanceTimersByTimeAsync(INTERVAL * 3)
    expect(fn).not.toHaveBeenCalled()

    setHidden(false)
    await flushPromises()
    expect(fn).toHaveBeenCalledTimes(1)

    scope.stop()
  })

  it('stops for good when its scope ends, as on unmount', async () => {
    const fn = vi.fn(async () => 'ok')
    const { scope } = poll(fn)
    await flushPromises()

    scope.stop()
    await vi.advanceTimersByTimeAsync(INTERVAL * 10)
    setHidden(true)
    setHidden(false)
    await flushPromises()

    expect(fn).toHaveBeenCalledTimes(1)
    expect(vi.getTimerCount()).toBe(0)
  })

  it('replaces its data with each answer instead of accumulating', async () => {
    let call = 0
    const { data, scope } = poll(async () => [++call])

    await flushPromises()
    expect(data.value).toEqual([1])

    await vi.advanceTimersByTimeAsync(INTERVAL * 3)
    expect(data.value).toEqual([4])

    scope.stop()
  })

  it('keeps the last good data after a failure and clears the error on success', async () => {
    let fail = false
    const { data, error, scope } = poll(async () => {
      if (fail) throw new ApiError(503, 'Service Unavailable')
      return 'good'
    })
    await flushPromises()

    fail = true
    await vi.advanceTimersByTimeAsync(INTERVAL)
    expect(data.value).toBe('good')
    expect(error.value?.status).toBe(503)

    fail = false
    await vi.advanceTimersByTimeAsync(INTERVAL)
    expect(error.value).toBeNull()

    scope.stop()
  })

  it('follows a change of interval', async () => {
    const interval = ref(INTERVAL)
    const fn = vi.fn(async () => 'ok')
    const { scope } = poll(fn, () => interval.value)
    await flushPromises()

    interval.value = INTERVAL * 5
    await flushPromises()
    await vi.advanceTimersByTimeAsync(INTERVAL * 4)
    expect(fn).toHaveBeenCalledTimes(1)

    await vi.advanceTimersByTimeAsync(INTERVAL)
    expect(fn).toHaveBeenCalledTimes(2)

    scope.stop()
  })

  it('discards an answer that a refresh made stale and asks again', async () => {
    const first = deferred<string>()
    let calls = 0
    const { data, refresh, scope } = poll(() => {
      calls += 1
      return calls === 1 ? first.promise : Promise.resolve('fresh')
    })

    void refresh()
    first.resolve('stale')
    await flushPromises()

    expect(calls).toBe(2)
    expect(data.value).toBe('fresh')
    scope.stop()
  })

  it('stops and starts on demand', async () => {
    const fn = vi.fn(async () => 'ok')
    const { scope, stop, start, active } = poll(fn)
    await flushPromises()

    stop()
    await vi.advanceTimersByTimeAsync(INTERVAL * 5)
    expect(fn).toHaveBeenCalledTimes(1)
    expect(active.value).toBe(false)

    start()
    await flushPromises()
    expect(fn).toHaveBeenCalledTimes(2)

    scope.stop()
  })
})
