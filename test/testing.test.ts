import t from 'tap'
import Fastify from 'fastify'
import type { WebSocket } from 'ws'
import socketspec, { Type, SocketError } from '../lib/index.js'
import { TestClient, TestConnection } from '../lib/testing.js'
import type { Connection } from '../lib/connection.js'
import { kEngine, kSocket } from '../lib/symbols.js'
import { build, client, sleep } from './helpers/build.js'
import { Writable } from 'node:stream'

const tokenAuth = {
  kind: 'test',
  authenticate ({ token }: { token: string | null }) {
    return token === 'good' ? { userId: 'alice', role: 'admin', extra: { plan: 'pro' } } : null
  }
}

t.test('runs in process: no network port is opened', async (t) => {
  const app = await build(t)
  app.socket.on('echo', {}, (conn, p) => { conn.emit('echo', p) })
  const conn = await client(t, app).connect()
  t.ok(conn instanceof TestConnection)
  t.equal(app.server.listening, false)
  await conn.send('echo', { hi: 1 })
  t.same(await conn.receive(), { event: 'echo', payload: { hi: 1 } })
})

t.test('connect({ headers, query, token }) reaches the server and the auth backend', async (t) => {
  const app = await build(t, { auth: tokenAuth })
  const conn = await client(t, app).connect({ headers: { 'x-trace': 'abc' }, query: { room: 'lobby' }, token: 'good' })
  t.match(conn.id, /^[0-9a-f-]{36}$/, 'id from __connect__')
  const server = conn.server
  t.equal(server.headers['x-trace'], 'abc')
  t.equal(server.headers.authorization, 'Bearer good', 'token sent as a bearer header')
  t.equal(server.query.room, 'lobby')
  t.same(server.identity, { userId: 'alice', role: 'admin', tokenExpiresAt: null, extra: { plan: 'pro' } })
})

t.test('connect rejects with SocketError AUTH_ERROR and closeCode 4001 when auth refuses', async (t) => {
  const app = await build(t, { auth: tokenAuth })
  const tc = client(t, app)
  for (const options of [{ token: 'bad' }, {}]) {
    const err = await tc.connect(options).catch(e => e)
    t.ok(err instanceof SocketError, JSON.stringify(options))
    t.equal(err.code, 'AUTH_ERROR')
    t.equal(err.closeCode, 4001)
  }
})

t.test('app.close() stays prompt after a refused connect', async (t) => {
  const app = await build(t, { auth: tokenAuth })
  await t.rejects(new TestClient(app).connect({ token: 'bad' }), { code: 'AUTH_ERROR' })
  const started = Date.now()
  await app.close()
  t.ok(Date.now() - started < 500, `closed in ${Date.now() - started} ms`)
})

t.test('connect resolves only after __connect__, which is never handed to receive()', async (t) => {
  const app = await build(t)
  app.socket.onConnect((conn) => { conn.emit('welcome', { id: conn.id }) })
  const conn = await client(t, app).connect()
  t.same(await conn.receive(), { event: 'welcome', payload: { id: conn.id } }, 'the first message after __connect__')
})

t.test('send(event, payload, { id }) sends the id; ctx sees it', async (t) => {
  const app = await build(t)
  const seen: Array<{ id: string, clientId: boolean }> = []
  app.socket.on('track', { reply: { event: 'tracked' } }, (_conn, _p, ctx) => { seen.push({ id: ctx.id, clientId: ctx.clientId }); return {} })
  const conn = await client(t, app).connect()
  await conn.send('track', {}, { id: 'my-id' })
  t.same(await conn.receive(), { event: 'tracked', payload: {}, id: 'my-id' })
  await conn.send('track')
  t.same(await conn.receive(), { event: 'tracked', payload: {} })
  t.same(seen[0], { id: 'my-id', clientId: true })
  t.equal(seen[1].clientId, false)
  t.match(seen[1].id, /^[0-9a-f-]{36}$/, 'server uuid when the client sent no id')
})

