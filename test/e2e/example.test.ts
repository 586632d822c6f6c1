import t from 'tap'
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { bareNode, cleanEnv, freePort, scriptArgs } from '../helpers/project.js'
import { open } from '../helpers/ws-client.js'

const root = fileURLToPath(new URL('../../', import.meta.url))

/** Resolves once the child logs that it listens; rejects if it exits or takes longer than `ms`. */
function listening (child: ChildProcess, output: string[], ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server not listening after ${ms} ms:\n${output.join('')}`)), ms)
    const onData = (chunk: Buffer): void => {
      output.push(chunk.toString())
      if (output.join('').includes('Server listening at')) {
        clearTimeout(timer)
        resolve()
      }
    }
    child.stdout!.on('data', onData)
    child.stderr!.on('data', (c: Buffer) => output.push(c.toString()))
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`server exited early (${code}):\n${output.join('')}`))
    })
  })
}

t.test('examples/chat/server.ts: docs route, ws echo round trip, clean exit on SIGTERM', async (t) => {
  const port = await freePort()
  const output: string[] = []
  // No coverage from the child: merged with the in-process runs it makes tap
  // report covered lib lines as uncovered. bareNode: without tap's loader, which
  // its spawn hook would put back into NODE_OPTIONS. Its build, as `npm start`
  // runs it, when current, else the source through tsx (scriptArgs).
  const child = spawn(...bareNode(scriptArgs('examples/chat/server.ts')), {
    cwd: root,
    env: cleanEnv({ PORT: String(port), HOST: '127.0.0.1', REDIS_URL: '' }),
    stdio: ['ignore', 'pipe', 'pipe']
  })
  const exited = new Promise<{ code: number | null, signal: NodeJS.Signals | null }>(resolve => child.once('exit', (code, signal) => resolve({ code, signal })))
  t.teardown(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') })
  await listening(child, output, 30_000)
  const base = `http://127.0.0.1:${port}`

  const docs = await fetch(base + '/socket-docs')
  if (docs.status === 200) {
    t.match(docs.headers.get('content-type'), /text\/html/, 'the docs UI is served')
    t.match(await docs.text(), /<html/i)
  } else {
    t.equal(docs.status, 500, 'without ui/dist the docs route answers 500')
    t.match((await docs.json()).message, /npm run build/, 'telling how to build the UI')
  }
  const doc = await fetch(base + '/socket-docs/asyncapi.json')
  t.equal(doc.status, 200)
  const asyncapi = await doc.json()
  t.equal(asyncapi.asyncapi, '3.0.0')
  t.ok(JSON.stringify(asyncapi).includes('echo'), 'the echo event is documented')

  const upgradeless = await fetch(base + '/ws')
  t.equal(upgradeless.status, 426, 'a plain GET on /ws asks for an upgrade')

  const c = await open(t, `ws://127.0.0.1:${port}/ws`)
  const hello = await c.next('__connect__')
  t.match(hello.payload, { namespace: '/', connection_id: /^[0-9a-f-]{36}$/ })
  c.send('echo', { echo: 'hi from tap' }, 'e1')
  const echo = await c.next('echo_response')
  t.same(echo.payload, { echo: 'hi from tap', from: hello.payload.connection_id })
  c.send('echo', { echo: 5 }, 'bad')
  t.equal((await c.next('__error__')).payload.code, 'VALIDATION_ERROR')

  child.kill('SIGTERM')
  t.equal((await c.next('__server_shutdown__')).event, '__server_shutdown__', 'clients are told the server is going away')
  t.equal((await c.closed).code, 1001)
  const result = await exited
  t.same(result, { code: 0, signal: null }, 'exit code 0 after SIGTERM')
})
