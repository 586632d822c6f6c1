import t from 'tap'
import Fastify from 'fastify'
import type { WebSocket } from 'ws'
import socketspec, { Type, SocketError } from '../lib/index.js'
import { TestClient, TestConnection } from '../lib/testing.js'
import type { Connection } from '../lib/connection.js'
import { kEngine, kSocket } from '../lib/symbols.js'
import { build, client, sleep } from './helpers/build.js'

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
