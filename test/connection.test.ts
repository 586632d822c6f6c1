import t from 'tap'
import { Writable } from 'node:stream'
import { Type } from '../lib/index.js'
import type { Connection } from '../lib/connection.js'
import { build, client, sleep } from './helpers/build.js'

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
