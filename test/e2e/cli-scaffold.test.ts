import t, { type Test } from 'tap'
import { execFile, spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import { Parser, DiagnosticSeverity } from '@asyncapi/parser'
import WebSocket from 'ws'
import { run, type Run } from '../helpers/cli.js'
import { MINUTE, bare, bareNode, cleanEnv, declarationsCurrent, freePort, installCache, packTarball, sh, waitForOutput } from '../helpers/project.js'
import { tsc7Executable } from '../../scripts/typescript7.mjs'

// Packs the package, scaffolds an app with the built CLI depending on the
// tarball, installs it with a bare `npm install` (the app's other dependencies
// come from the npm registry), then runs the app's own `npm test`, `npm start`
// and `npm run dev`. Needs `npm run build` (npm test runs it first).
// The app's `npm test` runs first: its type check (`tsc -b test`) builds the
// app's project, so the `npm start` after it finds dist/ up to date, as it
// does for a user who runs `npm test && npm start`.
// The tarball is shared with the README test (packTarball), and the app's
// node_modules is kept for the day's later runs (installCache): their
// `npm install` then only adds the new socketspec tarball to it.
//
// Next to it (the subtests run side by side), each variant of the scaffold
// type-checks and passes its tests against this checkout, without installing.

const root = resolve(fileURLToPath(import.meta.url), '../../..')
const cli = join(root, 'dist/lib/cli/index.js')

t.setTimeout(10 * MINUTE)
t.jobs = 3
const execFileP = promisify(execFile)

/** An events file, as a user adds one: no other file is edited. */
function eventsFile (event: string): string {
  return `import type { FastifyInstance } from 'fastify'
import { Type } from 'socketspec'

export default async function ${event}Events (fastify: FastifyInstance) {
  fastify.socket.on('${event}', {
    payload: Type.Object({}),
    reply: { event: '${event}_reply', schema: Type.Object({ at: Type.Number() }) }
  }, async () => ({ at: Date.now() }))
}
`
}

/** The AsyncAPI document the app serves. */
async function asyncapi (port: number): Promise<{ info: { title: string, version: string }, events: string[] }> {
  const doc = await (await fetch(`http://127.0.0.1:${port}/socket-docs/asyncapi.json`)).json()
  return { info: doc.info, events: Object.values(doc.components.messages as Record<string, { name: string }>).map((m) => m.name) }
}

/** Run an npm script of the app as a server (its own process group); stopped at the end of the test. */
function serve (t: Test, script: string[], cwd: string, port: number) {
  // bare(): without tap's loaders (its process-info hook puts them back into NODE_OPTIONS otherwise).
  const server = spawn(...bare('npm', script), {
    cwd,
    env: cleanEnv({ PORT: String(port), FASTIFY_ADDRESS: '127.0.0.1' }),
    detached: true, // own process group: npm, sh and fastify are stopped together
    stdio: ['ignore', 'pipe', 'pipe']
  })
  const stop = async () => {
    if (server.exitCode !== null || server.signalCode !== null) return
    const exited = once(server, 'exit')
    process.kill(-(server.pid as number), 'SIGTERM')
    await exited
  }
  t.teardown(stop)
  return { server, stop }
}

/** Connect, wait for __connect__, send an echo, resolve with the answer. */
async function echoRoundTrip (url: string): Promise<any> {
  const ws = new WebSocket(url)
  const messages: any[] = []
  const waiters: Array<() => void> = []
  ws.on('message', (data) => {
    messages.push(JSON.parse(data.toString()))
    for (const w of waiters.splice(0)) w()
  })
  const next = async (event: string) => {
    for (;;) {
      const i = messages.findIndex((m) => m.event === event)
      if (i >= 0) return messages.splice(i, 1)[0]
      await new Promise<void>((resolve, reject) => {
        waiters.push(resolve)
        ws.once('close', () => reject(new Error(`closed while waiting for ${event}`)))
      })
    }
  }
  try {
    await once(ws, 'open')
    await next('__connect__')
    ws.send(JSON.stringify({ event: 'echo', payload: { echo: 'over the wire' }, id: 'e2e-1' }))
    return await next('echo_response')
  } finally {
    ws.close()
  }
}

t.test('slow: init scaffolds an app that installs, passes its tests and serves (npm pack + npm install)', async (t) => {
  if (!existsSync(cli)) {
    t.fail(`${cli} is missing: run \`npm run build\` first (npm test does it in pretest)`)
    return
  }
  const work = mkdtempSync(join(tmpdir(), 'socketspec-cli-e2e-'))
  t.teardown(() => rmSync(work, { recursive: true, force: true }))

  const tarball = await packTarball()
  t.ok(existsSync(tarball), 'npm pack made a tarball')

  const app = join(work, 'app')
  const init = await sh(process.execPath, [cli, 'init', app, '--socketspec', tarball], work, MINUTE)
  t.match(init.stdout, 'cd app && npm install && npm test && npm start')
  t.match(readJson(join(app, 'package.json')).dependencies, { socketspec: `file:${tarball}` }, 'the app depends on the packed tarball')

  // One install, as the user runs it: the written spec installs socketspec on its own.
  const manifest = readJson(join(app, 'package.json'))
  delete manifest.dependencies.socketspec // a new tarball every run
  const installs = installCache(app, manifest)
  if (await installs.restore()) t.comment('node_modules of an earlier run today restored: npm install adds socketspec to it')
  await sh('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], app, 8 * MINUTE)
  t.equal(readJson(join(app, 'node_modules/socketspec/package.json')).version, readJson(join(root, 'package.json')).version, 'socketspec installed from the tarball')
  t.ok(existsSync(join(app, 'node_modules/socketspec/ui/dist/index.html')), 'the docs UI bundle is shipped')

  // A new file in events/ adds its events: app.ts autoloads the directory.
  writeFileSync(join(app, 'events/ping.ts'), eventsFile('ping'))

  // npm test first, as the user runs it: its type check builds the app's project (dist/) on the way.
  const tested = await sh('npm', ['test'], app, 4 * MINUTE)
  t.match(tested.stdout, /> tsc -b test/, 'npm test type-checks')
  t.ok(existsSync(join(app, 'dist/events/ping.js')), 'the type check built the app\'s project, events/ping.ts included')
  // node --test's summary: `# tests 6` … (TAP, its reporter when stdout is not a terminal on Node 20 and 22), `ℹ tests 6` (spec, Node 23+).
  const summary = (name: string): number | undefined => {
    const found = new RegExp(`^(?:#|ℹ) ${name} (\\d+)$`, 'm').exec(tested.stdout)
    return found === null ? undefined : Number(found[1])
  }
  t.ok((summary('tests') ?? 0) > 0, 'the scaffold\'s tests ran (node --test)')
  t.equal(summary('pass'), summary('tests'), 'every one passed')
  t.equal(summary('fail'), 0, 'and none failed')

  // npm start (its build finds dist/ up to date) and npm run dev (fastify start -w on the TypeScript sources) side by side.
  const port = await freePort()
  let devPort = await freePort()
  while (devPort === port) devPort = await freePort()
  const started = serve(t, ['start'], app, port)
  const dev = serve(t, ['run', 'dev'], app, devPort)
  await Promise.all([
    waitForOutput(started.server, /Server listening at/, 3 * MINUTE),
    waitForOutput(dev.server, /Server listening at/, 3 * MINUTE)
  ])

  const docs = await fetch(`http://127.0.0.1:${port}/socket-docs`)
  t.equal(docs.status, 200, 'GET /socket-docs answers 200')
  t.match(docs.headers.get('content-type'), /text\/html/)
  const doc = await asyncapi(port)
  t.equal(doc.info.title, 'app', 'AsyncAPI title: the package name')
  t.equal(doc.info.version, '0.1.0', 'AsyncAPI version: the package version')
  t.ok(doc.events.includes('ping') && doc.events.includes('echo'), 'the autoloaded events/ping.ts is documented, next to echo')
  const answer = await echoRoundTrip(`ws://127.0.0.1:${port}/ws`)
  t.match(answer, { event: 'echo_response', payload: { echo: 'over the wire' } }, 'WebSocket echo round trip')
  await started.stop()

  // npm run dev: a file added to events/ restarts it with the new events.
  t.ok((await asyncapi(devPort)).events.includes('ping'), 'npm run dev serves the sources')
  writeFileSync(join(app, 'events/later.ts'), eventsFile('later'))
  const deadline = Date.now() + MINUTE
  let reloaded = false
  while (!reloaded && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 500))
    reloaded = await asyncapi(devPort).then((d) => d.events.includes('later'), () => false) // refused while restarting
  }
  t.ok(reloaded, 'npm run dev restarted with the events of a new file')
  await dev.stop()
  rmSync(join(app, 'events/later.ts')) // the sources are those of dist/ again

  // dist/ as `npm start` serves it: the installed CLI exports the document of the built app, and of the TypeScript source
  // (through the app's tsx; app.ts lets autoload import .ts files then).
  const modules = ['dist/app.js', 'app.ts']
  const exported = await Promise.all(modules.map(async (module) => (await sh(join(app, 'node_modules/.bin/socketspec'), ['asyncapi', module], app, MINUTE)).stdout))
  // The parser costs seconds of CPU a document: a text already parsed is not parsed again (both are the same app's).
  const parser = new Parser()
  const parsed = new Map<string, Promise<unknown[]>>()
  for (const [i, module] of modules.entries()) {
    const text = exported[i]
    if (!parsed.has(text)) parsed.set(text, parser.parse(text).then(({ diagnostics }) => diagnostics.filter((d) => d.severity === DiagnosticSeverity.Error)))
    t.same(await parsed.get(text), [], `asyncapi ${module} is a valid AsyncAPI document`)
    const names = Object.values(JSON.parse(text).components.messages as Record<string, { name: string }>).map((m) => m.name)
    t.ok(names.includes('ping'), `asyncapi ${module}: the autoloaded events are in`)
  }
  if (t.passing()) await installs.save()
})

