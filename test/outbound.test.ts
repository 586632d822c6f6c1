import t from 'tap'
import type { Test } from 'tap'
import { once } from 'node:events'
import { Socket } from 'node:net'
import { WebSocket, WebSocketServer, type ServerOptions } from 'ws'
import { acceptsRawFrames, CORK_FRAMES, corkUntilTick, rawSocket, unsentBytes } from '../lib/ws-private.js'
import { encodeTextFrame, PreparedFrame } from '../lib/frame.js'
import { Type } from '../lib/index.js'
import { build, client } from './helpers/build.js'
import { listen, open } from './helpers/ws-client.js'
import { FrameSerializer, plainSchema } from '../lib/serializer.js'
import { kEngine } from '../lib/symbols.js'

/**
 * lib/ws-private.ts is the one file that reads private fields of `ws` and of
 * Node's stream sockets (for lib/outbound.ts and the Node client). This file is its guard: when a ws or Node upgrade
 * moves or retypes one of them, these tests fail instead of backpressure
 * silently reading `undefined`.
 */

interface Pair { server: WebSocket, client: WebSocket }

/** A real ws server/client pair over loopback TCP. */
async function pair (t: Test, serverOptions: Omit<ServerOptions, 'port' | 'host'> = {}, clientOptions: WebSocket.ClientOptions = {}): Promise<Pair> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', ...serverOptions })
  await once(wss, 'listening')
  const { port } = wss.address() as { port: number }
  const accepted = once(wss, 'connection') as Promise<[WebSocket]>
  const client = new WebSocket(`ws://127.0.0.1:${port}`, clientOptions)
  client.on('error', () => {})
  t.teardown(async () => {
    client.terminate()
    for (const ws of wss.clients) ws.terminate()
    await new Promise(resolve => wss.close(resolve))
  })
  const [[server]] = await Promise.all([accepted, once(client, 'open')])
  return { server, client }
}

/** The private fields as outbound.ts sees them. */
function privates (ws: WebSocket): any {
  return ws as any
}

t.test('the ws and Node private fields outbound.ts reads exist, with the expected types', async (t) => {
  const { server, client } = await pair(t)
  for (const [side, ws] of [['server', server], ['client', client]] as const) {
    const p = privates(ws)
    t.ok(p._socket instanceof Socket, `${side}: _socket is the net.Socket`)
    t.equal(rawSocket(ws), p._socket, `${side}: rawSocket returns it`)
    const st = p._socket._writableState
    t.type(st, 'object', `${side}: _socket._writableState`)
    t.type(st.length, 'number', `${side}: _writableState.length`)
    t.type(st.writing, 'boolean', `${side}: _writableState.writing`)
    t.type(st.writelen, 'number', `${side}: _writableState.writelen`)
    t.type(p._socket._handle, 'object', `${side}: _socket._handle (TCP)`)
    t.type(p._socket._handle.writeQueueSize, 'number', `${side}: _handle.writeQueueSize`)
    t.ok(Array.isArray(p._sender._queue), `${side}: _sender._queue is an array`)
    t.type(p._sender._bufferedBytes, 'number', `${side}: _sender._bufferedBytes`)
    t.type(p._extensions, 'object', `${side}: _extensions`)
    t.not(p._extensions, null)
  }
})

