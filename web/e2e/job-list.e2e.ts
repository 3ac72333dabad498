import type { Browser, Page } from 'playwright-core'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest'

import type { JobStatus } from '../src/api/types'
import {
  JOB_TIMEOUT_MS,
  createJob,
  isApiUrl,
  launchChromium,
  openPage,
  screenshot,
  shortId,
  waitForJob,
} from './support'

// These make jobs without a key; the key scenarios are in api-key.e2e.ts.
const appUrl = inject('authEnabled') ? null : inject('appUrl')

describe.skipIf(!appUrl)('the job list', () => {
  const url = appUrl ?? ''
  let browser: Browser
  let page: Page
  const finished: Record<'completed' | 'failed', string> = { completed: '', failed: '' }

  beforeAll(async () => {
    browser = await launchChromium()

    const [completed, failed] = await Promise.all([
      createJob(url, {
        kind: 'simulate',
        input_text: 'e2e: list, completes',
        params: { steps: 2, step_s: 0.1 },
      }),
      createJob(url, {
        kind: 'simulate',
        input_text: 'e2e: list, fails',
        params: { steps: 1, step_s: 0.1, fail_rate: 1, fail_kind: 'permanent' },
      }),
    ])
    finished.completed = (
      await waitForJob(url, completed!.id, (job) => job.status === 'completed')
    ).id
    finished.failed = (await waitForJob(url, failed!.id, (job) => job.status === 'failed')).id
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

  async function badgesInRows(): Promise<string[]> {
    const badges = page.getByRole('row').getByTestId('status-badge')
    return (await badges.allTextContents()).map((text) => text.replace(/[^a-z]/g, ''))
  }

  it('shows jobs newest first with status, progress and stats', async () => {
    await page.goto('/ui/')

    await page.getByRole('link', { name: new RegExp(`^Job ${shortId(finished.failed)}`) }).waitFor()
    expect(await page.getByRole('progressbar').count()).toBeGreaterThan(0)
    await page.getByRole('region', { name: 'Queue statistics' }).getByText('Workers').waitFor()
    expect(await page.getByText(/\d+–\d+ of \d+/).count()).toBe(1)
    await screenshot(page, 'list')
  })

  it('filters by status and keeps the filter in the URL', async () => {
    await page.goto('/ui/')

    await page.getByLabel('Status').selectOption('failed')

    await page.waitForURL(/[?&]status=failed/)
    await page.getByRole('link', { name: new RegExp(`^Job ${shortId(finished.failed)}`) }).waitFor()
    await expectEventually(async () => {
      const statuses = await badgesInRows()
      return (
        statuses.length > 0 &&
        statuses.every((status: string) => status === ('failed' satisfies JobStatus))
      )
    })
    expect(
      await page
        .getByRole('link', { name: new RegExp(`^Job ${shortId(finished.completed)}`) })
        .count(),
    ).toBe(0)

    await page.reload()
    expect(await page.getByLabel('Status').inputValue()).toBe('failed')
  })

  it('opens a job from its row', async () => {
    await page.goto('/ui/?status=completed')

    await page
      .getByRole('link', { name: new RegExp(`^Job ${shortId(finished.completed)}`) })
      .click()

    await page.waitForURL(new RegExp(`/ui/jobs/${finished.completed}$`))
    await page.getByRole('heading', { name: `Job ${shortId(finished.completed)}` }).waitFor()
  })

  it('becomes cards on a 375 px wide screen without sideways scrolling', async () => {
    const phone = await openPage(browser, url, { width: 375, height: 800 })
    try {
      await phone.goto('/ui/')
      await phone.getByRole('row').nth(1).waitFor()

      const overflow = await phone.evaluate(
        () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
      )
      expect(overflow).toBeLessThanOrEqual(0)
      await screenshot(phone, 'list-375px')

      await phone.goto('/ui/new')
      await phone.getByRole('button', { name: 'Submit job' }).waitFor()
      await screenshot(phone, 'form-375px')
    } finally {
      await phone.context().close()
    }
  })

  it('shows the API-down banner while the API is unreachable, and drops it when it is back', async () => {
    await page.goto('/ui/')
    await page.getByRole('row').nth(1).waitFor()

    const abort = (route: { abort: () => Promise<void> }) => route.abort()
    await page.route(isApiUrl, abort)
    const banner = page.getByRole('alert').filter({ hasText: 'Cannot reach the aijobs API' })
    await banner.waitFor({ timeout: JOB_TIMEOUT_MS })
    await screenshot(page, 'api-down')

    await page.unroute(isApiUrl, abort)
    await banner.waitFor({ state: 'detached', timeout: JOB_TIMEOUT_MS })
  })

  it('can be driven from the keyboard, starting with a skip link', async () => {
    await page.goto('/ui/')

    await page.keyboard.press('Tab')
    const first = await page.evaluate(() => document.activeElement?.textContent?.trim())
    expect(first).toBe('Skip to content')

    await page.getByLabel('Status').focus()
    await page.keyboard.press('Tab')
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('filter-kind')
  })
})

async function expectEventually(check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + JOB_TIMEOUT_MS
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition never held')
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}