t.test('receive() answers and skips __ping__: the server sees the pongs and never closes 4006', async (t) => {
  const app = await build(t, { session: { heartbeatInterval: 0.05, heartbeatTimeout: 0.1 } })
  app.socket.on('echo', {}, (conn, p) => { conn.emit('echo', p) })
  const conn = await client(t, app).connect()
  await t.rejects(conn.receive({ timeout: 400 }), /timed out/, 'no __ping__ is ever returned by receive()')
  const stats = app.socket.stats()
  t.ok(stats.eventsIn >= 4, `the server received the pongs (${stats.eventsIn} inbound frames, ~7 pings sent)`)
  t.equal(stats.errors.UNKNOWN_EVENT, undefined, '__pong__ is not routed')
  t.ok(conn.server.open, 'still open long after heartbeatTimeout')
  await conn.send('echo', { still: 'here' })
  t.same(await conn.receive(), { event: 'echo', payload: { still: 'here' } })
})

t.test('without pongs the same settings close 4006 (the heartbeat test above is meaningful)', async (t) => {
  const app = await build(t, { session: { heartbeatInterval: 0.05, heartbeatTimeout: 0.1 } })
  await app.ready()
  const events: Array<{ event: string, payload: any }> = []
  let resolveDisconnect: (p: unknown) => void
  const disconnect = new Promise<any>((resolve) => { resolveDisconnect = resolve })
  // session timers are unref'd: this ref'd timer keeps the test alive (and bounds it)
  const guard = setTimeout(() => resolveDisconnect('no __disconnect__ within 2 s'), 2000)
  // A bare injectWS socket, which does not answer pings.
  const ws = await (app as any).injectWS('/ws', {}, {
    onInit: (socket: WebSocket) => socket.on('message', (d) => {
      const msg = JSON.parse(d.toString())
      events.push(msg)
      if (msg.event === '__disconnect__') { clearTimeout(guard); resolveDisconnect(msg.payload) }
    })
  }) as WebSocket
  t.same(await disconnect, { code: 4006, reason: 'heartbeat_timeout' })
  t.same(events.slice(0, 2).map(e => e.event), ['__connect__', '__ping__'])
  t.equal(app.socket.stats().connections, 0, 'the server considers it closed')
  // injectWS streams never finish the closing handshake; end both sides as TCP would.
  for (const conn of app.socket[kEngine].connections.values()) conn[kSocket].terminate()
  ws.terminate()
})

t.test('request() matches the reply by id while other frames wait in the inbox', async (t) => {
  const app = await build(t)
  app.socket.on('multi', { payload: Type.Object({ n: Type.Integer() }), reply: { event: 'multi_done' } }, (conn, p) => {
    conn.emit('noise', { seq: 1 })
    conn.emit('noise', { seq: 2 })
    return { n: p.n }
  })
  app.socket.on('slow', { payload: Type.Object({ wait: Type.Integer() }), reply: { event: 'slow_done' } }, async (_c, p) => {
    await sleep(p.wait)
    return { wait: p.wait }
  })
  const conn = await client(t, app).connect()
  const reply = await conn.request('multi', { n: 7 })
  t.equal(reply.event, 'multi_done')
  t.same(reply.payload, { n: 7 })
  t.type(reply.id, 'string')
  t.same(await conn.receive(), { event: 'noise', payload: { seq: 1 } }, 'frames before the reply stay in the inbox, in order')
  t.same(await conn.receive(), { event: 'noise', payload: { seq: 2 } })

  const [late, early] = await Promise.all([conn.request('slow', { wait: 40 }), conn.request('slow', { wait: 0 })])
  t.same(late.payload, { wait: 40 }, 'concurrent requests each get their own reply')
  t.same(early.payload, { wait: 0 })
  t.not(late.id, early.id)
  const custom = await conn.request('multi', { n: 1 }, { id: 'chosen' })
  t.equal(custom.id, 'chosen', 'an explicit id is used')
  await conn.receiveEvent('noise')
  await conn.receiveEvent('noise')
})

