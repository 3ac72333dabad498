/**
 * The key prompt, against an aijobs that wants API keys (AIJOBS_API_KEY is
 * a user key it accepts), and the notice against one that does not. Each
 * test has a Chromium of its own, so nothing kept in the tab carries over.
 */
import type { Page } from 'playwright-core'
import { beforeAll, describe, expect, inject, it } from 'vitest'

import type { Job, Me } from '../src/api/types'
import { createJob, getMe, inChromium, screenshot, shortId } from './support'

/** Where the dashboard keeps the key, as src/api/client.ts names it. */
const KEY_STORAGE = 'aijobs.apiKey'

const appUrl = inject('appUrl')
const authEnabled = inject('authEnabled')

const prompt = (page: Page) => page.getByRole('heading', { name: 'API key needed' })

describe.skipIf(!appUrl || !authEnabled)('the dashboard with auth on', () => {
  const url = appUrl ?? ''
  const key = inject('apiKey') ?? ''
  let me: Me
  let job: Job

  beforeAll(async () => {
    me = await getMe(url, key)
    job = await createJob(url, { kind: 'simulate', input_text: 'e2e: mine', params: {} }, key)
  })

  const jobLink = (page: Page) =>
    page.getByRole('link', { name: new RegExp(`^Job ${shortId(job.id)}`) })

  async function giveKey(page: Page, text: string): Promise<void> {
    await page.getByLabel('API key', { exact: true }).fill(text)
    await page.getByRole('button', { name: 'Use this key' }).click()
  }

  function storedKeys(page: Page): Promise<(string | null)[]> {
    return page.evaluate(
      (name) => [sessionStorage.getItem(name), localStorage.getItem(name)],
      KEY_STORAGE,
    )
  }

  it("asks for a key, refuses a wrong one with the API's message and shows the jobs for the right one", () =>
    inChromium(url, async (page) => {
      await page.goto('/ui/')

      await prompt(page).waitFor()
      await page.getByText('missing API key').waitFor()
      await page.getByText('aijobs keys create').waitFor()
      await screenshot(page, 'key-prompt')

      await giveKey(page, 'aij_not-a-key-of-this-api')
      await page.getByRole('alert').filter({ hasText: 'invalid or revoked API key' }).waitFor()
      await screenshot(page, 'key-refused')

      await giveKey(page, key)
      await jobLink(page).waitFor()
      const header = page.getByRole('banner')
      await header.getByText(me.name, { exact: true }).waitFor()
      expect(await header.textContent()).toContain(me.role)
      await page.getByText('Statistics need an admin key.').waitFor()
      expect(page.url()).not.toContain(key)
      expect(await storedKeys(page)).toEqual([key, null])
      await screenshot(page, 'signed-in')
    }))

  it('keeps the key across a reload and forgets it on request', () =>
    inChromium(url, async (page) => {
      await page.goto('/ui/')
      await giveKey(page, key)
      await jobLink(page).waitFor()

      await page.reload()
      await jobLink(page).waitFor()
      expect(await prompt(page).count()).toBe(0)

      await page.getByRole('banner').getByRole('button', { name: 'Forget key' }).click()
      await prompt(page).waitFor()
      expect(await storedKeys(page)).toEqual([null, null])
    }))
})

describe.skipIf(!appUrl || authEnabled)('the dashboard with auth off', () => {
  it('says that authentication is off and asks for no key', () =>
    inChromium(appUrl ?? '', async (page) => {
      await page.goto('/ui/')

      await page.getByText('Authentication is off.').waitFor()
      await page.getByRole('banner').getByText('local', { exact: true }).waitFor()
      expect(await prompt(page).count()).toBe(0)
      expect(await page.getByRole('button', { name: 'Forget key' }).count()).toBe(0)
      await screenshot(page, 'auth-off')
    }))
})