function readJson (file: string) {
  return JSON.parse(readFileSync(file, 'utf8'))
}

// The scaffold, written by `init`, type-checks and passes its own tests against
// the current sources: tsconfig `paths` point 'socketspec' at lib/, or at its
// build in dist/ when that is current (tsx honours them at run time) and '@fastify/autoload' at a stand-in (not a dependency of
// socketspec; the e2e test installs the real one), node_modules resolve through
// the repository's. Both variants are written first, then type-checked by one
// tsc run (TypeScript 7's native compiler, as `npm run typecheck` checks the
// repository, and as the e2e app's `npm test` checks the default scaffold with
// the TypeScript 7 it installs) while their test files run (node:test), in one
// process: a failing test makes that process exit non-zero.
const variants = [[], ['--auth', 'jwt', '--redis']]
const scaffoldRoot = join(root, '.tap/scaffolds')
const scaffoldTests = ['test/echo.test.ts', 'test/chat.test.ts', 'test/docs.test.ts']

/**
 * What tsc checks the scaffolds against: the declarations of dist/ when they are
 * built from the current sources (`current`: npm test builds them first; an app
 * sees the API so, and tsc need not check lib/'s bodies again), else lib/ itself.
 */
function socketspecTypes (current: boolean): { index: string, testing: string, from: string } {
  return current
    ? { index: join(root, 'dist/lib/index.d.ts'), testing: join(root, 'dist/lib/testing.d.ts'), from: 'the declarations in dist/' }
    : { index: join(root, 'lib/index.ts'), testing: join(root, 'lib/testing.ts'), from: 'the sources in lib/ (dist/ is missing or older)' }
}

