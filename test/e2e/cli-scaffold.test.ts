import t, { type Test } from 'tap'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Parser, DiagnosticSeverity } from '@asyncapi/parser'
import WebSocket from 'ws'
import { MINUTE, cleanEnv, freePort, sh, waitForOutput } from '../helpers/project.js'

// Packs the package, scaffolds an app with the built CLI depending on the
// tarball, installs it with a bare `npm install` (the app's other dependencies
// come from the npm registry), then runs the app's own `npm test`, `npm start`
// and `npm run dev`. Needs `npm run build` (npm test's pretest).

const root = resolve(fileURLToPath(import.meta.url), '../../..')
const cli = join(root, 'dist/lib/cli/index.js')

t.setTimeout(10 * MINUTE)

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
  const server = spawn('npm', script, {
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

  const packed = await sh('npm', ['pack', '--json', '--pack-destination', work], root, 2 * MINUTE)
  const tarball = join(work, JSON.parse(packed.stdout)[0].filename)
  t.ok(existsSync(tarball), 'npm pack made a tarball')

  const app = join(work, 'app')
  const init = await sh(process.execPath, [cli, 'init', app, '--socketspec', tarball], work, MINUTE)
  t.match(init.stdout, 'cd app && npm install && npm test && npm start')
  t.match(readJson(join(app, 'package.json')).dependencies, { socketspec: `file:${tarball}` }, 'the app depends on the packed tarball')

  // One install, as the user runs it: the written spec installs socketspec on its own.
  await sh('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], app, 8 * MINUTE)
  t.equal(readJson(join(app, 'node_modules/socketspec/package.json')).version, readJson(join(root, 'package.json')).version, 'socketspec installed from the tarball')
  t.ok(existsSync(join(app, 'node_modules/socketspec/ui/dist/index.html')), 'the docs UI bundle is shipped')

  // A new file in events/ adds its events: app.ts autoloads the directory.
  writeFileSync(join(app, 'events/ping.ts'), eventsFile('ping'))

  const tested = await sh('npm', ['test'], app, 4 * MINUTE)
  t.match(tested.stdout, /> tsc --noEmit -p test\/tsconfig.json/, 'npm test type-checks (events/ping.ts included)')
  t.match(tested.stdout, /# \{ total: \d+, pass: \d+ \}/, 'the scaffold\'s tests ran')
  t.notMatch(tested.stdout, /fail: \d+/, 'and none failed')

  const port = await freePort()
  const started = serve(t, ['start'], app, port)
  await waitForOutput(started.server, /Server listening at/, 3 * MINUTE)

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

  // npm run dev: fastify start -w on the TypeScript sources; a file added to events/ restarts it with the new events.
  const devPort = await freePort()
  const dev = serve(t, ['run', 'dev'], app, devPort)
  await waitForOutput(dev.server, /Server listening at/, 2 * MINUTE)
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

  // `npm start` built dist/: the installed CLI exports the document of the built app, and of the TypeScript source
  // (through the app's tsx; app.ts lets autoload import .ts files then).
  for (const module of ['dist/app.js', 'app.ts']) {
    const out = await sh(join(app, 'node_modules/.bin/socketspec'), ['asyncapi', module], app, MINUTE)
    const { diagnostics } = await new Parser().parse(out.stdout)
    t.same(diagnostics.filter((d) => d.severity === DiagnosticSeverity.Error), [], `asyncapi ${module} is a valid AsyncAPI document`)
    const names = Object.values(JSON.parse(out.stdout).components.messages as Record<string, { name: string }>).map((m) => m.name)
    t.ok(names.includes('ping'), `asyncapi ${module}: the autoloaded events are in`)
  }
})

function readJson (file: string) {
  return JSON.parse(readFileSync(file, 'utf8'))
}