t.test('the fields mean what outbound.ts assumes', async (t) => {
  t.test('corked writes sit in _writableState.length until the socket is uncorked', async (t) => {
    const { server, client } = await pair(t)
    const raw = rawSocket(server)!
    t.equal(unsentBytes(server), 0, 'nothing unsent on an idle socket')
    raw.cork()
    server.send('a'.repeat(10_000))
    const st = privates(server)._socket._writableState
    t.ok(st.length >= 10_000, `corked: _writableState.length ${st.length}`)
    t.equal(unsentBytes(server), st.length, 'unsentBytes counts it')
    t.equal(unsentBytes(server), server.bufferedAmount, 'as ws.bufferedAmount does')
    const got = once(client, 'message')
    raw.uncork()
    await got
    t.equal(unsentBytes(server), 0, 'once the peer has it, nothing is unsent')
  })

  t.test('a peer that stops reading: what the kernel refuses shows in _handle.writeQueueSize', async (t) => {
    const { server, client } = await pair(t)
    privates(client)._socket.pause()
    const chunk = 'b'.repeat(1024 * 1024)
    for (let i = 0; i < 32; i++) server.send(chunk)
    await new Promise(resolve => setTimeout(resolve, 50))
    const raw = privates(server)._socket
    const unsent = unsentBytes(server)
    t.comment(`32 MiB sent to a paused peer: writeQueueSize ${raw._handle.writeQueueSize}, writableLength ${raw.writableLength}, unsent ${unsent}`)
    t.ok(raw._handle.writeQueueSize > 0, 'libuv holds what the kernel did not take')
    t.ok(unsent > 0 && unsent <= 32 * (chunk.length + 10), 'unsentBytes is positive and never more than was sent')
    t.ok(unsent >= raw._handle.writeQueueSize, 'and includes the libuv queue')
  })

  t.test('permessage-deflate: a message being compressed counts in _sender._bufferedBytes; later ones queue in _sender._queue', async (t) => {
    const { server } = await pair(t, { perMessageDeflate: { threshold: 0 } })
    const p = privates(server)
    t.ok('permessage-deflate' in p._extensions, 'the extension was negotiated')
    t.equal(acceptsRawFrames(server), false, 'raw frames are refused while an extension transforms frames')
    const big = 'c'.repeat(256 * 1024)
    server.send(big)
    t.ok(p._sender._bufferedBytes >= big.length, `compressing: _bufferedBytes ${p._sender._bufferedBytes}`)
    server.send(big)
    t.equal(p._sender._queue.length, 1, 'the second message waits in _sender._queue')
    t.ok(unsentBytes(server) >= 2 * big.length, 'unsentBytes counts both')
  })
})

t.test('unsentBytes', async (t) => {
  t.test('a server-side WebSocket with no socket yet has nothing unsent', async (t) => {
    const ws = new WebSocket(null as unknown as string, undefined as unknown as string[], { autoPong: true } as WebSocket.ClientOptions)
    t.equal(privates(ws)._socket, null)
    t.equal(rawSocket(ws), null)
    t.equal(unsentBytes(ws), 0)
  })

  t.test('the sender queue, the stream buffer not being written, and the libuv queue add up', async (t) => {
    const fake = (socket: unknown, bufferedBytes = 0): WebSocket =>
      ({ _socket: socket, _sender: { _queue: [], _bufferedBytes: bufferedBytes }, _extensions: {}, bufferedAmount: 0 }) as unknown as WebSocket
    t.equal(unsentBytes(fake({ _writableState: { length: 300, writing: false, writelen: 0 }, _handle: { writeQueueSize: 20 } }, 5)), 325, 'nothing in flight: all of length counts')
    t.equal(unsentBytes(fake({ _writableState: { length: 300, writing: true, writelen: 200 }, _handle: { writeQueueSize: 20 } }, 5)), 125, 'the chunk being written is counted by libuv, not twice')
    t.equal(unsentBytes(fake({ _writableState: { length: 0, writing: false, writelen: 0 }, _handle: null })), 0, 'a destroyed handle counts nothing')
    t.equal(unsentBytes(fake({ writableLength: 42 }, 8)), 50, 'a duplex without _writableState: its writableLength')
    t.equal(unsentBytes({ _socket: null, _sender: null, bufferedAmount: 7 } as unknown as WebSocket), 7, 'no socket: bufferedAmount')
  })
})

t.test('acceptsRawFrames', async (t) => {
  const { server } = await pair(t)
  t.equal(acceptsRawFrames(server), true, 'an open socket, nothing queued in ws, no extension')
  const fake = (fields: Record<string, unknown>): WebSocket =>
    ({ _socket: {}, _sender: { _queue: [] }, _extensions: {}, ...fields }) as unknown as WebSocket
  t.equal(acceptsRawFrames(fake({})), true)
  t.equal(acceptsRawFrames(fake({ _sender: { _queue: [['queued']] } })), false, 'frames queued inside ws: order would break')
  t.equal(acceptsRawFrames(fake({ _extensions: { 'permessage-deflate': {} } })), false, 'an extension transforms frames')
  t.equal(acceptsRawFrames(fake({ _extensions: undefined })), false, 'unknown extensions: refuse')
  t.equal(acceptsRawFrames(fake({ _socket: null })), false, 'no socket')
  t.equal(acceptsRawFrames(fake({ _sender: null })), false, 'no sender')
  t.equal(acceptsRawFrames(fake({ _sender: {} })), false, 'a sender without _queue (ws changed): refuse')
})