interface Outcome { ok: boolean, out: string }
interface Scaffold { init: Run, errors: Promise<string[]>, tests: Promise<Outcome[]> }

let scaffolding: Promise<Scaffold[]> | undefined
/** Every variant written, type-checked and tested, started once, for the first test that asks. */
function scaffolds (): Promise<Scaffold[]> {
  scaffolding ??= (async () => {
    mkdirSync(scaffoldRoot, { recursive: true })
    // At run time, the build of the current sources when there is one (no transform of lib/ in tsx), else lib/.
    const built = declarationsCurrent()
    const paths = {
      socketspec: [join(root, built ? 'dist/lib/index.js' : 'lib/index.ts')],
      'socketspec/testing': [join(root, built ? 'dist/lib/testing.js' : 'lib/testing.ts')],
      '@fastify/autoload': [join(root, 'test/fixtures/cli/autoload.ts')]
    }
    const include = ['app.ts', 'plugins/**/*.ts', 'events/**/*.ts', 'test/**/*.ts']
    // A plain environment: no tap runner state (TAP_*, NODE_OPTIONS), no app configuration.
    const plainEnv: NodeJS.ProcessEnv = {}
    for (const [key, value] of Object.entries(process.env)) {
      if (!/^(TAP|_TAPJS|NODE_OPTIONS$|NODE_V8_COVERAGE$|JWT_SECRET$|REDIS_URL$)/.test(key)) plainEnv[key] = value
    }
    const runFiles = async (files: string[], cwd: string, tsconfig: string, timeout: number): Promise<Outcome> => {
      const imports = files.map((file) => `await import(${JSON.stringify(pathToFileURL(join(cwd, file)).href)})`).join('\n')
      // bareNode(): tap's process-info hook would put its loaders back into NODE_OPTIONS (this file has no coverage: scripts/coverage-map.mjs).
      return await execFileP(...bareNode(['--import', 'tsx', '--input-type=module', '-e', imports]), {
        cwd,
        env: { ...plainEnv, TSX_TSCONFIG_PATH: tsconfig },
        timeout
      }).then(
        (out) => ({ ok: true, out: out.stdout }),
        (err) => ({ ok: false, out: `${err.stdout}\n${err.stderr}` })
      )
    }
    const made: Array<{ init: Run, name: string, dir: string, tsconfig: string }> = []
    for (const [i, variant] of variants.entries()) {
      const name = `scaffold-${process.pid}-${i}`
      const dir = join(scaffoldRoot, name)
      t.teardown(() => rmSync(dir, { recursive: true, force: true }))
      const init = await run(['init', name, '--force', ...variant], scaffoldRoot)
      // The variant's own tsconfig, which tsx reads at run time (TSX_TSCONFIG_PATH)...
      const tsconfig = join(dir, 'tsconfig.local.json')
      writeFileSync(tsconfig, JSON.stringify({ extends: './test/tsconfig.json', compilerOptions: { rootDir: root, paths }, include }))
      made.push({ init, name, dir, tsconfig })
    }
    // ...and the same options over every variant, for the run of all their test files and for tsc.
    const runConfig = join(scaffoldRoot, `tsconfig-run-${process.pid}.json`)
    t.teardown(() => rmSync(runConfig, { force: true }))
    writeFileSync(runConfig, JSON.stringify({
      extends: `./${made[0].name}/test/tsconfig.json`,
      compilerOptions: { rootDir: root, paths },
      include: made.flatMap((s) => include.map((p) => `${s.name}/${p}`))
    }))
    // The test files of every variant in one process (tsx, fastify and lib/ start once, not
    // six times: node:test runs the tests a file declares when it is imported, and sets a
    // non-zero exit code when one fails); only when that fails, each file of each variant on
    // its own, to tell which fails.
    const everyFile = runFiles(made.flatMap((s) => scaffoldTests.map((file) => `${s.name}/${file}`)), scaffoldRoot, runConfig, 2 * MINUTE)
    const testsOf = ({ dir, tsconfig }: { dir: string, tsconfig: string }): Promise<Outcome[]> => everyFile.then(async (all) =>
      all.ok ? scaffoldTests.map(() => all) : await Promise.all(scaffoldTests.map(async (file) => await runFiles([file], dir, tsconfig, MINUTE))))
    const types = socketspecTypes(built)
    t.comment(`the scaffolds are type-checked against ${types.from}`)
    const all = join(scaffoldRoot, `tsconfig-${process.pid}.json`)
    t.teardown(() => rmSync(all, { force: true }))
    writeFileSync(all, JSON.stringify({
      extends: `./${made[0].name}/test/tsconfig.json`,
      // Not incremental (the scaffold's test project is): one check, no .tsbuildinfo left behind.
      compilerOptions: { rootDir: root, incremental: false, paths: { ...paths, socketspec: [types.index], 'socketspec/testing': [types.testing] } },
      include: made.flatMap((s) => include.map((p) => `${s.name}/${p}`))
    }))
    // The native compiler itself, in a clean environment (no tap loaders, no coverage); one thread:
    // its checkers would each redo the costly part (fastify's types) on this 2-core machine.
    const checked = execFileP(...bare(await tsc7Executable(), ['--noEmit', '--pretty', 'false', '--singleThreaded', '-p', all]), { cwd: scaffoldRoot, env: cleanEnv() }).then(
      () => [] as string[],
      (err) => (String(err.stdout ?? '') || String(err)).split('\n').filter((l) => l.trim() !== '')
    )
    return made.map((variant) => ({
      init: variant.init,
      tests: testsOf(variant),
      // An error in a variant's files is that variant's; any other (lib/, the stand-in, the run itself) is everyone's.
      errors: checked.then((lines) => {
        const mine: string[] = []
        let owner: string | undefined
        for (const line of lines) {
          if (!/^\s/.test(line)) owner = made.find((s) => line.startsWith(`${s.name}/`))?.name
          if (owner === undefined || owner === variant.name) mine.push(line)
        }
        return mine
      })
    }))
  })()
  return scaffolding
}

for (const [i, variant] of variants.entries()) {
  t.test(`the scaffold (${variant.join(' ') || 'defaults'}) type-checks and passes its tests`, async (t) => {
    const { init: r, errors, tests } = (await scaffolds())[i]
    t.equal(r.code, 0, r.stderr)
    const tscErrors = await errors
    t.ok(tscErrors.length === 0, 'tsc --noEmit passes')
    if (tscErrors.length > 0) t.comment(tscErrors.join('\n'))
    const results = await tests
    for (const [j, file] of scaffoldTests.entries()) {
      t.ok(results[j].ok, `${file} passes`)
      if (!results[j].ok) t.comment(results[j].out)
    }
  })
}
