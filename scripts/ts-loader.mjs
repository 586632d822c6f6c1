// tap's TypeScript loader (.taprc `node-arg: --import=./scripts/ts-loader.mjs`).
// Transpile only, with esbuild (the one tsx runs on); types are checked by
// `npm run typecheck`. It replaces tap's @tapjs/typescript plugin (ts-node and
// the TypeScript compiler loaded into every test process: seconds of start-up
// per file). Not tsx itself: its transform adds __name() helpers (keepNames)
// to functions, which breaks the ones Playwright serializes into the browser
// (page.evaluate), and its source maps carry `sourcesContent: [null]`, which
// the coverage report takes for an empty source. Here the maps are inline
// without sourcesContent, so coverage is mapped to the .ts files on disk.
import { readFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { createRequire, register } from 'node:module'
import { fileURLToPath } from 'node:url'
import { isMainThread } from 'node:worker_threads'

if (isMainThread) {
  register(import.meta.url)
}

const TS = /\.(m?ts|tsx)$/
const require = createRequire(createRequire(import.meta.url).resolve('tsx/package.json'))
let esbuild
const { compilerOptions } = JSON.parse(readFileSync(new URL('../tsconfig.json', import.meta.url), 'utf8'))

/** Relative imports name the emitted file (`./x.js`); when it is missing, load `./x.ts`. */
export async function resolve (specifier, context, nextResolve) {
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
  esbuild ??= require('esbuild')
  const { code } = await esbuild.transform(await readFile(path, 'utf8'), {
    loader: ext[1] === 'tsx' ? 'tsx' : 'ts',
    format: 'esm',
    target: `node${process.versions.node}`,
    sourcefile: path,
    sourcemap: 'inline',
    sourcesContent: false,
    tsconfigRaw: { compilerOptions }
  })
  return { format: 'module', source: code, shortCircuit: true }
}
