/**
 * Decide once whether the browser tests can run.
 *
 * They need AIJOBS_URL (a running aijobs, e.g. http://127.0.0.1:8765) and a
 * Chromium. Without either they skip and say why; under CI=true they fail
 * instead, since a skipped browser test there would hide a broken setup.
 */
import { existsSync } from 'node:fs'

import type { TestProject } from 'vitest/node'

import { CHROMIUM_PATH } from './support'

declare module 'vitest' {
  export interface ProvidedContext {
    /** Base URL of the app under test, or null when the tests must skip. */
    appUrl: string | null
  }
}

const PROBE_TIMEOUT_MS = 5000

export default async function setup(project: TestProject): Promise<void> {
  const problem = await findProblem()

  if (problem && process.env.CI === 'true') {
    throw new Error(`Browser tests cannot run under CI=true: ${problem}`)
  }
  if (problem) {
    console.warn(`\n[e2e] SKIPPING the browser tests: ${problem}\n`)
  }
  project.provide('appUrl', problem ? null : appUrl())
}

function appUrl(): string {
  return (process.env.AIJOBS_URL ?? '').replace(/\/+$/, '')
}

async function findProblem(): Promise<string | null> {
  const url = appUrl()
  if (!url) {
    return 'AIJOBS_URL is not set (point it at a running aijobs, e.g. http://127.0.0.1:8765).'
  }
  if (!existsSync(CHROMIUM_PATH)) {
    return `no Chromium at ${CHROMIUM_PATH} (apt-get install -y chromium, or set CHROMIUM_PATH).`
  }

  for (const path of ['/health', '/ui/']) {
    try {
      const response = await fetch(url + path, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) })
      if (!response.ok) return `${url}${path} answered ${response.status}.`
    } catch (error) {
      return `cannot reach ${url}${path} (${error instanceof Error ? error.message : String(error)}).`
    }
  }
  return null
}
