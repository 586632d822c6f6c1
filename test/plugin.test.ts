import t from 'tap'
import { Writable } from 'node:stream'
import Fastify, { type FastifyInstance } from 'fastify'
import websocket from '@fastify/websocket'
import { Type as TypeBoxType } from '@sinclair/typebox'
import WebSocket from 'ws'
import socketspec, { socketspec as named, Type, SocketError, SocketApp, jwtAuth, apiKeyAuth, redisBackend, memoryBackend, type SocketspecOptions } from '../lib/index.js'
import { TestClient } from '../lib/testing.js'
import { build, client, sleep, startupError } from './helpers/build.js'
import { listen, open } from './helpers/ws-client.js'
import { resolveOptions } from '../lib/options.js'
import { OptionsSchema, SessionOptionsSchema } from '../schemas/options.js'

t.test('exports: default plugin (fastify-plugin metadata), named plugin, Type re-export', async (t) => {
  t.equal(named, socketspec)
  t.equal(Type, TypeBoxType, 'Type is TypeBox\'s Type')
  const schema = Type.Object({ a: Type.String() })
  t.same(JSON.parse(JSON.stringify(schema)), { type: 'object', properties: { a: { type: 'string' } }, required: ['a'] })
  const meta = (socketspec as any)[Symbol.for('plugin-meta')]
  t.equal(meta.name, 'socketspec')
  t.equal(meta.fastify, '5.x')
  t.equal((socketspec as any)[Symbol.for('skip-override')], true, 'the decorator is visible to the registering context')
  for (const fn of [jwtAuth, apiKeyAuth, redisBackend, memoryBackend]) t.type(fn, 'function')
  t.type(SocketError, 'function')
  const app = await build(t)
  t.ok(app.socket instanceof SocketApp, 'app.socket is the SocketApp')
})

t.test('asyncapi(): only after ready, built once and cached', async (t) => {
  const app = await build(t, { title: 'Demo', version: '2.0.0', rooms: ['lobby'] })
  app.socket.on('echo', { payload: Type.Object({ echo: Type.String() }), description: 'Echo it.', tags: ['demo'] }, () => {})
  app.socket.roomGuard('team:{team}', () => true)
  t.throws(() => app.socket.asyncapi(), { code: 'FST_SOCKETSPEC_NOT_READY' })
  await app.ready()
  const doc = app.socket.asyncapi() as any
  t.equal(doc.asyncapi, '3.0.0')
  t.match(doc.info, { title: 'Demo', version: '2.0.0' })
  t.ok(JSON.stringify(doc).includes('Echo it.'), 'the event is documented')
  t.equal(app.socket.asyncapi(), doc, 'the same object every time')
})

t.test('non-upgrade GET on the WebSocket path → 426 Upgrade Required', async (t) => {
  const app = await build(t, { path: '/live' })
  const res = await app.inject({ method: 'GET', url: '/live' })
  t.equal(res.statusCode, 426)
  t.equal(res.headers.upgrade, 'websocket')
  t.match(res.json(), { statusCode: 426, error: 'Upgrade Required' })
  t.equal((await app.inject({ method: 'GET', url: '/ws' })).statusCode, 404, 'only the configured path')
})

