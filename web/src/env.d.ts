/// <reference types="vite/client" />

interface ImportMetaEnv {
  /** Milliseconds between two polls of the API (default 3000). */
  readonly VITE_POLL_MS?: string
  /** Prefix of the API paths; empty when the API serves this app. */
  readonly VITE_API_BASE?: string
}

interface ImportMeta {
  readonly env: ImportMetaEnv
}
