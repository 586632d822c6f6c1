// A server script started ahead of time (test/helpers/server-process.ts):
// `node test/helpers/server-runner.mjs <script> [<module>…]` (their builds), or
// with `--import=./scripts/ts-loader.mjs` (their TypeScript sources), loads the
// modules first (the script's own imports, which it then finds loaded), prints
// "loaded", and runs the script on the first line read from stdin. It exits when stdin ends: a server left behind by a test run that died
// goes with it.
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'

const [script, ...preload] = process.argv.slice(2)
if (script === undefined) throw new Error('usage: server-runner.mjs <script> [<module>…]')
for (const module of preload) await import(pathToFileURL(resolve(module)).href)
process.stdout.write('loaded\n')
process.stdin.once('data', () => {
  import(pathToFileURL(resolve(script)).href).catch((err) => {
    console.error(err)
    process.exit(1)
  })
})
process.stdin.once('end', () => process.exit(0))