t.test('fastify.close() closes every connection: __server_shutdown__, __disconnect__ {1001}, close 1001', async (t) => {
  const app = await build(t, { shutdownTimeout: 1 })
  const reasons: Array<[string, number]> = []
  app.socket.onDisconnect((_c, reason, code) => { reasons.push([reason, code]) })
  app.socket.on('slow', { reply: { event: 'slow_done' } }, async () => { await sleep(80); return { ok: true } })
  const tc = new TestClient(app)
  const conns = [await tc.connect(), await tc.connect(), await tc.connect()]
  await conns[0].send('slow', {}, { id: 's' })
  await sleep(10)
  await app.close()
  const first = await conns[0].receive()
  t.equal(first.event, '__server_shutdown__')
  t.ok(first.payload.retry_after_ms > 0, 'retry_after_ms')
  t.same(await conns[0].receive(), { event: 'slow_done', payload: { ok: true }, id: 's' }, 'the in-flight handler finished first')
  t.same(await conns[0].receive(), { event: '__disconnect__', payload: { code: 1001, reason: 'server_shutdown' } })
  for (const c of conns.slice(1)) {
    t.equal((await c.receive()).event, '__server_shutdown__')
    t.same(await c.receive(), { event: '__disconnect__', payload: { code: 1001, reason: 'server_shutdown' } })
  }
  for (const c of conns) t.same(await c.closed, { code: 1001, reason: 'server_shutdown' })
  t.same(reasons, [['server_shutdown', 1001], ['server_shutdown', 1001], ['server_shutdown', 1001]], 'onDisconnect ran for each before close() resolved')
  t.equal(app.socket.stats().connections, 0)
})

t.test('upgrades are refused (503) while the server shuts down', async (t) => {
  const app = await build(t, { shutdownTimeout: 1 })
  app.socket.on('slow', {}, async () => { await sleep(200) })
  const conn = await client(t, app).connect()
  await conn.send('slow')
  await sleep(10)
  const closing = app.close()
  await conn.receiveEvent('__server_shutdown__')
  await t.rejects((app as any).injectWS('/ws'), /503/)
  await closing
})

t.test('fastify.close() over a real port', async (t) => {
  const app = await build(t)
  const url = await listen(t, app)
  const c = await open(t, url)
  await c.next('__connect__')
  await app.close()
  t.ok((await c.next('__server_shutdown__')).payload.retry_after_ms > 0)
  t.same((await c.next('__disconnect__')).payload, { code: 1001, reason: 'server_shutdown' })
  t.same(await c.closed, { code: 1001, reason: 'server_shutdown' })
})

t.test('the app registering @fastify/websocket itself first still works', async (t) => {
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  await app.register(websocket)
  app.get('/plain-ws', { websocket: true }, (socket) => { socket.send('plain') })
  await app.register(socketspec, { maxPayloadSize: 1024 })
  app.socket.on('echo', { payload: Type.Object({ echo: Type.String() }), reply: { event: 'echo' } }, (_c, p) => p)
  const tc = client(t, app)
  const conn = await tc.connect()
  t.same((await conn.request('echo', { echo: 'hi' })).payload, { echo: 'hi' })
  await conn.sendRaw(JSON.stringify({ event: 'echo', payload: { echo: 'x'.repeat(2000) } }))
  t.equal((await conn.receive()).payload.code, 'PAYLOAD_TOO_LARGE')
  await conn.sendRaw(JSON.stringify({ event: 'echo', payload: { echo: 'x'.repeat(5000) } }))
  t.equal((await conn.closed).code, 1009, 'the hard cap still closes 1009 though the app chose ws\' maxPayload')

  const url = await listen(t, app, '/plain-ws')
  const plain = new WebSocket(url)
  t.teardown(() => plain.terminate())
  const first = await new Promise<string>((resolve, reject) => { plain.once('message', d => resolve(d.toString())); plain.once('error', reject) })
  t.equal(first, 'plain', 'the app\'s own WebSocket route keeps working')
  const ss = await open(t, url.replace('/plain-ws', '/ws'))
  t.equal((await ss.next()).event, '__connect__', 'and socketspec answers over a real port')
})

/** Log lines at warn level or above. */
function warnings (): { stream: Writable, lines: Array<Record<string, any>> } {
  const lines: Array<Record<string, any>> = []
  const stream = new Writable({
    write (chunk, _e, cb) {
      for (const l of chunk.toString().split('\n')) if (l !== '') { const o = JSON.parse(l); if (o.level >= 40) lines.push(o) }
      cb()
    }
  })
  return { stream, lines }
}

