#!/usr/bin/env node
// Print the gzipped size of every JavaScript file of the production build
// and fail when their sum passes the budget. Run `npm run build` first.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'

/** Budget for all of dist/assets/*.js together, gzipped, in bytes. */
const BUDGET_BYTES = 120 * 1000

const assets = fileURLToPath(new URL('../dist/assets/', import.meta.url))

let files
try {
  files = readdirSync(assets)
    .filter((name) => name.endsWith('.js'))
    .sort()
} catch {
  console.error(`size: no build found at ${assets}; run \`npm run build\` first.`)
  process.exit(1)
}
if (files.length === 0) {
  console.error(`size: ${assets} holds no .js file; run \`npm run build\` first.`)
  process.exit(1)
}

const kB = (bytes) => `${(bytes / 1000).toFixed(1)} kB`
let total = 0
for (const name of files) {
  const gzipped = gzipSync(readFileSync(join(assets, name)), { level: 9 }).length
  total += gzipped
  console.log(`${kB(gzipped).padStart(10)}  ${name}`)
}

const verdict = total <= BUDGET_BYTES ? 'within' : 'OVER'
console.log(
  `${kB(total).padStart(10)}  total gzipped JavaScript, ${verdict} the ${kB(BUDGET_BYTES)} budget`,
)
process.exit(total <= BUDGET_BYTES ? 0 : 1)
