import { ref, watch } from 'vue'

/** Choices offered in the page for how often to poll the API, in ms. */
export const POLL_CHOICES_MS = [1000, 3000, 10_000, 30_000] as const

const STORAGE_KEY = 'aijobs.pollMs'
const FALLBACK_POLL_MS = 3000

/** VITE_POLL_MS at build time, or 3000. */
export const DEFAULT_POLL_MS = positiveNumber(import.meta.env.VITE_POLL_MS) ?? FALLBACK_POLL_MS

/** How often pages poll; chosen in the page and kept in localStorage. */
export const pollMs = ref(storedPollMs() ?? DEFAULT_POLL_MS)

watch(pollMs, (value) => {
  try {
    localStorage.setItem(STORAGE_KEY, String(value))
  } catch {
    // Storage can be full or forbidden (private mode); the choice then lasts
    // until the page is reloaded, which is good enough.
  }
})

function storedPollMs(): number | null {
  try {
    return positiveNumber(localStorage.getItem(STORAGE_KEY))
  } catch {
    return null
  }
}

function positiveNumber(text: string | null | undefined): number | null {
  const value = Number(text)
  return text && Number.isFinite(value) && value > 0 ? value : null
}