t.test('request() rejects with a SocketError on the __error__ for its id only', async (t) => {
  const app = await build(t)
  app.socket.on('deny', {}, () => { throw new SocketError('NOPE', 'not today', { retry: false }) })
  app.socket.on('strict', { payload: Type.Object({ n: Type.Number() }), reply: { event: 'ok' } }, () => ({}))
  const conn = await client(t, app).connect()
  const err = await conn.request('deny').catch(e => e)
  t.ok(err instanceof SocketError)
  t.match(err, { code: 'NOPE', message: 'not today', details: { retry: false } })
  await conn.send('unknown_thing', {}, { id: 'other' })
  const ok = await conn.request('strict', { n: 1 })
  t.equal(ok.event, 'ok', 'an __error__ for another id does not reject this request')
  t.match(await conn.receive(), { event: '__error__', id: 'other', payload: { code: 'UNKNOWN_EVENT' } }, 'it waits in the inbox')
  const v = await conn.request('strict', { n: 'x' }).catch(e => e)
  t.match(v, { code: 'VALIDATION_ERROR', details: { errors: [{ path: '/n', keyword: 'type' }] } })
})

t.test('request() and receive() time out', async (t) => {
  const app = await build(t)
  app.socket.on('silent', { reply: { event: 'late' } }, () => new Promise(resolve => setTimeout(resolve, 200, {})))
  const conn = await client(t, app).connect()
  await t.rejects(conn.request('silent', {}, { timeout: 30 }), /timed out after 30 ms/)
  await t.rejects(conn.receive({ timeout: 20 }), /timed out after 20 ms/)
  await t.rejects(conn.receiveEvent('never', { timeout: 20 }), /never/)
})

t.test('server is the server-side Connection', async (t) => {
  const app = await build(t)
  let inHandler: Connection | undefined
  app.socket.on('me', { reply: { event: 'me' } }, (conn) => { inHandler = conn; conn.metadata.touched = true; return {} })
  const conn = await client(t, app).connect()
  await conn.request('me')
  t.equal(conn.server, inHandler)
  t.equal(conn.server.metadata.touched, true)
  await conn.close()
  t.throws(() => conn.server, /gone/, 'after close there is no server-side connection')
})

t.test('close() and closed resolve with {code, reason}', async (t) => {
  const app = await build(t)
  const tc = client(t, app)
  const a = await tc.connect()
  t.same(await a.close(), { code: 1000, reason: '' })
  t.same(await a.closed, { code: 1000, reason: '' })
  t.same(await a.close(), { code: 1000, reason: '' }, 'closing twice is harmless')
  const b = await tc.connect()
  t.same(await b.close(4000, 'done'), { code: 4000, reason: 'done' })
  const c = await tc.connect()
  c.server.disconnect('kicked')
  t.same(await c.closed, { code: 1000, reason: 'kicked' }, 'a server close resolves closed too')
  await t.rejects(a.receive(), { closeCode: 1000 } as any, 'receive after close rejects with the close code')
})

t.test('a pending receive() rejects when the connection closes', async (t) => {
  const app = await build(t)
  app.socket.on('kick', {}, (conn) => { setImmediate(() => conn.disconnect('bye')) })
  const conn = await client(t, app).connect()
  await conn.send('kick')
  t.same(await conn.receive(), { event: '__disconnect__', payload: { code: 1000, reason: 'bye' } })
  await t.rejects(conn.receive(), { closeCode: 1000 } as any)
})

t.test('client.close() closes every connection it opened', async (t) => {
  const app = await build(t)
  let gone = 0
  let allGone: () => void
  const done = new Promise<void>(resolve => { allGone = resolve })
  app.socket.onDisconnect(() => { if (++gone === 3) allGone() })
  const tc = new TestClient(app)
  const conns = [await tc.connect(), await tc.connect(), await tc.connect()]
  t.equal(app.socket.stats().connections, 3)
  await tc.close()
  for (const c of conns) t.same(await c.closed, { code: 1000, reason: '' })
  await done
  t.equal(app.socket.stats().connections, 0, 'the server saw every close')
  await tc.close()
  t.pass('closing an empty client is fine')
})

