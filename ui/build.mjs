// `npm run build:ui`: the browser assets.
// - the docs SPA into ui/dist (vite);
// - the browser build of `socketspec/client` into dist/client (esbuild, one
//   dependency-free ES module; the package's "browser" export condition).
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build as esbuild } from 'esbuild'
import { build } from 'vite'

const root = dirname(fileURLToPath(import.meta.url))
const clientOut = join(root, '..', 'dist', 'client')

await Promise.all([
  build({ configFile: join(root, 'vite.config.mjs'), root }),
  ...[false, true].map((minify) => esbuild({
    entryPoints: [join(root, '..', 'lib', 'client', 'browser.ts')],
    outfile: join(clientOut, minify ? 'socketspec-client.min.js' : 'socketspec-client.js'),
    bundle: true,
    minify,
    sourcemap: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    legalComments: 'none',
    logLevel: 'warning'
  }))
])
console.log('docs UI built into ui/dist, browser client into dist/client')
