// `npm run tap:plugins` (run by `npm test` alongside the type check and build):
// builds tap's Test class for the plugin set of .taprc when the installed one
// was built for another. tap would do it itself at the start of its run, where
// nothing else can use the other core (~9 s on a fresh `npm ci`: .taprc drops
// the @tapjs/typescript plugin, so the class npm installs does not fit).
import { spawn } from 'node:child_process'
import { createRequire } from 'node:module'

let current, wanted
try {
  // tap's own packages (dependencies of tap, which npm hoists)
  const { TapConfig } = await import('@tapjs/config')
  const { signature } = await import('@tapjs/test')
  current = signature
  wanted = (await TapConfig.load()).pluginSignature
} catch (err) {
  console.log(`tap plugins not checked (${err.message}): tap builds them itself if needed`)
  process.exit(0)
}
if (current === wanted) {
  console.log('tap plugins: built for .taprc')
  process.exit(0)
}
const tap = createRequire(import.meta.url).resolve('tap/package.json').replace(/package\.json$/, 'dist/esm/run.mjs')
const child = spawn(process.execPath, [tap, 'build'], { stdio: 'inherit' })
child.on('exit', (code, signal) => process.exit(code ?? (signal === null ? 1 : 2)))
