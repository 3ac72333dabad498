import { defineConfig } from 'vitest/config'

// Browser tests: headless Chromium (driven by playwright-core) against a
// running aijobs at AIJOBS_URL. One file at a time: they share one server.
export default defineConfig({
  test: {
    environment: 'node',
    include: ['e2e/**/*.e2e.ts'],
    globalSetup: ['e2e/global-setup.ts'],
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
})