t.test('corkUntilTick: the frames sent in one tick leave in few writes, in order, and the socket is uncorked after the tick', async (t) => {
  const { server, client } = await pair(t)
  const raw = privates(client)._socket
  const writes: number[] = []
  const writev = raw._writev.bind(raw)
  raw._writev = (chunks: any[], cb: any) => { writes.push(chunks.length); writev(chunks, cb) }
  const total = 2 * CORK_FRAMES + 3
  const got: string[] = []
  const all = new Promise<void>(resolve => server.on('message', (m) => { if (got.push(String(m)) === total) resolve() }))
  for (let i = 0; i < 3; i++) {
    corkUntilTick(client)
    client.send(String(i))
  }
  t.equal(raw.writableCorked, 1, 'corked once for the tick, however many frames')
  t.ok(unsentBytes(client) > 0, 'the first frames wait in the stream buffer')
  t.same(writes, [], 'nothing written yet')
  for (let i = 3; i < total; i++) {
    corkUntilTick(client)
    client.send(String(i))
  }
  t.equal(writes.length, 2, `flushed every ${CORK_FRAMES} frames within the tick (the peer starts on them meanwhile)`)
  await new Promise(resolve => process.nextTick(resolve))
  t.equal(raw.writableCorked, 0, 'uncorked at the end of the tick')
  await all
  t.same(got, Array.from({ length: total }, (_, i) => String(i)), 'delivered in order')
  t.equal(writes.length, 3, 'in three writevs')
  t.equal(writes.reduce((a, b) => a + b, 0), 2 * total, 'holding every frame (a header and a payload chunk each)')
  corkUntilTick({})
  corkUntilTick({ _socket: null })
  t.pass('a WebSocket without a ws socket is left alone')
})

// Frames (lib/frame.ts): the text frames outbound writes as raw bytes.
t.test('encodeTextFrame produces the bytes ws itself frames, at every length boundary', async (t) => {
  for (const len of [0, 1, 125, 126, 127, 65535, 65536, 70000]) {
    const text = 'é'.repeat(Math.floor(len / 2)) + 'a'.repeat(len % 2)
    const ours = encodeTextFrame(text)
    const theirs = Buffer.concat((WebSocket as any).Sender.frame(Buffer.from(text), { fin: true, rsv1: false, opcode: 1, mask: false, readOnly: false }))
    t.same(ours, theirs, `byteLength ${Buffer.byteLength(text)}`)
  }
})

t.test('PreparedFrame encodes once, lazily', async (t) => {
  const f = new PreparedFrame('{"event":"x","payload":{}}')
  const a = f.bytes
  t.equal(f.bytes, a, 'same buffer every time')
  t.equal(f.text, '{"event":"x","payload":{}}')
})

t.test('broadcasts written as prepared bytes arrive intact over real sockets (small, 16-bit and 64-bit lengths)', async (t) => {
  const app = await build(t, { maxPayloadSize: 1024 * 1024 })
  app.socket.on('join', { payload: Type.Object({ room: Type.String() }), reply: { event: 'joined' } }, async (conn, p) => { await conn.join(p.room); return {} })
  app.socket.on('shout', { payload: Type.Object({ size: Type.Integer() }) }, async (_c, p) => {
    await app.socket.to('r').emit('big', { text: 'ü'.repeat(p.size) })
  })
  const url = await listen(t, app)
  const clients = await Promise.all([open(t, url), open(t, url), open(t, url)])
  for (const c of clients) {
    await c.next('__connect__')
    c.send('join', { room: 'r' }, 'j')
    await c.next('joined')
  }
  for (const size of [10, 40_000, 100_000]) {
    clients[0].send('shout', { size })
    for (const c of clients) {
      const m = await c.next('big')
      t.equal(m.payload.text.length, size, `size ${size}`)
      t.equal(m.payload.text, 'ü'.repeat(size))
    }
  }
  t.ok(clients.every(c => c.ws.readyState === WebSocket.OPEN))
})

// Serializers (lib/serializer.ts): declared events through fast-json-stringify.
const Said = Type.Object({ text: Type.String(), n: Type.Integer() })