/** Root app with /chat (decorator chat) and /admin (decorator admin), each in its own encapsulated context. */
async function twoNamespaces (logger: Record<string, unknown> | false = false): Promise<{ app: FastifyInstance, chatCtx: FastifyInstance, adminCtx: FastifyInstance }> {
  const app = Fastify({ logger })
  let chatCtx: FastifyInstance | undefined
  let adminCtx: FastifyInstance | undefined
  await app.register(async (instance) => {
    await instance.register(socketspec, { path: '/chat', namespace: '/chat', decorator: 'chat' })
    ;(instance as any).chat.on('hello', { reply: { event: 'hi' } }, (conn: any) => ({ ns: conn.namespace }))
    chatCtx = instance
  })
  await app.register(async (instance) => {
    await instance.register(socketspec, { path: '/admin', namespace: '/admin', decorator: 'admin' })
    ;(instance as any).admin.on('hello', { reply: { event: 'hi' } }, (conn: any) => ({ ns: conn.namespace, admin: true }))
    ;(instance as any).admin.on('stats', { reply: { event: 'stats' } }, () => ({}))
    adminCtx = instance
  })
  await app.ready()
  return { app, chatCtx: chatCtx!, adminCtx: adminCtx! }
}

t.test('two namespaces in two encapsulated contexts, with different decorators and paths', async (t) => {
  const { stream, lines } = warnings()
  const { app, chatCtx, adminCtx } = await twoNamespaces({ level: 'info', stream })
  t.teardown(() => app.close())
  t.notOk(app.hasDecorator('chat'), 'the decorator stays in its context')
  t.notOk(app.hasDecorator('admin'))
  t.ok(chatCtx.hasDecorator('chat'))
  t.notOk(chatCtx.hasDecorator('admin'), 'siblings do not see each other')

  const url = await listen(t, app, '/chat')
  const c = await open(t, url)
  const a = await open(t, url.replace('/chat', '/admin'))
  t.equal((await c.next('__connect__')).payload.namespace, '/chat')
  t.equal((await a.next('__connect__')).payload.namespace, '/admin')
  c.send('hello', {}, 'h1')
  a.send('hello', {}, 'h2')
  t.same((await c.next('hi')).payload, { ns: '/chat' })
  t.same((await a.next('hi')).payload, { ns: '/admin', admin: true })
  c.send('stats', {}, 's1')
  t.match((await c.next('__error__')).payload, { code: 'UNKNOWN_EVENT' }, 'events are per namespace')
  t.equal((chatCtx as any).chat.stats().connections, 1, 'one connection in /chat')
  t.equal((adminCtx as any).admin.stats().connections, 1, 'one connection in /admin')
  a.send('hello', {}, 'h3')
  await a.next('hi')
  t.equal(c.frames.length, 3, 'no duplicate frames on /chat')
  t.same(lines.map(l => l.msg), [], 'no warnings or errors logged (each upgrade is routed once)')
})

t.test('TestClient reaches a namespace registered in an encapsulated context', async (t) => {
  const { app } = await twoNamespaces()
  t.teardown(() => app.close())
  const chat = new TestClient(app, { path: '/chat', decorator: 'chat' })
  const admin = new TestClient(app, { path: '/admin', decorator: 'admin' })
  t.teardown(() => chat.close())
  t.teardown(() => admin.close())
  const c = await chat.connect({ timeout: 1000 })
  const a = await admin.connect({ timeout: 1000 })
  t.same((await c.request('hello')).payload, { ns: '/chat' })
  t.same((await a.request('hello')).payload, { ns: '/admin', admin: true })
  await t.rejects(c.request('stats'), { code: 'UNKNOWN_EVENT' })
})

t.test('the same decorator name in two encapsulated contexts', async (t) => {
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  const contexts: FastifyInstance[] = []
  for (const ns of ['/one', '/two']) {
    await app.register(async (instance) => {
      await instance.register(socketspec, { path: ns, namespace: ns })
      instance.socket.on('where', { reply: { event: 'here' } }, () => ({ ns }))
      contexts.push(instance)
    })
  }
  await app.ready()
  t.not(contexts[0].socket, contexts[1].socket, 'each context has its own SocketApp')
  const url = await listen(t, app, '/one')
  for (const ns of ['/one', '/two']) {
    const c = await open(t, url.replace('/one', ns))
    await c.next('__connect__')
    c.send('where', {}, 'w')
    t.same((await c.next('here')).payload, { ns })
  }
})