t.test('sendRaw sends malformed and binary frames', async (t) => {
  const app = await build(t)
  const conn = await client(t, app).connect()
  await conn.sendRaw(Buffer.from([0xde, 0xad]))
  t.match(await conn.receive(), { event: '__error__', payload: { code: 'VALIDATION_ERROR' } })
  await conn.sendRaw('}{')
  t.match(await conn.receive(), { event: '__error__', payload: { code: 'VALIDATION_ERROR' } })
})

t.test('TestClient options: another decorator and path', async (t) => {
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  await app.register(socketspec, { decorator: 'chat', path: '/chat', namespace: '/chat' })
  ;(app as any).chat.on('hi', { reply: { event: 'hello' } }, () => ({ from: 'chat' }))
  const tc = new TestClient(app, { decorator: 'chat' })
  t.teardown(() => tc.close())
  const conn = await tc.connect()
  t.same((await conn.request('hi')).payload, { from: 'chat' })
  t.equal(conn.server.namespace, '/chat')
  const wrong = new TestClient(app, { decorator: 'chat', path: '/elsewhere' })
  await t.rejects(wrong.connect(), 'a path without the WebSocket route fails to connect')
})

t.test('connect() without socketspec on the instance throws a clear error', async (t) => {
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  await t.rejects(new TestClient(app).connect(), /no socketspec decorator 'socket'/)
})

// Connections (lib/connection.ts), as handlers see them.
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

/** A pino destination that keeps every log line as an object. */
function logCapture (): { stream: Writable, lines: Array<Record<string, any>> } {
  const lines: Array<Record<string, any>> = []
  const stream = new Writable({
    write (chunk, _enc, cb) {
      for (const line of chunk.toString().split('\n')) if (line !== '') lines.push(JSON.parse(line))
      cb()
    }
  })
  return { stream, lines }
}

/** Resolves with the arguments of the next onDisconnect call. */
function nextDisconnect (app: Awaited<ReturnType<typeof build>>): () => Promise<[Connection, string, number]> {
  const queue: Array<[Connection, string, number]> = []
  const waiting: Array<(v: [Connection, string, number]) => void> = []
  app.socket.onDisconnect((conn, reason, code) => {
    const w = waiting.shift()
    if (w !== undefined) w([conn, reason, code])
    else queue.push([conn, reason, code])
  })
  return () => queue.length > 0 ? Promise.resolve(queue.shift()!) : new Promise(resolve => waiting.push(resolve))
}

t.test('Connection fields (SPEC §4) without auth', async (t) => {
  const app = await build(t, { namespace: '/chat' })
  let seen: Connection | undefined
  app.socket.on('who', {}, (conn) => { seen = conn; conn.emit('ok') })
  const before = Date.now()
  const conn = await client(t, app).connect({ headers: { 'x-client': 'tap' }, query: { room: 'lobby', lang: 'en' } })
  const after = Date.now()
  const server = conn.server
  t.match(server.id, UUID_V4, 'id is a uuid')
  t.equal(server.id, conn.id, 'the id __connect__ announced')
  t.same(server.identity, { userId: null, role: null, tokenExpiresAt: null, extra: {} }, 'identity is all null without auth')
  t.ok(server.connectedAt >= before && server.connectedAt <= after, 'connectedAt is the epoch ms of the upgrade')
  t.equal(server.lastActive, server.connectedAt, 'lastActive starts at connectedAt')
  t.same(server.session, { startedAt: server.connectedAt, expiresAt: null, tokenExpiresAt: null })
  t.ok(server.rooms instanceof Set)
  t.equal(server.rooms.size, 0)
  t.same(server.metadata, {})
  t.equal(server.headers['x-client'], 'tap')
  t.equal(server.query.room, 'lobby')
  t.equal(server.query.lang, 'en')
  t.equal(server.namespace, '/chat')
  t.equal(server.open, true)
  t.equal(server.closed, false)
  t.type(server.log.info, 'function')
  t.type(server.log.child, 'function')
  await conn.send('who')
  await conn.receive()
  t.equal(seen, server, 'handlers receive the very same Connection object')
})

