// `npm run typecheck`: `tsc -b tsconfig.check.json`, one TypeScript pass over
// everything typed: the server code, tests and benchmarks (tsconfig.json) and
// the docs UI (ui/tsconfig.json), incremental (the .tsbuildinfo files live in
// dist/: a run re-checks only what changed, and nothing when nothing did).
//
// With --emit (what `npm test` runs) the same pass also writes the build: the
// files of tsconfig.build.json (lib, plugins, schemas, examples) into dist/,
// with the same options, as `npm run build:ts` does. The sources are then
// type-checked once, not once to check and once more to build.
import { createHash } from 'node:crypto'
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'

const root = resolve(fileURLToPath(import.meta.url), '../..')
const emit = process.argv.includes('--emit')
const pretty = process.stdout.isTTY === true
const reportDiagnostic = ts.createDiagnosticReporter(ts.sys, pretty)
const parseHost = { ...ts.sys, onUnRecoverableConfigFileDiagnostic: reportDiagnostic }
const parse = (file, options) => ts.getParsedCommandLineOfConfigFile(file, options, parseHost)

const main = resolve(root, 'tsconfig.json')
let writes = null
let outputs = []
const hash = (file) => existsSync(file) ? createHash('sha1').update(readFileSync(file)).digest('hex') : null
const host = ts.createSolutionBuilderHost(ts.sys, undefined, reportDiagnostic, reportDiagnostic, (errors) => {
  if (errors > 0) ts.sys.write(`\nFound ${errors} error${errors === 1 ? '' : 's'}.\n`)
})
if (emit) {
  const build = parse(join(root, 'tsconfig.build.json'))
  if (build === undefined) process.exit(2)
  writes = new Set(build.fileNames.map((f) => resolve(f)))
  // tsc -b trusts its .tsbuildinfo. When an output is missing, or not what the
  // last pass wrote (another build wrote dist/ from other sources), drop it: all
  // is built again.
  const buildInfo = join(root, 'dist/build.tsbuildinfo')
  const manifest = join(root, 'dist/build.outputs.json')
  outputs = build.fileNames.flatMap((f) => ts.getOutputFileNames(build, f, false))
  const written = existsSync(manifest) ? JSON.parse(readFileSync(manifest, 'utf8')) : {}
  if (outputs.some((out) => written[out] !== hash(out))) {
    rmSync(buildInfo, { force: true })
    rmSync(manifest, { force: true })
  }
  host.getParsedCommandLine = (file) => {
    if (resolve(file) !== main) return parse(file)
    // tsconfig.json's program, emitting: with the build's options (checked below), its own .tsbuildinfo.
    const config = parse(file, { noEmit: false, tsBuildInfoFile: buildInfo })
    for (const [key, value] of Object.entries(build.options)) {
      if (config !== undefined && !['incremental', 'tsBuildInfoFile', 'configFilePath'].includes(key) && JSON.stringify(config.options[key]) !== JSON.stringify(value)) {
        throw new Error(`tsconfig.build.json sets ${key} unlike tsconfig.json: build with \`tsc -p tsconfig.build.json\``)
      }
    }
    return config
  }
}

/** Write the .tsbuildinfo files and the build's outputs, not those of tests and benchmarks. */
function writeFile (name, text, bom, onError, sources) {
  if (writes === null || sources === undefined || sources.every((s) => writes.has(resolve(s.fileName)))) ts.sys.writeFile(name, text, bom)
}

const builder = ts.createSolutionBuilder(host, [join(root, 'tsconfig.check.json')], {})
const ok = builder.build(undefined, undefined, writeFile) === ts.ExitStatus.Success
if (ok && emit) writeFileSync(join(root, 'dist/build.outputs.json'), JSON.stringify(Object.fromEntries(outputs.map((out) => [out, hash(out)])), null, 1) + '\n')
process.exit(ok ? 0 : 2)
