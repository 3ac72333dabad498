import { randomUUID } from 'node:crypto'

import type { Browser, Page } from 'playwright-core'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest'

import {
  JOB_TIMEOUT_MS,
  createJob,
  getJob,
  launchChromium,
  openPage,
  screenshot,
  shortId,
  waitForBadge,
  waitForJob,
} from './support'

// These make jobs without a key; the key scenarios are in api-key.e2e.ts.
const appUrl = inject('authEnabled') ? null : inject('appUrl')

describe.skipIf(!appUrl)('a job in the dashboard', () => {
  const url = appUrl ?? ''
  let browser: Browser
  let page: Page

  beforeAll(async () => {
    browser = await launchChromium()
  })

  afterAll(async () => {
    await browser?.close()
  })

  beforeEach(async () => {
    page = await openPage(browser, url)
  })

  afterEach(async () => {
    await page?.context().close()
  })

  it('is submitted from the form and reaches completed without a reload', async () => {
    await page.goto('/ui/new')
    await page.evaluate(() => {
      ;(window as Window & { loadedOnce?: boolean }).loadedOnce = true
    })

    await page.getByLabel('Kind').selectOption('simulate')
    await page.getByLabel('Text', { exact: true }).fill('e2e: submit and watch it run')
    await page.getByLabel('Steps').fill('4')
    await page.getByLabel('Step length (s)').fill('0.3')
    await screenshot(page, 'form')
    await page.getByRole('button', { name: 'Submit job' }).click()

    await page.waitForURL(/\/ui\/jobs\/[^/?]+/)
    await waitForBadge(page, 'completed')

    const progress = page.getByRole('progressbar', { name: 'Progress' })
    expect(await progress.getAttribute('aria-valuenow')).toBe('100')
    expect(await page.getByRole('region', { name: 'Result' }).textContent()).toContain('"steps": 4')
    const stillSameDocument = await page.evaluate(
      () => (window as Window & { loadedOnce?: boolean }).loadedOnce === true,
    )
    expect(stillSameDocument).toBe(true)
    await screenshot(page, 'detail')
  })

  it('shows a field error from the API beside the field', async () => {
    await page.goto('/ui/new')

    await page.getByLabel('Kind').selectOption('simulate')
    await page.getByLabel('Failure rate (0 to 1)').fill('7')
    await page.getByRole('button', { name: 'Submit job' }).click()

    const rate = page.getByLabel('Failure rate (0 to 1)')
    await page.locator('#job-fail-rate-error').waitFor()
    expect(await rate.getAttribute('aria-invalid')).toBe('true')
    expect(await rate.getAttribute('aria-describedby')).toContain('job-fail-rate-error')
    await screenshot(page, 'form-error')
  })

  it('is canceled while it runs', async () => {
    const job = await createJob(url, {
      kind: 'simulate',
      input_text: 'e2e: cancel me',
      params: { steps: 200, step_s: 0.5 },
    })
    await waitForJob(url, job.id, (seen) => seen.status === 'processing')

    await page.goto(`/ui/jobs/${job.id}`)
    await waitForBadge(page, 'processing')
    await page.getByRole('button', { name: 'Cancel job' }).click()

    await page.getByRole('status').filter({ hasText: 'Cancellation requested' }).waitFor()
    await waitForBadge(page, 'canceled')
    expect(await page.getByRole('button', { name: 'Cancel job' }).count()).toBe(0)
    expect(await page.getByRole('button', { name: 'Retry job' }).count()).toBe(1)
  })

  it('is retried after it failed', async () => {
    const job = await createJob(url, {
      kind: 'simulate',
      input_text: 'e2e: fail me',
      params: { steps: 1, step_s: 0.1, fail_rate: 1, fail_kind: 'permanent' },
    })

    await page.goto(`/ui/jobs/${job.id}`)
    await waitForBadge(page, 'failed')
    await page.getByRole('region', { name: 'Error' }).waitFor()
    await page.getByRole('button', { name: 'Retry job' }).click()

    await page.getByRole('status').filter({ hasText: 'Retry requested' }).waitFor()
    const again = await waitForJob(
      url,
      job.id,
      (seen) => seen.status === 'failed' && seen.attempts >= 2,
    )
    expect(again.attempts).toBeGreaterThanOrEqual(2)
    await waitForBadge(page, 'failed')
    await page.getByRole('button', { name: 'Retry job' }).waitFor({ timeout: JOB_TIMEOUT_MS })
  })

  it('opens by its URL', async () => {
    const job = await createJob(url, {
      kind: 'simulate',
      input_text: 'e2e: open me by URL',
      params: { steps: 0 },
    })
    await waitForJob(url, job.id, (seen) => seen.status === 'completed')

    await page.goto(`/ui/jobs/${job.id}`)

    await page.getByRole('heading', { name: `Job ${shortId(job.id)}` }).waitFor()
    await waitForBadge(page, 'completed')
    expect(await page.getByText(job.id, { exact: true }).count()).toBe(1)
    expect((await getJob(url, job.id)).status).toBe('completed')
  })

  it('says so when no job has that id', async () => {
    await page.goto(`/ui/jobs/${randomUUID()}`)

    await page.getByRole('alert').filter({ hasText: 'There is no job with id' }).waitFor()
  })
})
