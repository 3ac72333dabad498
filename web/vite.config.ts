import { fileURLToPath, URL } from 'node:url'

import vue from '@vitejs/plugin-vue'
import { defineConfig } from 'vite'

// The API serves this build under /ui/; in development Vite forwards the API
// paths to a local `aijobs dev` so the browser sees one origin either way.
const apiTarget = process.env.AIJOBS_API_URL ?? 'http://127.0.0.1:8000'
const apiPaths = ['/jobs', '/admin', '/health', '/me', '/schema']

export default defineConfig({
  base: '/ui/',
  plugins: [vue()],
  resolve: {
    alias: { '@': fileURLToPath(new URL('./src', import.meta.url)) },
  },
  server: {
    port: 5173,
    strictPort: true,
    proxy: Object.fromEntries(apiPaths.map((path) => [path, { target: apiTarget }])),
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
  },
})