t.test('undeclared events go through JSON.stringify; payload undefined becomes {}', async (t) => {
  const s = new FrameSerializer()
  t.notOk(s.has('free'))
  t.same(JSON.parse(s.frame('free', { a: [1, { b: null }] })), { event: 'free', payload: { a: [1, { b: null }] } })
  t.same(JSON.parse(s.frame('free', undefined)), { event: 'free', payload: {} })
  t.same(JSON.parse(s.frame('free', null)), { event: 'free', payload: null }, 'null stays null')
  t.same(JSON.parse(s.frame('free', 'text')), { event: 'free', payload: 'text' })
  t.same(JSON.parse(s.frame('free', 3)), { event: 'free', payload: 3 })
  t.same(JSON.parse(s.frame('free', {}, 'req-1')), { event: 'free', payload: {}, id: 'req-1' })
  t.notMatch(s.frame('free', {}), /"id"/, 'no id key without an id')
})

t.test('declared events use the compiled serializer: only declared fields, id appended', async (t) => {
  const s = new FrameSerializer()
  s.declare('said', Said, 'say')
  t.ok(s.has('said'))
  const frame = s.frame('said', { text: 'hi', n: 2, secret: 'dropped' })
  t.same(JSON.parse(frame), { event: 'said', payload: { text: 'hi', n: 2 } })
  t.same(JSON.parse(s.frame('said', { text: 'hi', n: 2 }, 'abc')), { event: 'said', payload: { text: 'hi', n: 2 }, id: 'abc' })
  t.equal(s.frame('said', { text: 'hi', n: 2 }, 'abc'), '{"event":"said","payload":{"text":"hi","n":2},"id":"abc"}', 'envelope order event, payload, id')
})

t.test('strings that need escaping stay valid JSON', async (t) => {
  const s = new FrameSerializer()
  s.declare('we"ird\\ev', Said, 'x')
  const text = 'quote " backslash \\ newline \n line-sep \u2028 emoji 🎉 nul \u0000'
  const frame = s.frame('we"ird\\ev', { text, n: 1 }, 'i"d\n')
  t.same(JSON.parse(frame), { event: 'we"ird\\ev', payload: { text, n: 1 }, id: 'i"d\n' })
  const plain = new FrameSerializer().frame('a"b', { text }, '"')
  t.same(JSON.parse(plain), { event: 'a"b', payload: { text }, id: '"' })
})

t.test('a payload that does not fit its declared schema throws OUTBOUND_VALIDATION_ERROR (never coerced)', async (t) => {
  const s = new FrameSerializer()
  s.declare('said', Said, 'say')
  t.throws(() => s.frame('said', { text: 5, n: 1 }), { code: 'OUTBOUND_VALIDATION_ERROR', details: { event: 'said', errors: [{ path: '/text', keyword: 'type' }] } })
  t.throws(() => s.frame('said', { text: 'x' }), { code: 'OUTBOUND_VALIDATION_ERROR', details: { errors: [{ path: '/n', keyword: 'required' }] } }, 'a missing field is not dropped silently')
  t.throws(() => s.frame('said', 'a string', 'id1'), { code: 'OUTBOUND_VALIDATION_ERROR' })
  t.throws(() => s.frame('said', null), { code: 'OUTBOUND_VALIDATION_ERROR' }, 'null for an object schema')
  t.same(JSON.parse(s.frame('said', { text: 'ok', n: 2 }, 'id2')), { event: 'said', payload: { text: 'ok', n: 2 }, id: 'id2' })
  const data = { text: 'x', n: 1 }
  s.frame('said', data)
  t.same(data, { text: 'x', n: 1 }, 'validation never mutates the payload')
})

t.test("outboundValidation 'never': a payload that does not fit falls back to plain JSON (never dropped)", async (t) => {
  const s = new FrameSerializer({ validate: false })
  s.declare('said', Said, 'say')
  t.same(JSON.parse(s.frame('said', { text: 5, n: 'not a number' })), { event: 'said', payload: { text: 5, n: 'not a number' } })
  t.same(JSON.parse(s.frame('said', 'a string', 'id1')), { event: 'said', payload: 'a string', id: 'id1' })
  t.same(JSON.parse(s.frame('said', null)), { event: 'said', payload: null }, 'null is sent as null, not silently replaced')
})