// Misuse of the API gives coded errors that say what to do, not raw TypeErrors or silence.
const HERE = /plugin\.test\.ts:\d+:\d+/

t.test('a duplicate or reserved event points at the on() call(s) that declared it', async (t) => {
  const app = Fastify({ logger: false })
  await app.register(socketspec)
  app.socket.on('dup', {}, () => {})
  app.socket.on('dup', {}, () => {})
  const err: any = await app.ready().then(() => null, (e: unknown) => e)
  t.equal(err.code, 'FST_SOCKETSPEC_DUPLICATE_EVENT')
  t.match(err.message, HERE, 'the second declaration')
  t.match(err.message, /first declared at .*plugin\.test\.ts:\d+:\d+/, 'and the first one')
  await app.close()

  const app2 = Fastify({ logger: false })
  await app2.register(socketspec)
  app2.socket.on('__mine__', {}, () => {})
  const reserved: any = await app2.ready().then(() => null, (e: unknown) => e)
  t.equal(reserved.code, 'FST_SOCKETSPEC_RESERVED_EVENT')
  t.match(reserved.message, HERE)
  await app2.close()
})

t.test('sending before ready throws FST_SOCKETSPEC_NOT_READY instead of doing nothing', async (t) => {
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  await app.register(socketspec, { rooms: ['lobby'] })
  await t.rejects(app.socket.emit('news', {}), { code: 'FST_SOCKETSPEC_NOT_READY', message: /emit\(\)/ })
  await t.rejects(app.socket.to('lobby').emit('news', {}), { code: 'FST_SOCKETSPEC_NOT_READY' })
  await t.rejects(app.socket.rooms.broadcast('lobby', 'news', {}), { code: 'FST_SOCKETSPEC_NOT_READY' })
  await t.rejects(app.socket.toConnection('x').emit('news', {}), { code: 'FST_SOCKETSPEC_NOT_READY' })
  t.throws(() => app.socket.asyncapi(), { code: 'FST_SOCKETSPEC_NOT_READY' })
  await app.ready()
  await t.resolves(app.socket.emit('news', {}))
})

t.test('TestClient.request() on an event without reply fails at once, not at the timeout', async (t) => {
  const app = await build(t)
  app.socket.on('fire', {}, async () => {})
  app.socket.on('boom', {}, async () => { throw new SocketError('NOPE', 'no') })
  app.socket.on('checked', { payload: Type.Object({ n: Type.Number() }) }, () => {})
  const conn = await client(t, app).connect()
  const started = Date.now()
  const err = await conn.request('fire', {}, { timeout: 5000 }).catch(e => e)
  t.match(err.message, /'fire' declares no reply.*send\(\)/)
  t.ok(Date.now() - started < 2500, `failed in ${Date.now() - started} ms, not after the 5 s timeout`)
  await t.rejects(conn.request('boom'), { code: 'NOPE' }, 'an __error__ still answers it')
  await t.rejects(conn.request('checked', { n: 'x' }), { code: 'VALIDATION_ERROR' })
  await conn.send('fire', {})
  t.equal(conn.server.open, true)
})

// Options: validated at register time (schemas/options.ts).
const CODE = 'FST_SOCKETSPEC_INVALID_OPTION'

/** Register socketspec on a fresh app with `options` and return what register threw. */
const registerError = async (options: unknown): Promise<any> => await startupError(options)

