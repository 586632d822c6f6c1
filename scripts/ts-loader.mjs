// tap's TypeScript loader (.taprc `node-arg: --import=./scripts/ts-loader.mjs`).
// Transpile only, with esbuild (the one tsx runs on); types are checked by
// `npm run typecheck`. It replaces tap's @tapjs/typescript plugin (ts-node and
// the TypeScript compiler loaded into every test process: seconds of start-up
// per file). Not tsx itself: its transform adds __name() helpers (keepNames)
// to functions, which breaks the ones Playwright serializes into the browser
// (page.evaluate), and its source maps carry `sourcesContent: [null]`, which
// the coverage report takes for an empty source. Here the maps are inline
// without sourcesContent, so coverage is mapped to the .ts files on disk.
//
// The transforms are kept in node_modules/.cache/ts-loader, keyed by a hash of
// the file's path and contents, esbuild's version and the options: every test
// process (a dozen per `npm test`, and their servers) loads the same lib/ and
// helpers, and all but the first then read them instead of starting esbuild.
import { createHash } from 'node:crypto'
import { mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { readFile, rename, writeFile } from 'node:fs/promises'
import { createRequire, register } from 'node:module'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { isMainThread, threadId } from 'node:worker_threads'

const cacheDir = fileURLToPath(new URL('../node_modules/.cache/ts-loader/', import.meta.url))
/** More entries than this (months of edits) and the cache is emptied, to be filled again. */
const MAX_ENTRIES = 10_000

if (isMainThread) {
  try {
    if (readdirSync(cacheDir).length > MAX_ENTRIES) rmSync(cacheDir, { recursive: true, force: true })
  } catch {}
  mkdirSync(cacheDir, { recursive: true })
  register(import.meta.url)
}

const TS = /\.(m?ts|tsx)$/
const require = createRequire(createRequire(import.meta.url).resolve('tsx/package.json'))
let esbuild
const { compilerOptions } = JSON.parse(readFileSync(new URL('../tsconfig.json', import.meta.url), 'utf8'))
const target = `node${process.versions.node}`
/** What a transform depends on besides the file: esbuild's version and the options. */
const salt = JSON.stringify([require('esbuild/package.json').version, target, compilerOptions])

// Two dual packages resolve to their CommonJS builds: TypeBox and tap. Their ESM builds are a
// file per module (~200 for TypeBox, ~150 for tap and its own packages), and on Node 20 each
// module a loader sees is a round trip to the loader's thread; a CommonJS build loads its own
// files with require(), which no loader sees. The same code (each package builds both from one
// source): ~0.4 s less CPU per test process for TypeBox, ~0.3 s for tap. Every import of them
// in the process resolves here, so the process has one of each (TypeBox's registries and tap's
// root test are module state); test/test-files.test.ts checks it. Processes without this
// loader (servers started from dist/, user projects) load their ESM builds.
const commonJS = new Map(['@sinclair/typebox', 'tap'].map((name) => [name, pathToFileURL(createRequire(import.meta.url).resolve(name)).href]))

/** Relative imports name the emitted file (`./x.js`); when it is missing, load `./x.ts`. */
export async function resolve (specifier, context, nextResolve) {
  const cjs = commonJS.get(specifier)
  if (cjs !== undefined) return { url: cjs, format: 'commonjs', shortCircuit: true }
  try {
    return await nextResolve(specifier, context)
  } catch (err) {
    const m = /^(\.{1,2}\/.*)\.([cm]?)js(x?)$/.exec(specifier)
    if (err?.code !== 'ERR_MODULE_NOT_FOUND' || m === null) throw err
    return await nextResolve(`${m[1]}.${m[2]}ts${m[3]}`, context)
  }
}

export async function load (url, context, nextLoad) {
  if (!url.startsWith('file:')) return nextLoad(url, context)
  const path = fileURLToPath(url.replace(/[?#].*$/, ''))
  const ext = TS.exec(path)
  if (ext === null || path.includes('/node_modules/') || path.endsWith('.d.ts')) return nextLoad(url, context)
  const source = await readFile(path, 'utf8')
  const cached = join(cacheDir, createHash('sha256').update(`${salt}\0${path}\0`).update(source).digest('hex').slice(0, 40) + '.js')
  try {
    return { format: 'module', source: await readFile(cached, 'utf8'), shortCircuit: true }
  } catch {}
  esbuild ??= require('esbuild')
  const { code } = await esbuild.transform(source, {
    loader: ext[1] === 'tsx' ? 'tsx' : 'ts',
    format: 'esm',
    target,
    sourcefile: path,
    sourcemap: 'inline',
    sourcesContent: false,
    tsconfigRaw: { compilerOptions }
  })
  // Written whole under another name, then renamed: a process reading it never sees half a file.
  const partial = `${cached}.${process.pid}-${threadId}`
  await writeFile(partial, code).then(() => rename(partial, cached)).catch(() => {})
  return { format: 'module', source: code, shortCircuit: true }
}
