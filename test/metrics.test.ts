// Prometheus metrics (SPEC §14): a real app, real WebSocket traffic, then the
// registry is scraped as Prometheus would and the values are checked.
import t, { type Test } from 'tap'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import Fastify, { type FastifyInstance } from 'fastify'
import { Counter, Registry, register as defaultRegistry } from 'prom-client'
import socketspec, { SocketError, Type, memoryBackend, type BackendAdapter, type SocketspecOptions } from '../lib/index.js'
import { build, startupError } from './helpers/build.js'
import { connectedClient, listen, requestReply } from './helpers/ws-client.js'
import { waitFor } from './helpers/rooms.js'

interface Sample { name: string, labels: Record<string, string>, value: number }

/** Parse the Prometheus text exposition format (what `registry.metrics()` returns). */
function parse (text: string): Sample[] {
  const samples: Sample[] = []
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (m === null) throw new Error(`not an exposition line: ${line}`)
    const labels: Record<string, string> = {}
    for (const [, k, v] of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[k] = v
    samples.push({ name: m[1], labels, value: Number(m[3]) })
  }
  return samples
}

/** Scrape `registry` and return a lookup: the value of the one sample named `name` with (at least) these labels, undefined when absent. */
async function scrape (registry: Registry): Promise<(name: string, labels?: Record<string, string>) => number | undefined> {
  const samples = parse(await registry.metrics())
  return (name, labels = {}) => {
    const found = samples.filter(s => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    if (found.length > 1) throw new Error(`${found.length} samples match ${name} ${JSON.stringify(labels)}`)
    return found[0]?.value
  }
}

/** The app of these tests: echo, add (reply), fail (app code), oops (throws), shout (broadcast), join, surprise (undeclared outbound). */
async function app (t: Test, options: SocketspecOptions): Promise<FastifyInstance> {
  const a = await build(t, options)
  a.socket.on('echo', {
    payload: Type.Object({ echo: Type.String() }),
    emits: [{ event: 'echo_response', schema: Type.Object({ echo: Type.String() }) }]
  }, async (conn, p) => { conn.emit('echo_response', { echo: p.echo }) })
  a.socket.on('add', {
    payload: Type.Object({ a: Type.Number(), b: Type.Number() }),
    reply: { event: 'sum', schema: Type.Object({ sum: Type.Number() }) }
  }, (_conn, p) => ({ sum: p.a + p.b }))
  a.socket.on('fail', {}, () => { throw new SocketError('OUT_OF_STOCK', 'none left') })
  a.socket.on('join', { payload: Type.Object({ room: Type.String() }), reply: { event: 'joined' } }, async (conn, p) => {
    await conn.join(p.room)
    return {}
  })
  a.socket.on('shout', {
    payload: Type.Object({ room: Type.String() }),
    broadcasts: [{ event: 'news', room: '{room}', schema: Type.Object({ text: Type.String() }) }],
    reply: { event: 'shouted' }
  }, async (_conn, p) => {
    await a.socket.to(p.room).emit('news', { text: 'hi' })
    return {}
  })
  a.socket.on('surprise', { reply: { event: 'done' } }, (conn) => {
    conn.emit('not_declared_anywhere', {})
    return {}
  })
  return a
}

/** Resolves after the server has finished with `n` disconnects. */
function disconnects (a: FastifyInstance, n: number): Promise<void> {
  let seen = 0
  return new Promise(resolve => a.socket.onDisconnect(() => { if (++seen === n) resolve() }))
}

t.test('values after real traffic: events in and out, errors, durations, connections', async (t) => {
  const registry = new Registry()
  const a = await app(t, { metrics: { registry } })
  const gone = disconnects(a, 2)
  const url = await listen(t, a)
  const c1 = await connectedClient(t, url)
  const c2 = await connectedClient(t, url)

  for (let i = 0; i < 3; i++) c1.send('echo', { echo: `e${i}` })
  for (let i = 0; i < 3; i++) await c1.next('echo_response')
  t.same(await requestReply(c1, 'add', { a: 1, b: 2 }, 'sum'), { sum: 3 })
  await t.rejects(requestReply(c1, 'add', { a: 'x', b: 2 }, 'sum'), { code: 'VALIDATION_ERROR' })
  await t.rejects(requestReply(c2, 'fail', {}, 'never'), { code: 'OUT_OF_STOCK' })
  await t.rejects(requestReply(c2, 'no_such_event', {}, 'never'), { code: 'UNKNOWN_EVENT' })
  c2.send('__pong__', {})
  await requestReply(c2, 'surprise', {}, 'done')

  let m = await scrape(registry)
  const ns = { namespace: '/' }
  t.equal(m('socketspec_connections', ns), 2, 'two open connections')
  t.equal(m('socketspec_events_received_total', { ...ns, event: 'echo' }), 3, '3 echoes in')
  t.equal(m('socketspec_events_sent_total', { ...ns, event: 'echo_response' }), 3, '3 echo_response out')
  t.equal(m('socketspec_events_received_total', { ...ns, event: 'add' }), 2, 'both adds count, the invalid one too')
  t.equal(m('socketspec_events_sent_total', { ...ns, event: 'sum' }), 1)
  t.equal(m('socketspec_events_received_total', { ...ns, event: '__unknown__' }), 1, 'an undeclared event name')
  t.equal(m('socketspec_events_received_total', { ...ns, event: 'no_such_event' }), undefined, 'no series of its own')
  t.equal(m('socketspec_events_received_total', { ...ns, event: '__pong__' }), 1, 'system events count by name')
  t.equal(m('socketspec_events_received_total', { ...ns, event: 'join' }), 0, 'declared events show from the start')
  t.equal(m('socketspec_events_sent_total', { ...ns, event: '__connect__' }), 2)
  t.equal(m('socketspec_events_sent_total', { ...ns, event: '__error__' }), 3)
  t.equal(m('socketspec_events_sent_total', { ...ns, event: '__undeclared__' }), 1, 'an event no emits/broadcasts/reply declares')
  t.equal(m('socketspec_errors_total', { ...ns, code: 'VALIDATION_ERROR' }), 1)
  t.equal(m('socketspec_errors_total', { ...ns, code: 'OUT_OF_STOCK' }), 1, "the app's own code")
  t.equal(m('socketspec_errors_total', { ...ns, code: 'UNKNOWN_EVENT' }), 1)
  t.equal(m('socketspec_handler_duration_seconds_count', { ...ns, event: 'echo' }), 3)
  t.equal(m('socketspec_handler_duration_seconds_bucket', { ...ns, event: 'echo', le: '+Inf' }), 3)
  t.equal(m('socketspec_handler_duration_seconds_bucket', { ...ns, event: 'echo', le: '10' }), 3, 'cumulative buckets')
  t.ok(m('socketspec_handler_duration_seconds_sum', { ...ns, event: 'echo' })! > 0, 'a sum of durations')
  t.equal(m('socketspec_handler_duration_seconds_count', { ...ns, event: 'add' }), 2, 'a validation failure is a handled event too')
  t.equal(m('socketspec_handler_duration_seconds_count', { ...ns, event: 'fail' }), 1)
  t.equal(m('socketspec_handler_duration_seconds_count', { ...ns, event: 'no_such_event' }), undefined)
  t.equal(m('socketspec_broadcast_deliveries_total', ns), 0)
  t.equal(m('socketspec_backend_errors_total', ns), 0)

  // counters keep counting between scrapes (each scrape adds what came since the last)
  c1.send('echo', { echo: 'again' })
  await c1.next('echo_response')
  m = await scrape(registry)
  t.equal(m('socketspec_events_received_total', { ...ns, event: 'echo' }), 4)
  t.equal(m('socketspec_handler_duration_seconds_count', { ...ns, event: 'echo' }), 4)

  c1.ws.close()
  c2.ws.close()
  await gone
  m = await scrape(registry)
  t.equal(m('socketspec_connections', ns), 0, 'back to 0 after close')
})

t.test('a broadcast to a room of 2 counts 2 deliveries, 2 frames sent of its event', async (t) => {
  const registry = new Registry()
  const a = await app(t, { metrics: { registry } })
  const url = await listen(t, a)
  const members = [await connectedClient(t, url), await connectedClient(t, url)]
  for (const c of members) await requestReply(c, 'join', { room: 'lobby' }, 'joined')
  const sender = await connectedClient(t, url)
  await requestReply(sender, 'shout', { room: 'lobby' }, 'shouted')
  for (const c of members) t.match(await c.next('news'), { payload: { text: 'hi' } })
  const m = await scrape(registry)
  t.equal(m('socketspec_broadcast_deliveries_total', { namespace: '/' }), 2)
  t.equal(m('socketspec_events_sent_total', { namespace: '/', event: 'news' }), 2, 'once per receiver')
})

t.test('many undeclared event names make one __unknown__ series', async (t) => {
  const registry = new Registry()
  const a = await app(t, { metrics: { registry } })
  const c = await connectedClient(t, await listen(t, a))
  for (let i = 0; i < 50; i++) c.send(`random_${i}`, {})
  c.ws.send('not json')
  c.send('__made_up__', {})
  for (let i = 0; i < 52; i++) await c.next('__error__')
  const samples = parse(await registry.metrics()).filter(s => s.name === 'socketspec_events_received_total')
  t.same(samples.map(s => s.labels.event).sort(), ['__unknown__', 'add', 'echo', 'fail', 'join', 'shout', 'surprise'], 'declared events (at 0) and one __unknown__')
  t.equal(samples.find(s => s.labels.event === '__unknown__')?.value, 52, 'undeclared names, invalid JSON and made-up system names')
  t.notOk(samples.some(s => s.labels.event.startsWith('random_')), 'no series per name')
})

t.test('resumes_total: recovered and refused; replayed frames count under their event', async (t) => {
  const registry = new Registry()
  const a = await app(t, { metrics: { registry }, recovery: { ttl: 30, historySize: 10 } })
  const url = await listen(t, a)
  const first = await connectedClient(t, url)
  const token = first.frames.find(f => f.event === '__connect__')!.payload.resume_token as string
  await requestReply(first, 'join', { room: 'r' }, 'joined')
  const position = (await first.next('__joined__')).payload as { offset: number, epoch: string }
  first.ws.terminate()
  await waitFor(() => a.socket.connection(first.id) === undefined, 2000)
  await a.socket.to('r').emit('news', { text: 'missed' })
  const before = await scrape(registry)
  t.equal(before('socketspec_events_sent_total', { namespace: '/', event: 'news' }), 0, 'nobody was in the room: no news sent')

  const second = await connectedClient(t, url)
  await requestReply(second, 'add', { a: 1, b: 2 }, 'sum') // the last event counted is another one
  second.send('__resume__', { token, rooms: { r: { offset: position.offset, epoch: position.epoch } } })
  t.match((await second.next('news')).payload, { text: 'missed' }, 'the missed frame is replayed')
  t.match((await second.next('__resumed__')).payload, { recovered: true, previous_id: first.id })
  const replayed = await scrape(registry)
  t.equal(replayed('socketspec_events_sent_total', { namespace: '/', event: 'news' }), 1, 'the replayed frame counts as news (its event read from the frame)')
  const third = await connectedClient(t, url)
  third.send('__resume__', { token, rooms: {} })
  t.match((await third.next('__resumed__')).payload, { recovered: false, reason: 'unknown_token' })

  const m = await scrape(registry)
  t.equal(m('socketspec_resumes_total', { namespace: '/', result: 'recovered' }), 1)
  t.equal(m('socketspec_resumes_total', { namespace: '/', result: 'refused' }), 1)
  t.equal(m('socketspec_resumes_total', { namespace: '/', result: 'partial' }), undefined)
  t.equal(m('socketspec_events_received_total', { namespace: '/', event: '__resume__' }), 2)
})

t.test('two namespaces in one process share the metrics of a registry, with a namespace label', async (t) => {
  const registry = new Registry()
  const a = Fastify({ logger: false })
  t.teardown(() => a.close())
  for (const ns of ['a', 'b']) {
    await a.register(async (child) => {
      await child.register(socketspec, { path: `/${ns}`, namespace: `/${ns}`, metrics: { registry } })
      child.socket.on('ping', { reply: { event: 'pong' } }, () => ({}))
    })
  }
  await a.listen({ port: 0, host: '127.0.0.1' })
  const base = `ws://127.0.0.1:${(a.server.address() as { port: number }).port}`
  const ca = await connectedClient(t, `${base}/a`)
  const cb = await connectedClient(t, `${base}/b`)
  await requestReply(ca, 'ping', {}, 'pong')
  await requestReply(ca, 'ping', {}, 'pong')
  await requestReply(cb, 'ping', {}, 'pong')
  const m = await scrape(registry)
  t.equal(m('socketspec_events_received_total', { namespace: '/a', event: 'ping' }), 2)
  t.equal(m('socketspec_events_received_total', { namespace: '/b', event: 'ping' }), 1)
  t.equal(m('socketspec_connections', { namespace: '/a' }), 1)
  t.equal(m('socketspec_connections', { namespace: '/b' }), 1)
  const text = await registry.metrics()
  t.equal(text.match(/^# TYPE socketspec_connections gauge$/gm)?.length, 1, 'one metric, two series')
})

t.test("metrics: true uses prom-client's default registry; two apps in one process do not clash", async (t) => {
  t.teardown(() => { defaultRegistry.clear() })
  const one = await app(t, { metrics: true })
  const two = await app(t, { metrics: true })
  await one.ready()
  await two.ready()
  const c = await connectedClient(t, await listen(t, one))
  c.send('echo', { echo: 'x' })
  await c.next('echo_response')
  const m = await scrape(defaultRegistry)
  t.equal(m('socketspec_events_received_total', { namespace: '/', event: 'echo' }), 1, 'both apps add to the same series')
  t.equal(m('socketspec_connections', { namespace: '/' }), 1)
})

t.test('what was counted survives the app: close flushes it to the registry', async (t) => {
  const registry = new Registry()
  const a = await app(t, { metrics: { registry } })
  const c = await connectedClient(t, await listen(t, a))
  c.send('echo', { echo: 'x' })
  await c.next('echo_response')
  await a.close()
  const m = await scrape(registry)
  t.equal(m('socketspec_events_received_total', { namespace: '/', event: 'echo' }), 1)
  t.equal(m('socketspec_handler_duration_seconds_count', { namespace: '/', event: 'echo' }), 1)
  t.equal(m('socketspec_connections', { namespace: '/' }), undefined, 'the closed namespace has no connections series')
  registry.resetMetrics()
  const after = await scrape(registry)
  t.equal(after('socketspec_handler_duration_seconds_count', { namespace: '/', event: 'echo' }), undefined, 'resetMetrics() empties the histogram too')
})

t.test('a custom prefix, and the backend adapter\'s error count (once per adapter, even for two namespaces)', async (t) => {
  const registry = new Registry()
  let errors = 0
  const memory = memoryBackend()
  // the memory backend never fails: this one reports the errors of a store it does not have
  const flaky = new Proxy(memory, {
    get: (target, key) => key === 'stats' ? () => ({ errors, published: 0, received: 0 }) : (Reflect.get(target, key) as (...args: unknown[]) => unknown).bind(target)
  }) as BackendAdapter
  const a = Fastify({ logger: false })
  t.teardown(() => a.close())
  for (const ns of ['/x', '/y']) {
    await a.register(async (child) => { await child.register(socketspec, { path: ns, namespace: ns, backend: flaky, metrics: { registry, prefix: 'chat_' } }) })
  }
  await a.ready()
  errors = 3
  let m = await scrape(registry)
  t.equal(m('chat_backend_errors_total', { namespace: '/x' }), 3)
  t.equal(m('chat_backend_errors_total', { namespace: '/y' }), 0, 'not counted twice')
  errors = 5
  m = await scrape(registry)
  t.equal(m('chat_backend_errors_total', { namespace: '/x' }), 5)
  t.equal(m('socketspec_connections'), undefined, 'nothing under the default prefix')
  t.equal(m('chat_connections', { namespace: '/y' }), 0)
})

t.test('options: validated, and a registry metric of the same name that is not ours is refused', async (t) => {
  t.match(await startupError({ metrics: 'yes' }), { code: 'FST_SOCKETSPEC_INVALID_OPTION', message: /'metrics'/ })
  t.match(await startupError({ metrics: { registry: {} } }), { code: 'FST_SOCKETSPEC_INVALID_OPTION', message: /'metrics\.registry'.*prom-client Registry/ })
  t.match(await startupError({ metrics: { prefix: '1x' } }), { code: 'FST_SOCKETSPEC_INVALID_OPTION', message: /'metrics\.prefix'/ })
  t.match(await startupError({ metrics: { registy: new Registry() } }), { code: 'FST_SOCKETSPEC_INVALID_OPTION', message: /'metrics\.registy'/ })
  const registry = new Registry()
  // eslint-disable-next-line no-new
  new Counter({ name: 'socketspec_errors_total', help: 'an app metric', registers: [registry] })
  t.match(await startupError({ metrics: { registry } }), { code: 'FST_SOCKETSPEC_INVALID_OPTION', message: /'metrics'.*socketspec_errors_total/ })
  t.equal(await startupError({ metrics: false }), null)
})

t.test('without prom-client installed, metrics: true fails at register with FST_SOCKETSPEC_MISSING_DEPENDENCY', async (t) => {
  const root = fileURLToPath(new URL('..', import.meta.url))
  // a resolve hook hides prom-client from this process, as if it were not installed
  const hide = 'export async function resolve (s, c, next) { if (s === "prom-client") throw Object.assign(new Error("Cannot find package \'prom-client\'"), { code: "ERR_MODULE_NOT_FOUND" }); return next(s, c) }'
  const script = `
    import { register } from 'node:module'
    register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hide)}))
    const { default: Fastify } = await import('fastify')
    const { default: socketspec } = await import('./lib/index.js')
    const without = Fastify()
    await without.register(socketspec, {})
    await without.ready()
    await without.close()
    const app = Fastify()
    try {
      await app.register(socketspec, { metrics: true })
      console.log(JSON.stringify({ ok: true }))
    } catch (err) {
      console.log(JSON.stringify({ code: err.code, message: err.message }))
    }
    await app.close().catch(() => {})
  `
  const child = spawnSync(process.execPath, ['--import', './scripts/ts-loader.mjs', '--input-type=module', '-e', script], { cwd: root, encoding: 'utf8', timeout: 60_000 })
  t.equal(child.status, 0, child.stderr)
  const out = JSON.parse(child.stdout.trim().split('\n').pop()!)
  t.equal(out.code, 'FST_SOCKETSPEC_MISSING_DEPENDENCY', 'without metrics the app starts; with it, a clear error')
  t.match(out.message, /'metrics' needs the package 'prom-client'/)
})