t.test('ids are unique and metadata is per connection', async (t) => {
  const app = await build(t)
  app.socket.onConnect((conn) => { conn.metadata.joinedAs = conn.query.name })
  app.socket.on('remember', { payload: Type.Object({ v: Type.String() }) }, (conn, p) => { conn.metadata.v = p.v })
  app.socket.on('recall', { reply: { event: 'recalled' } }, (conn) => conn.metadata)
  const tc = client(t, app)
  const a = await tc.connect({ query: { name: 'alice' } })
  const b = await tc.connect({ query: { name: 'bob' } })
  t.not(a.id, b.id)
  await a.send('remember', { v: 'A' })
  t.same((await a.request('recall')).payload, { joinedAs: 'alice', v: 'A' })
  t.same((await b.request('recall')).payload, { joinedAs: 'bob' }, 'not shared between connections')
})

t.test('lastActive is touched by application events', async (t) => {
  const app = await build(t)
  app.socket.on('tick', { reply: { event: 'tock' } }, () => ({}))
  const conn = await client(t, app).connect()
  const first = conn.server.lastActive
  await sleep(5)
  await conn.request('tick')
  t.ok(conn.server.lastActive > first, 'an event moves lastActive forward')
  t.ok(conn.server.lastActive <= Date.now())
  t.equal(conn.server.connectedAt < conn.server.lastActive, true, 'connectedAt does not move')
})

t.test('log is a pino child carrying connectionId', async (t) => {
  const { stream, lines } = logCapture()
  const app = await build(t, { namespace: '/ns' }, { logger: { level: 'info', stream } })
  app.socket.on('say', { reply: { event: 'said' } }, (conn, _p, ctx) => {
    conn.log.info({ marker: 'conn-log' }, 'from conn.log')
    ctx.log.info({ marker: 'ctx-log' }, 'from ctx.log')
    return {}
  })
  app.socket.on('boom', {}, () => { throw new Error('kaput') })
  const conn = await client(t, app).connect()
  await conn.request('say')
  const mine = lines.filter(l => l.marker === 'conn-log')
  t.equal(mine.length, 1)
  t.equal(mine[0].connectionId, conn.id, 'conn.log lines carry the connection id')
  t.equal(mine[0].msg, 'from conn.log')
  t.equal(mine[0].namespace, '/ns')
  t.equal(lines.find(l => l.marker === 'ctx-log')?.connectionId, conn.id, 'ctx.log is bound to the connection too')
  await t.rejects(conn.request('boom', {}, { id: 'b1' }), { code: 'HANDLER_ERROR' })
  const failure = lines.find(l => l.level === 50 && l.connectionId === conn.id)
  t.ok(failure, 'a handler failure is logged at error level on the connection logger')
  t.equal(failure?.err?.message, 'kaput', 'the log keeps the exception the client never sees')
  t.equal(failure?.event, 'boom')
})

t.test('emit sends {event, payload}; undefined payload is {}; nothing after close', async (t) => {
  const app = await build(t)
  const disconnected = nextDisconnect(app)
  let kept: Connection | undefined
  app.socket.on('go', {}, (conn) => {
    kept = conn
    conn.emit('one', { a: 1 })
    conn.emit('two')
  })
  const conn = await client(t, app).connect()
  await conn.send('go')
  t.same(await conn.receive(), { event: 'one', payload: { a: 1 } })
  t.same(await conn.receive(), { event: 'two', payload: {} })
  const out = app.socket.stats().eventsOut
  await conn.close()
  await disconnected()
  t.equal(kept!.closed, true)
  t.equal(kept!.open, false)
  t.doesNotThrow(() => kept!.emit('late', {}), 'emit on a closed connection is a no-op')
  t.equal(app.socket.stats().eventsOut, out, 'nothing was sent')
})

