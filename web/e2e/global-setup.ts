/**
 * Decide once whether the browser tests can run, and against what.
 *
 * They need AIJOBS_URL (a running aijobs, e.g. http://127.0.0.1:8765) and a
 * Chromium; when that aijobs wants API keys, also AIJOBS_API_KEY (made by
 * `aijobs keys create`). Without them they skip and say why; under CI=true
 * they fail instead, since a skipped browser test there would hide a broken
 * setup. The key scenarios run when the API wants keys, the others when it
 * does not.
 */
import { existsSync } from 'node:fs'

import type { TestProject } from 'vitest/node'

import { CHROMIUM_PATH } from './support'

declare module 'vitest' {
  export interface ProvidedContext {
    /** Base URL of the app under test, or null when the tests must skip. */
    appUrl: string | null
    /** Whether that app wants an API key (GET /me answers 401 without one). */
    authEnabled: boolean
    /** AIJOBS_API_KEY, a key that app accepts; null when none is needed. */
    apiKey: string | null
  }
}

const PROBE_TIMEOUT_MS = 5000

export default async function setup(project: TestProject): Promise<void> {
  const authEnabled = await wantsKey()
  const problem = await findProblem(authEnabled)

  if (problem && process.env.CI === 'true') {
    throw new Error(`Browser tests cannot run under CI=true: ${problem}`)
  }
  if (problem) {
    console.warn(`\n[e2e] SKIPPING the browser tests: ${problem}\n`)
  }
  project.provide('appUrl', problem ? null : appUrl())
  project.provide('authEnabled', authEnabled)
  project.provide('apiKey', authEnabled ? apiKey() : null)
}

function appUrl(): string {
  return (process.env.AIJOBS_URL ?? '').replace(/\/+$/, '')
}

function apiKey(): string | null {
  return process.env.AIJOBS_API_KEY || null
}

/** True when the app answers GET /me with 401; false when it cannot be asked. */
async function wantsKey(): Promise<boolean> {
  if (!appUrl()) return false

  try {
    const response = await fetch(`${appUrl()}/me`, {
      signal: AbortSignal.timeout(PROBE_TIMEOUT_MS),
    })
    return response.status === 401
  } catch {
    return false
  }
}

async function findProblem(authEnabled: boolean): Promise<string | null> {
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
  if (authEnabled && !apiKey()) {
    return `${url} wants API keys: set AIJOBS_API_KEY to one made by \`aijobs keys create\`.`
  }
  return null
}
