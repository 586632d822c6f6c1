// The browser build of socketspec/client: one dependency-free ES module,
// at most 6 KB min+gzip (SPEC §11), reached through the "browser" condition.
import t from 'tap'
import { readFileSync } from 'node:fs'
import { gzipSync } from 'node:zlib'
import { build } from 'esbuild'

const root = new URL('../../', import.meta.url)
const LIMIT = 6 * 1024

async function bundle (minify: boolean): Promise<string> {
  const out = await build({
    entryPoints: [new URL('lib/client/browser.ts', root).pathname],
    bundle: true,
    minify,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    legalComments: 'none',
    write: false,
    logLevel: 'silent'
  })
  return out.outputFiles[0].text
}

t.test('the browser build is at most 6 KB min+gzip and imports nothing', async (t) => {
  const min = await bundle(true)
  const gz = gzipSync(min, { level: 9 }).length
  t.comment(`socketspec/client browser build: ${min.length} B min, ${gz} B min+gzip`)
  t.ok(gz <= LIMIT, `${gz} B ≤ ${LIMIT} B`)
  t.notMatch(min, /\bimport\s*[\s{*"'(]|\brequire\(/, 'no import or require left: no runtime dependency')
  t.notMatch(min, /node:|process\.|Buffer\b/, 'nothing of Node')
  const mod = await import(`data:text/javascript;base64,${Buffer.from(min).toString('base64')}`)
  t.same(Object.keys(mod).sort(), ['SocketError', 'SocketspecClient', 'connect', 'isSocketError'])
  t.equal(typeof mod.connect, 'function')
})

t.test('package.json: socketspec/client has types, a browser build and the Node entry', async (t) => {
  const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8'))
  t.same(pkg.exports['./client'], {
    types: './dist/lib/client/index.d.ts',
    browser: './dist/client/socketspec-client.js',
    default: './dist/lib/client/index.js'
  })
  t.ok(pkg.files.includes('dist/client'), 'the browser build is published')
  const buildScript = readFileSync(new URL('ui/build.mjs', root), 'utf8')
  t.match(buildScript, /socketspec-client\.js/, 'npm run build writes the file the browser condition names')
})
