import { shallowRef, watch } from 'vue'

import { api, apiReachable, hasApiKey } from '@/api/client'
import type { Me } from '@/api/types'

/**
 * Who the API takes the dashboard for (GET /me), for the header.
 *
 * Asked at start, again whenever the key changes (given, refused or
 * forgotten) and when the API answers again after an outage. Without a key
 * the question waits behind the key prompt, as every call does; `caller`
 * is null until it is answered.
 */
export function useCaller() {
  const caller = shallowRef<Me | null>(null)
  let asked = 0

  async function load(): Promise<void> {
    const question = ++asked
    caller.value = null
    try {
      const answer = await api.me()
      if (question === asked) caller.value = answer
    } catch {
      // The banner or the page says what went wrong; the watcher asks again.
    }
  }

  watch(hasApiKey, () => void load())
  watch(apiReachable, (reachable) => {
    if (reachable && caller.value === null) void load()
  })

  void load()
  return { caller }
}
