import t from 'tap'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Parser, DiagnosticSeverity } from '@asyncapi/parser'
import WebSocket from 'ws'
import { MINUTE, cleanEnv, freePort, sh, waitForOutput } from '../helpers/project.js'

// Packs the package, scaffolds an app with the built CLI, installs the tarball
// (and the app's dependencies, from the npm registry) into it, then runs the
// app's own `npm test` and `npm start`. Needs `npm run build` (npm test's pretest).

const root = resolve(fileURLToPath(import.meta.url), '../../..')
const cli = join(root, 'dist/lib/cli/index.js')

t.setTimeout(10 * MINUTE)

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
  const init = await sh(process.execPath, [cli, 'init', app], work, MINUTE)
  t.match(init.stdout, 'cd app && npm install && npm test && npm start')

  // One install: the tarball, plus every dependency the scaffold's package.json lists.
  await sh('npm', ['install', tarball, '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], app, 8 * MINUTE)
  t.ok(existsSync(join(app, 'node_modules/socketspec/dist/lib/cli/index.js')), 'socketspec installed from the tarball')
  t.ok(existsSync(join(app, 'node_modules/socketspec/ui/dist/index.html')), 'the docs UI bundle is shipped')

  const tested = await sh('npm', ['test'], app, 4 * MINUTE)
  t.match(tested.stdout, /# \{ total: \d+, pass: \d+ \}/, 'the scaffold\'s tests ran')
  t.notMatch(tested.stdout, /fail: \d+/, 'and none failed')

  const port = await freePort()
  const server = spawn('npm', ['start'], {
    cwd: app,
    env: cleanEnv({ PORT: String(port), FASTIFY_ADDRESS: '127.0.0.1' }),
    detached: true, // own process group: npm, sh and fastify are stopped together
    stdio: ['ignore', 'pipe', 'pipe']
  })
  const stop = () => {
    if (server.exitCode === null && server.signalCode === null) process.kill(-(server.pid as number), 'SIGTERM')
  }
  t.teardown(stop)
  await waitForOutput(server, /Server listening at/, 3 * MINUTE)

  const docs = await fetch(`http://127.0.0.1:${port}/socket-docs`)
  t.equal(docs.status, 200, 'GET /socket-docs answers 200')
  t.match(docs.headers.get('content-type'), /text\/html/)
  const answer = await echoRoundTrip(`ws://127.0.0.1:${port}/ws`)
  t.match(answer, { event: 'echo_response', payload: { echo: 'over the wire' } }, 'WebSocket echo round trip')

  const exited = once(server, 'exit')
  stop()
  await exited

  // `npm start` built dist/: the installed CLI exports the document of the built app, and of the TypeScript source (through the app's tsx).
  for (const module of ['dist/app.js', 'app.ts']) {
    const out = await sh(join(app, 'node_modules/.bin/socketspec'), ['asyncapi', module], app, MINUTE)
    const { diagnostics } = await new Parser().parse(out.stdout)
    t.same(diagnostics.filter((d) => d.severity === DiagnosticSeverity.Error), [], `asyncapi ${module} is a valid AsyncAPI document`)
    t.match(JSON.parse(out.stdout), { asyncapi: '3.0.0' })
  }
  t.match(readFileSync(join(app, 'package.json'), 'utf8'), /"socketspec": "file:/, 'the app depends on the packed tarball')
})