// [options, name the error must quote]
const bad: Array<[Record<string, unknown>, string]> = [
  [{ path: 42 }, 'path'],
  [{ path: 'ws' }, 'path'],
  [{ namespace: false }, 'namespace'],
  [{ namespace: 'chat' }, 'namespace'],
  [{ decorator: 7 }, 'decorator'],
  [{ decorator: 'my-socket' }, 'decorator'],
  [{ decorator: '' }, 'decorator'],
  [{ docs: 'yes' }, 'docs'],
  [{ docsUrl: 'docs' }, 'docsUrl'],
  [{ docsAccessToken: '' }, 'docsAccessToken'],
  [{ docsAccessToken: 123 }, 'docsAccessToken'],
  [{ allowedOrigins: '*' }, 'allowedOrigins'],
  [{ allowedOrigins: [''] }, 'allowedOrigins.0'],
  [{ allowedOrigins: ['https://a.example', 5] }, 'allowedOrigins.1'],
  [{ maxPayloadSize: '65536' }, 'maxPayloadSize'],
  [{ maxPayloadSize: 1.5 }, 'maxPayloadSize'],
  [{ maxPayloadSize: 0 }, 'maxPayloadSize'],
  [{ maxPayloadSize: -1 }, 'maxPayloadSize'],
  [{ rateLimit: 10 }, 'rateLimit'],
  [{ rateLimit: { rate: 0, capacity: 5 } }, 'rateLimit.rate'],
  [{ rateLimit: { rate: 1 } }, 'rateLimit.capacity'],
  [{ rateLimit: { rate: 1, capacity: 0 } }, 'rateLimit.capacity'],
  [{ rateLimit: { rate: 1, capacity: 1, burst: 2 } }, 'rateLimit.burst'],
  [{ session: 5 }, 'session'],
  [{ session: null }, 'session'],
  [{ session: { idleTimeout: -1 } }, 'session.idleTimeout'],
  [{ session: { idleTimeout: '300' } }, 'session.idleTimeout'],
  [{ session: { maxDuration: -5 } }, 'session.maxDuration'],
  [{ session: { heartbeatInterval: 0 } }, 'session.heartbeatInterval'],
  [{ session: { heartbeatTimeout: 0 } }, 'session.heartbeatTimeout'],
  [{ session: { tokenRefreshWindow: -1 } }, 'session.tokenRefreshWindow'],
  [{ session: { idle: 5 } }, 'session.idle'],
  [{ rooms: 'lobby' }, 'rooms'],
  [{ rooms: [42] }, 'rooms.0'],
  [{ rooms: ['lobby', ''] }, 'rooms.1'],
  [{ rooms: [{ description: 'no name' }] }, 'rooms.0'],
  [{ maxConnections: 0 }, 'maxConnections'],
  [{ maxConnections: 2.5 }, 'maxConnections'],
  [{ maxBufferedBytes: 10 }, 'maxBufferedBytes'],
  [{ maxBufferedBytes: 'lots' }, 'maxBufferedBytes'],
  [{ shutdownTimeout: -1 }, 'shutdownTimeout'],
  [{ shutdownTimeout: '5' }, 'shutdownTimeout'],
  [{ title: 3 }, 'title'],
  [{ version: {} }, 'version'],
  [{ maxPayload: 1024 }, 'maxPayload'],
  [{ heartbeatInterval: 5 }, 'heartbeatInterval'],
  [{ auth: 'jwt' }, 'auth'],
  [{ auth: {} }, 'auth'],
  [{ auth: { authenticate: 'yes' } }, 'auth'],
  [{ auth: { authenticate: () => null, kind: 5 } }, 'auth'],
  [{ backend: 'redis' }, 'backend'],
  [{ backend: {} }, 'backend'],
  [{ backend: { start () {} } }, 'backend'],
  [{ backend: 42 }, 'backend']
]

t.test('every bad option throws FST_SOCKETSPEC_INVALID_OPTION naming the option, at register time', async (t) => {
  for (const [options, name] of bad) {
    const label = JSON.stringify(options) ?? String(options)
    const err = await registerError(options)
    t.ok(err, `${label} is refused`)
    t.equal(err?.code, CODE, `${label} code`)
    t.match(err?.message, `'${name}'`, `${label} names '${name}'`)
    t.ok(err instanceof TypeError, `${label} is a TypeError`)
  }
})

