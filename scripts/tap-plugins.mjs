// `npm run tap:plugins` (run by `npm test` alongside the type check and build):
// builds tap's Test class for the plugin set of .taprc when the installed one
// was built for another. tap would do it itself at the start of its run, where
// nothing else can use the other core (.taprc drops the @tapjs/typescript
// plugin, so the class npm installs does not fit).
//
// tap's build compiles that class with tshy, twice (ESM and CommonJS), and
// tshy takes the `typescript` it resolves from the build's directory, whose
// node_modules is tap's plugin directory (.tap/plugins/node_modules) before the
// repository's. A link there to TypeScript 7 (the typescript-7 devDependency)
// makes both compiles native: ~3 s of CPU instead of ~11 s with TypeScript 5.9,
// on the path every `npm test` waits on before tap starts. The output is the
// same class (quotes and a helper name differ). Without TypeScript 7 installed
// the link is not made, and tshy uses TypeScript 5.9.
import { spawn } from 'node:child_process'
import { existsSync, lstatSync, mkdirSync, rmSync, symlinkSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

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
const root = resolve(fileURLToPath(import.meta.url), '../..')
const typescript7 = join(root, 'node_modules/typescript-7')
const link = join(root, '.tap/plugins/node_modules/typescript')
if (existsSync(join(typescript7, 'package.json')) && lstatSync(link, { throwIfNoEntry: false })?.isSymbolicLink() !== true) {
  rmSync(link, { recursive: true, force: true })
  mkdirSync(dirname(link), { recursive: true })
  symlinkSync(relative(dirname(link), typescript7), link)
}
console.log(`tap plugins: building for .taprc${existsSync(link) ? ' (tshy compiling with TypeScript 7)' : ''}`)
const tap = createRequire(import.meta.url).resolve('tap/package.json').replace(/package\.json$/, 'dist/esm/run.mjs')
const child = spawn(process.execPath, [tap, 'build'], { stdio: 'inherit' })
child.on('exit', (code, signal) => process.exit(code ?? (signal === null ? 1 : 2)))
