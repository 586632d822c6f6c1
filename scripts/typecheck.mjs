// `npm run typecheck`: one TypeScript 7 pass over everything typed, `tsc -b
// tsconfig.check.json`: the server code, tests and benchmarks (tsconfig.json)
// and the docs UI (ui/tsconfig.json), incremental (the .tsbuildinfo files live
// in dist/: a run re-checks only what changed).
//
// With --emit (what `npm test` runs) the build of tsconfig.build.json (lib,
// plugins, schemas, examples) is written into dist/ at the same time, by a
// second compiler process, as `npm run build:ts` does.
//
// TypeScript 7 is the devDependency `typescript-7` (an npm alias of
// `typescript@7`): its native compiler checks this repository in about a
// quarter of the CPU time of TypeScript 5.9, the `typescript` devDependency
// that typescript-eslint needs. The type tests run under 5.9 too
// (test/package.test.ts, "the type tests compile under TypeScript 5.9").
import { spawn } from 'node:child_process'
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { TSC7 } from './typescript7.mjs'

const root = resolve(fileURLToPath(import.meta.url), '../..')

/** Run TypeScript 7 with `args`; resolve with its exit code, its output passed through. */
function tsc7 (args) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [TSC7, ...args], { cwd: root, stdio: 'inherit' })
    child.on('error', (err) => {
      console.error(`cannot run ${TSC7}: ${err.message} (npm ci installs it)`)
      resolve(2)
    })
    child.on('exit', (code, signal) => resolve(code ?? (signal === null ? 2 : 128)))
  })
}

const pretty = process.stdout.isTTY === true ? [] : ['--pretty', 'false']
// One checker thread each: the two runs go side by side (and, in `npm test`, next to
// lint and the UI build), and TypeScript 7's parallel checkers each redo the shared
// part (fastify's and node's types). On 2 cores the check then takes ~45 % of the CPU
// and less wall time than with its default threads.
const flags = [...pretty, '--singleThreaded']
const runs = [tsc7(['-b', 'tsconfig.check.json', ...flags])]
if (process.argv.includes('--emit')) runs.push(tsc7(['-p', 'tsconfig.build.json', ...flags]))
const codes = await Promise.all(runs)
process.exit(codes.every((code) => code === 0) ? 0 : 2)
