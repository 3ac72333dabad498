import { defineConfig, mergeConfig } from 'vitest/config'

import viteConfig from './vite.config'

// Component and composable tests: a fake DOM, a fake fetch, no server.
export default mergeConfig(
  viteConfig,
  defineConfig({
    test: {
      environment: 'happy-dom',
      include: ['src/**/*.spec.ts'],
      restoreMocks: true,
      unstubGlobals: true,
    },
  }),
)