t.test('the same errors come from resolveOptions directly, synchronously', async (t) => {
  for (const [options, name] of bad) {
    t.throws(() => resolveOptions(options), { code: CODE, message: new RegExp(`'${name.replace(/\./g, '\\.')}'`) }, JSON.stringify(options))
  }
})

t.test('defaults are applied', async (t) => {
  const opts = resolveOptions({})
  t.match(opts, {
    path: '/ws',
    namespace: '/',
    decorator: 'socket',
    docs: false,
    docsUrl: '/socket-docs',
    backend: { name: 'memory' },
    allowedOrigins: ['*'],
    maxPayloadSize: 65536,
    rooms: [],
    maxBufferedBytes: 1048576,
    shutdownTimeout: 5,
    session: { maxDuration: 0, idleTimeout: 0, heartbeatInterval: 25, heartbeatTimeout: 10, tokenRefreshWindow: 60 }
  })
  t.equal(opts.auth, undefined)
  t.equal(opts.rateLimit, undefined)
  t.equal(opts.maxConnections, undefined)
  t.equal(opts.docsAccessToken, undefined)
  t.same(resolveOptions(undefined).session, opts.session, 'no options at all')

  const partial = resolveOptions({ session: { idleTimeout: 30 } })
  t.same(partial.session, { maxDuration: 0, idleTimeout: 30, heartbeatInterval: 25, heartbeatTimeout: 10, tokenRefreshWindow: 60 }, 'session defaults fill the gaps')
  t.same(resolveOptions({ rooms: ['lobby', { name: 'news', description: 'Headlines' }] }).rooms,
    [{ name: 'lobby' }, { name: 'news', description: 'Headlines' }], 'static rooms normalized to {name, description?}')
  t.same(resolveOptions({ session: { heartbeatInterval: 0.05 } }).session.heartbeatInterval, 0.05, 'fractions of seconds are allowed')
})

t.test('defaults are visible on the running plugin', async (t) => {
  const app = await build(t)
  app.socket.on('echo', {}, (conn, p) => { conn.emit('echo', p) })
  t.equal(app.socket.path, '/ws')
  t.equal(app.socket.namespace, '/')
  const conn = await client(t, app).connect()
  t.equal(conn.server.namespace, '/')
  await conn.sendRaw(JSON.stringify({ event: 'echo', payload: { x: 'a'.repeat(65536) } }))
  const err = await conn.receive()
  t.equal(err.payload.code, 'PAYLOAD_TOO_LARGE')
  t.equal(err.payload.details.max_bytes, 65536, 'maxPayloadSize defaults to 65536')
})

t.test('the caller\'s options object is not mutated and can be reused', async (t) => {
  const options: SocketspecOptions = { session: { idleTimeout: 10 }, rooms: ['lobby'], allowedOrigins: ['*'], rateLimit: { rate: 5, capacity: 5 } }
  const snapshot = JSON.parse(JSON.stringify(options))
  const a = resolveOptions(options)
  const b = resolveOptions(options)
  t.same(options, snapshot, 'options untouched')
  t.not(a.session, b.session, 'each registration gets its own session object')
  t.not(a.rooms, b.rooms)
  const app1 = await build(t, options)
  const app2 = await build(t, options)
  await app1.ready()
  await app2.ready()
  t.same(options, snapshot, 'options untouched after two registrations')
})

