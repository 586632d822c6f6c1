#!/usr/bin/env node
// Issue 12: browser bundle size of the client SDK next to socket.io-client's.
// Minified bytes, and gzip (zlib level 9) and brotli (quality 11) of the same
// bytes, measured the same way for every file.
//
//   node bench/bundle-size.mjs            # dist/client/socketspec-client.min.js (node ui/build.mjs builds it)
//   node bench/bundle-size.mjs --build    # bundle lib/client/browser.ts now, with ui/build.mjs's esbuild options, into a temp dir
//   node bench/bundle-size.mjs --json
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { brotliCompressSync, constants, gzipSync } from 'node:zlib'

const root = fileURLToPath(new URL('..', import.meta.url))
const { values: opts } = parseArgs({ options: { build: { type: 'boolean', default: false }, json: { type: 'boolean', default: false } } })

/** min, gzip and brotli bytes of one file. */
export function sizes (file) {
  const buf = readFileSync(file)
  return {
    min: buf.length,
    gzip: gzipSync(buf, { level: 9 }).length,
    brotli: brotliCompressSync(buf, { params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: buf.length } }).length
  }
}

let tmp = null
let ours = join(root, 'dist/client/socketspec-client.min.js')
if (opts.build) {
  const { build } = await import('esbuild')
  tmp = mkdtempSync(join(tmpdir(), 'socketspec-bundle-'))
  ours = join(tmp, 'socketspec-client.min.js')
  // The options of ui/build.mjs's minified client build.
  await build({
    entryPoints: [join(root, 'lib/client/browser.ts')],
    outfile: ours,
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    legalComments: 'none',
    logLevel: 'warning'
  })
}
if (!existsSync(ours)) {
  console.error(`${ours} is missing: run node ui/build.mjs (or use --build)`)
  process.exit(2)
}
const sio = (f) => join(root, 'node_modules/socket.io-client/dist', f)
const sioVersion = JSON.parse(readFileSync(join(root, 'node_modules/socket.io-client/package.json'), 'utf8')).version
const rows = [
  { what: 'socketspec client (ES module)', file: ours },
  { what: `socket.io-client ${sioVersion} socket.io.min.js (UMD)`, file: sio('socket.io.min.js') },
  { what: `socket.io-client ${sioVersion} socket.io.esm.min.js (ES module)`, file: sio('socket.io.esm.min.js') }
].filter((r) => existsSync(r.file)).map((r) => ({ ...r, ...sizes(r.file) }))
if (tmp !== null) rmSync(tmp, { recursive: true, force: true })

if (opts.json) {
  console.log(JSON.stringify(rows, null, 2))
} else {
  const kb = (n) => `${(n / 1024).toFixed(2)} KB (${n.toLocaleString('en-US')} B)`
  console.log('| bundle | min | min + gzip -9 | min + brotli 11 |')
  console.log('|---|---:|---:|---:|')
  for (const r of rows) console.log(`| ${r.what} | ${kb(r.min)} | ${kb(r.gzip)} | ${kb(r.brotli)} |`)
  const base = rows[0]
  for (const r of rows.slice(1)) console.log(`\n${r.what}: ${(r.gzip / base.gzip).toFixed(1)} × socketspec's min+gzip`)
}
