// The build a micro-benchmark loads (bench/boot.mjs, micro-outbound.mjs, recovery.mjs).
import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

/**
 * The build directory: `option` (`--dist DIR`) or this checkout's dist/. Exits
 * 2 with a message naming `tool` when the build has no `file`.
 */
export function distDir (option, tool, file = 'lib/index.js') {
  const dist = option ? resolve(option) : fileURLToPath(new URL('../../dist', import.meta.url))
  if (!existsSync(join(dist, file))) {
    console.error(`${tool}: ${join(dist, file)} is missing (run npm run build:ts)`)
    process.exit(2)
  }
  return dist
}

/** Import `file` (default lib/index.js) of the build in `dist`. */
export function importDist (dist, file = 'lib/index.js') {
  return import(pathToFileURL(join(dist, file)).href)
}