t.test('disconnect(reason): __disconnect__ {code: 1000, reason}, then close 1000; onDisconnect gets (conn, reason, code)', async (t) => {
  const app = await build(t)
  const disconnected = nextDisconnect(app)
  app.socket.on('leave', { payload: Type.Object({ why: Type.String() }) }, (conn, p) => { conn.disconnect(p.why); conn.disconnect('twice') })
  const conn = await client(t, app).connect()
  const server = conn.server
  await conn.send('leave', { why: 'see you' })
  t.same(await conn.receive(), { event: '__disconnect__', payload: { code: 1000, reason: 'see you' } })
  t.same(await conn.closed, { code: 1000, reason: 'see you' })
  const [hookConn, reason, code] = await disconnected()
  t.equal(hookConn, server)
  t.equal(reason, 'see you')
  t.equal(code, 1000)
  await t.rejects(conn.receive({ timeout: 50 }), 'exactly one __disconnect__ even when disconnect() is called twice')
})

t.test('disconnect() without a reason uses "disconnect"', async (t) => {
  const app = await build(t)
  const disconnected = nextDisconnect(app)
  const conn = await client(t, app).connect()
  conn.server.disconnect()
  t.same(await conn.receive(), { event: '__disconnect__', payload: { code: 1000, reason: 'disconnect' } })
  t.same(await conn.closed, { code: 1000, reason: 'disconnect' })
  t.same((await disconnected()).slice(1), ['disconnect', 1000])
})

t.test('a client close reaches onDisconnect as client_closed with the client\'s code; hooks run in order, failures contained', async (t) => {
  const app = await build(t)
  const order: string[] = []
  app.socket.onDisconnect(async () => { await sleep(5); order.push('first') })
  app.socket.onDisconnect(() => { order.push('second'); throw new Error('hook broke') })
  const disconnected = nextDisconnect(app)
  const conn = await client(t, app).connect()
  await conn.close(4000, 'bye')
  const [, reason, code] = await disconnected()
  t.equal(reason, 'client_closed')
  t.equal(code, 4000)
  t.same(order, ['first', 'second'], 'awaited in registration order, a throwing hook does not stop the next')
  t.equal(app.socket.connection(conn.id), undefined)
})

t.test('socket.connection(id)', async (t) => {
  const app = await build(t)
  let inHandler: Connection | undefined
  app.socket.on('me', { reply: { event: 'me' } }, (conn) => { inHandler = conn; return {} })
  const disconnected = nextDisconnect(app)
  const conn = await client(t, app).connect()
  await conn.request('me')
  t.equal(app.socket.connection(conn.id), inHandler, 'the local Connection')
  t.equal(app.socket.connection('00000000-0000-4000-8000-000000000000'), undefined, 'unknown id')
  t.equal(app.socket.connection(''), undefined)
  await conn.close()
  await disconnected()
  t.equal(app.socket.connection(conn.id), undefined, 'gone after close')
})

t.test('socket.emit reaches every local connection; toConnection(id) reaches one', async (t) => {
  const app = await build(t)
  const tc = client(t, app)
  const conns = [await tc.connect(), await tc.connect(), await tc.connect()]
  await app.socket.emit('news', { text: 'hello all' })
  for (const c of conns) t.same(await c.receive(), { event: 'news', payload: { text: 'hello all' } }, `received by ${c.id}`)
  await app.socket.emit('bare')
  for (const c of conns) t.same(await c.receive(), { event: 'bare', payload: {} })
  await app.socket.toConnection(conns[1].id).emit('direct', { n: 1 })
  t.same(await conns[1].receive(), { event: 'direct', payload: { n: 1 } })
  await t.rejects(conns[0].receive({ timeout: 30 }), 'others did not get the direct message')
  await t.rejects(conns[2].receive({ timeout: 30 }))
  await t.resolves(app.socket.toConnection('not-here').emit('direct', {}), 'an unknown id is not an error')
})

