import t from 'tap'
import { Writable } from 'node:stream'
import Fastify, { type FastifyInstance } from 'fastify'
import websocket from '@fastify/websocket'
import { Type as TypeBoxType } from '@sinclair/typebox'
import WebSocket from 'ws'
import socketspec, { socketspec as named, Type, SocketError, SocketApp, jwtAuth, apiKeyAuth, redisBackend, memoryBackend } from '../lib/index.js'
import { TestClient } from '../lib/testing.js'
import { build, client, sleep } from './helpers/build.js'
import { listen, open } from './helpers/ws-client.js'

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