t.test('undeclared events are reported once per name; reserved names never', async (t) => {
  const seen: string[] = []
  const s = new FrameSerializer({ onUndeclared: (e) => seen.push(e) })
  s.declare('said', Said, 'say')
  s.declare('free', undefined, 'say')
  s.frame('said', { text: 'a', n: 1 })
  s.frame('free', { anything: true })
  s.frame('other', {})
  s.frame('other', {})
  s.frame('__ping__', { ts: 1 })
  t.same(seen, ['other'])
  t.notOk(s.has('free'), 'declared without a schema: no compiled serializer')
})

t.test('declare: the same schema twice is fine; a different one conflicts; a broken one is refused', async (t) => {
  const s = new FrameSerializer()
  s.declare('said', Said, 'a')
  t.doesNotThrow(() => s.declare('said', Type.Object({ text: Type.String(), n: Type.Integer() }), 'b'), 'structurally equal schema')
  t.throws(() => s.declare('said', Type.Object({ text: Type.String() }), 'c'), { code: 'FST_SOCKETSPEC_CONFLICTING_SCHEMA', message: /'said'/ })
  t.throws(() => s.declare('broken', { type: 'nope' } as any, 'owner_event'), { code: 'FST_SOCKETSPEC_INVALID_SCHEMA', message: /'owner_event'.*'broken'/ })
  t.notOk(s.has('broken'), 'a refused schema is not kept')
})

t.test('plainSchema drops TypeBox symbol keys', async (t) => {
  const plain = plainSchema(Said)
  t.same(Object.getOwnPropertySymbols(plain), [])
  t.same(plain, { type: 'object', properties: { text: { type: 'string' }, n: { type: 'integer' } }, required: ['text', 'n'] })
})

/** A payload whose `text` getter counts how often it is read (i.e. how often it is serialized). */
function countingPayload (): { payload: Record<string, unknown>, reads: () => number } {
  let reads = 0
  const payload: Record<string, unknown> = { n: 1 }
  Object.defineProperty(payload, 'text', { enumerable: true, get () { reads++; return 'hello' } })
  return { payload, reads: () => reads }
}

t.test('a namespace emit or a room broadcast is serialized once, whatever the number of receivers', async (t) => {
  const app = await build(t, { rooms: ['lobby'] })
  app.socket.on('say', { emits: [{ event: 'said', schema: Said }], broadcasts: [{ event: 'said', room: 'lobby', schema: Said }] }, () => {})
  const tc = client(t, app)
  const conns = [await tc.connect(), await tc.connect(), await tc.connect()]
  for (const c of conns) await app.socket.rooms.join(c.server, 'lobby')

  for (const event of ['said', 'undeclared']) {
    const all = countingPayload()
    await app.socket.emit(event, all.payload)
    for (const c of conns) t.same((await c.receiveEvent(event)).payload, { text: 'hello', n: 1 }, `${event} reached ${c.id}`)
    // what building one frame reads (validation and serialization), measured on the namespace's own serializer
    const one = countingPayload()
    app.socket[kEngine].serializer.frame(event, one.payload)
    const once = one.reads()
    t.equal(all.reads(), once, `socket.emit('${event}') serialized once for 3 receivers`)

    const room = countingPayload()
    await app.socket.rooms.broadcast('lobby', event, room.payload)
    for (const c of conns) t.same((await c.receiveEvent(event)).payload, { text: 'hello', n: 1 })
    t.equal(room.reads(), once, `rooms.broadcast('${event}') serialized once for 3 receivers`)

    const to = countingPayload()
    await app.socket.to('lobby').emit(event, to.payload)
    for (const c of conns) await c.receiveEvent(event)
    t.equal(to.reads(), once, `to(room).emit('${event}') serialized once`)
  }
})

t.test('conn.emit of a declared event is filtered by its schema end to end', async (t) => {
  const app = await build(t)
  app.socket.on('say', { emits: [{ event: 'said', schema: Said }] }, (conn) => {
    const withSecret = { text: 'x', n: 1, password: 'hunter2' }
    conn.emit('said', withSecret)
  })
  const conn = await client(t, app).connect()
  await conn.send('say')
  t.same(await conn.receive(), { event: 'said', payload: { text: 'x', n: 1 } })
})
