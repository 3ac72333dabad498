/** The API key as a person gives it, or as an earlier visit left it. */
import { KEY_STORAGE, resetApiState } from '@/api/client'
import { click, fillIn, getByLabel, getByRole } from '@/test/dom'

/** Given a key kept from earlier in this tab, as the next page load finds it. */
export function givenKeptKey(key: string): void {
  sessionStorage.setItem(KEY_STORAGE, key)
  resetApiState()
}

/** Type a key into the key prompt and submit it. */
export async function submitKey(key: string): Promise<void> {
  await fillIn(getByLabel('API key'), key)
  await click(getByRole('button', 'Use this key'))
}