t.test('valid non-default values are accepted and kept', async (t) => {
  const auth = { authenticate: () => ({ userId: 'u' }), kind: 'custom' }
  const backend = memoryBackend()
  const opts = resolveOptions({
    path: '/socket',
    namespace: '/chat',
    decorator: 'chat',
    docs: true,
    docsUrl: '/docs',
    docsAccessToken: 'secret',
    auth,
    backend,
    allowedOrigins: ['https://a.example'],
    maxPayloadSize: 1024,
    rateLimit: { rate: 2.5, capacity: 10 },
    session: { maxDuration: 60, idleTimeout: 30, heartbeatInterval: 5, heartbeatTimeout: 2, tokenRefreshWindow: 10 },
    rooms: ['lobby'],
    maxConnections: 100,
    maxBufferedBytes: 4096,
    shutdownTimeout: 0.5,
    title: 'Chat',
    version: '1.2.3'
  })
  t.equal(opts.auth, auth)
  t.equal(opts.backend, backend)
  t.match(opts, { path: '/socket', namespace: '/chat', decorator: 'chat', maxPayloadSize: 1024, maxConnections: 100, shutdownTimeout: 0.5, title: 'Chat', version: '1.2.3' })
  t.same(opts.rateLimit, { rate: 2.5, capacity: 10 })
})

t.test('auth: null and backend: undefined mean the defaults', async (t) => {
  t.equal(resolveOptions({ auth: null }).auth, undefined)
  t.equal(resolveOptions({ backend: undefined }).backend.name, 'memory', 'a fresh memory backend')
  t.equal(resolveOptions({ backend: 'memory' }).backend.name, 'memory')
  t.not(resolveOptions({}).backend, resolveOptions({}).backend, 'one memory backend per registration')
})

t.test('Fastify\'s own plugin option keys are not refused', async (t) => {
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  await app.register(socketspec, { logLevel: 'warn' } as SocketspecOptions)
  await app.ready()
  t.ok(app.socket)
})

t.test('decorator name conflicts', async (t) => {
  t.test('socketspec twice in the same context', async (t) => {
    const app = Fastify({ logger: false })
    t.teardown(() => app.close())
    await app.register(socketspec)
    await t.rejects(async () => { await app.register(socketspec, { path: '/other' }) }, { code: CODE, message: /'decorator'.*'socket'/ })
  })
  t.test('a name Fastify already uses', async (t) => {
    for (const name of ['listen', 'log', 'server']) {
      const err = await registerError({ decorator: name })
      t.match(err, { code: CODE, message: new RegExp(`'decorator'.*'${name}'`) }, name)
    }
  })
  t.test('a name the app decorated itself', async (t) => {
    const app = Fastify({ logger: false })
    t.teardown(() => app.close())
    app.decorate('chat', { mine: true })
    await t.rejects(async () => { await app.register(socketspec, { decorator: 'chat' }) }, { code: CODE, message: /'decorator'/ })
  })
  t.test('two registrations with different decorators in the same context work', async (t) => {
    const app = Fastify({ logger: false })
    t.teardown(() => app.close())
    await app.register(socketspec, { path: '/a', namespace: '/a', decorator: 'a' })
    await app.register(socketspec, { path: '/b', namespace: '/b', decorator: 'b' })
    await app.ready()
    t.equal((app as any).a.path, '/a')
    t.equal((app as any).b.path, '/b')
  })
})

t.test('the options schema is a TypeBox schema that documents every option', async (t) => {
  const documented = Object.keys(OptionsSchema.properties).sort()
  for (const name of ['path', 'namespace', 'decorator', 'docs', 'docsUrl', 'docsAccessToken', 'auth', 'backend', 'allowedOrigins', 'maxPayloadSize', 'rateLimit', 'session', 'rooms', 'maxConnections', 'maxBufferedBytes', 'shutdownTimeout']) {
    t.ok(documented.includes(name), `${name} is in the schema`)
    t.type((OptionsSchema.properties as Record<string, { description?: string }>)[name].description ?? (name === 'rateLimit' || name === 'session' ? 'object' : undefined), 'string', `${name} is described`)
  }
  t.same(Object.keys(SessionOptionsSchema.properties).sort(), ['heartbeatInterval', 'heartbeatTimeout', 'idleTimeout', 'maxDuration', 'tokenRefreshWindow'])
  t.equal(OptionsSchema.additionalProperties, false, 'unknown options are refused')
})
