/** What the browser tests share: Chromium, the API, waiting, screenshots. */
import { mkdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

import { chromium, type Browser, type Page } from 'playwright-core'

import type { Job, JobCreate, Me } from '../src/api/types'

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

/** How often the dashboard polls during these tests, in ms. */
export const TEST_POLL_MS = 500

/** Long enough for a worker to pick a job up on a busy two-core machine. */
export const JOB_TIMEOUT_MS = 30_000

const ARTIFACTS = fileURLToPath(new URL('../test-artifacts/', import.meta.url))

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS })
}

/** A fresh page whose dashboard polls every TEST_POLL_MS. */
export async function openPage(
  browser: Browser,
  appUrl: string,
  viewport = { width: 1280, height: 900 },
): Promise<Page> {
  const context = await browser.newContext({ baseURL: appUrl, viewport })
  await context.addInitScript((pollMs: number) => {
    window.localStorage.setItem('aijobs.pollMs', String(pollMs))
  }, TEST_POLL_MS)
  return context.newPage()
}

/** Run `use` in a fresh page of a Chromium of its own, closed afterwards. */
export async function inChromium<T>(appUrl: string, use: (page: Page) => Promise<T>): Promise<T> {
  const browser = await launchChromium()
  try {
    return await use(await openPage(browser, appUrl))
  } finally {
    await browser.close()
  }
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true })
  await page.screenshot({ path: `${ARTIFACTS}${name}.png`, fullPage: true })
}

/** Create a job through the API itself, as a client program would. */
export async function createJob(
  appUrl: string,
  body: JobCreate,
  apiKey: string | null = null,
): Promise<Job> {
  const response = await fetch(`${appUrl}/jobs`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...bearer(apiKey) },
    body: JSON.stringify(body),
  })
  if (response.status !== 202) {
    throw new Error(`POST /jobs answered ${response.status}: ${await response.text()}`)
  }
  return (await response.json()) as Job
}

export async function getJob(appUrl: string, id: string): Promise<Job> {
  const response = await fetch(`${appUrl}/jobs/${id}`)
  if (!response.ok) throw new Error(`GET /jobs/${id} answered ${response.status}`)
  return (await response.json()) as Job
}

/** Poll the API until the job satisfies `done`; fail after JOB_TIMEOUT_MS. */
export async function waitForJob(
  appUrl: string,
  id: string,
  done: (job: Job) => boolean,
): Promise<Job> {
  const deadline = Date.now() + JOB_TIMEOUT_MS
  let job = await getJob(appUrl, id)
  while (!done(job)) {
    if (Date.now() > deadline) {
      throw new Error(`job ${id} never got there; last seen ${job.status} at ${job.progress}%`)
    }
    await new Promise((resolve) => setTimeout(resolve, 200))
    job = await getJob(appUrl, id)
  }
  return job
}

/** Wait until the page's (only) status badge reads `status`. */
export async function waitForBadge(page: Page, status: string): Promise<void> {
  await page
    .getByTestId('status-badge')
    .filter({ hasText: status })
    .first()
    .waitFor({ timeout: JOB_TIMEOUT_MS })
}

export function shortId(id: string): string {
  return id.slice(-8)
}

/** Who the API takes `apiKey` for. */
export async function getMe(appUrl: string, apiKey: string): Promise<Me> {
  const response = await fetch(`${appUrl}/me`, { headers: bearer(apiKey) })
  if (!response.ok) throw new Error(`GET /me answered ${response.status}`)
  return (await response.json()) as Me
}

function bearer(apiKey: string | null): Record<string, string> {
  return apiKey ? { Authorization: `Bearer ${apiKey}` } : {}
}

/** Matches the API's own paths (not the dashboard's, under /ui/). */
export function isApiUrl(url: URL): boolean {
  return /^\/(jobs|admin|health|me)(\/|$)/.test(url.pathname)
}