t.test('stats() counts connections, eventsIn, eventsOut and errors by code', async (t) => {
  const app = await build(t)
  const disconnected = nextDisconnect(app)
  app.socket.on('echo', {}, (conn, p) => { conn.emit('echo', p) })
  t.same(app.socket.stats(), { connections: 0, rooms: 0, eventsIn: 0, eventsOut: 0, errors: {} }, 'exactly the SPEC shape')
  const tc = client(t, app)
  const a = await tc.connect()
  const b = await tc.connect()
  t.match(app.socket.stats(), { connections: 2, eventsIn: 0, eventsOut: 2, errors: {} }, '__connect__ counts as an outbound event')
  await a.send('echo', { n: 1 })
  await a.receive()
  t.match(app.socket.stats(), { eventsIn: 1, eventsOut: 3 })
  await a.send('missing')
  await a.receive()
  await b.sendRaw('not json')
  await b.receive()
  await b.sendRaw('{"event":"echo","payload":{"__proto__":{}}}')
  await b.receive()
  const s = app.socket.stats()
  t.match(s, { eventsIn: 4, eventsOut: 6 })
  t.same(s.errors, { UNKNOWN_EVENT: 1, VALIDATION_ERROR: 2 })
  s.errors.UNKNOWN_EVENT = 99
  t.equal(app.socket.stats().errors.UNKNOWN_EVENT, 1, 'stats() returns a copy')
  await b.close()
  await disconnected()
  t.equal(app.socket.stats().connections, 1)
})

t.test('join / leave / to(room): rooms Set, onRoomJoin / onRoomLeave hooks, to() excludes the sender, guards refuse', async (t) => {
  const app = await build(t)
  const events: string[] = []
  app.socket.onRoomJoin((conn, room) => { events.push(`join:${conn.id.slice(0, 4)}:${room}`) })
  app.socket.onRoomLeave((conn, room) => { events.push(`leave:${conn.id.slice(0, 4)}:${room}`) })
  app.socket.roomGuard('vip:{level}', (_conn, params) => params.level === 'gold')
  app.socket.on('enter', { payload: Type.Object({ room: Type.String() }), reply: { event: 'entered' } }, async (conn, p) => {
    await conn.join(p.room)
    return { rooms: [...conn.rooms] }
  })
  app.socket.on('shout', { payload: Type.Object({ room: Type.String() }) }, async (conn, p) => { await conn.to(p.room).emit('shouted', { from: conn.id }) })
  app.socket.on('exit', { payload: Type.Object({ room: Type.String() }), reply: { event: 'exited' } }, async (conn, p) => {
    await conn.leave(p.room)
    return { rooms: [...conn.rooms] }
  })
  const tc = client(t, app)
  const a = await tc.connect()
  const b = await tc.connect()
  t.same((await a.request('enter', { room: 'lobby' })).payload, { rooms: ['lobby'] })
  await b.request('enter', { room: 'lobby' })
  t.ok(a.server.rooms.has('lobby'))
  await a.send('shout', { room: 'lobby' })
  t.same(await b.receive(), { event: 'shouted', payload: { from: a.id } })
  await t.rejects(a.receive({ timeout: 30 }), 'to(room) excludes the sender')
  t.same((await a.request('exit', { room: 'lobby' })).payload, { rooms: [] })
  t.same(events, [`join:${a.id.slice(0, 4)}:lobby`, `join:${b.id.slice(0, 4)}:lobby`, `leave:${a.id.slice(0, 4)}:lobby`])
  await t.rejects(a.request('enter', { room: 'vip:silver' }), { code: 'PERMISSION_ERROR' })
  t.same((await a.request('enter', { room: 'vip:gold' })).payload, { rooms: ['vip:gold'] })
  t.same(await app.socket.rooms.members('lobby'), [b.id])
})
