import t from 'tap'
import type { Test } from 'tap'
import { Type, SocketError } from '../../lib/index.js'
import { build, sleep } from '../helpers/build.js'
import { listen, open, type Frame, type WsClient } from '../helpers/ws-client.js'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

/**
 * Resolves with the frames that arrive until none has arrived for `quietMs`
 * (bounded by `maxMs`). The quiet window starts with the first frame (or the
 * first frame matching `until`), never before: a loaded machine may take
 * longer than any fixed window to send it.
 * WsClient keeps its own copy in its inbox: wait for named events (`next(event)`) afterwards.
 */
function quiet (c: WsClient, quietMs = 150, maxMs = 5000, until: (f: Frame) => boolean = () => true): Promise<Frame[]> {
  const got: Frame[] = []
  return new Promise(resolve => {
    let timer: NodeJS.Timeout | undefined
    let started = false
    const hard = setTimeout(done, maxMs)
    function onMessage (data: Buffer): void {
      const f = JSON.parse(data.toString()) as Frame
      got.push(f)
      if (!started && !until(f)) return
      started = true
      clearTimeout(timer)
      timer = setTimeout(done, quietMs)
    }
    function done (): void {
      clearTimeout(timer)
      clearTimeout(hard)
      c.ws.off('message', onMessage)
      resolve(got)
    }
    c.ws.on('message', onMessage)
  })
}

/** A connected client past its `__connect__`. */
async function connected (t: Test, url: string): Promise<WsClient> {
  const c = await open(t, url)
  await c.next('__connect__')
  return c
}

/** The echo app of SPEC §1 plus events that reach every error of the core pipeline. */
async function pipelineApp (t: Test, options: Record<string, unknown> = {}) {
  const app = await build(t, { maxPayloadSize: 1024, ...options })
  app.socket.on('echo', {
    payload: Type.Object({ echo: Type.String() }),
    emits: [{ event: 'echo_response', schema: Type.Object({ echo: Type.String(), from: Type.String() }) }]
  }, async (conn, payload) => { conn.emit('echo_response', { echo: payload.echo, from: conn.id }) })
  app.socket.on('add', {
    payload: Type.Object({ a: Type.Number(), b: Type.Number() }),
    reply: { event: 'sum', schema: Type.Object({ sum: Type.Number() }) }
  }, (_c, { a, b }) => ({ sum: a + b }))
  app.socket.on('boom', {}, () => { throw new Error('db password is hunter2') })
  app.socket.on('custom', {}, async () => { throw new SocketError('INSUFFICIENT_FUNDS', 'Top up first', { balance: 0 }) })
  app.socket.on('limited', { rateLimit: { rate: 0.001, capacity: 1 }, reply: { event: 'limited_ok' } }, () => ({}))
  app.socket.on('greet', { payload: Type.Object({ name: Type.String({ default: 'world' }) }), reply: { event: 'greeting' } }, (_c, p) => ({ text: 'hello ' + p.name }))
  const url = await listen(t, app)
  return { app, url }
}

/** Assert the exact `__error__` shape of SPEC §2. */
function isError (t: Test, f: Frame, code: string, id?: string): void {
  t.equal(f.event, '__error__', `${code}: an __error__ frame`)
  t.same(Object.keys(f.payload).sort(), ['code', 'details', 'message', 'request_id'], `${code}: payload keys`)
  t.equal(f.payload.code, code)
  t.type(f.payload.message, 'string')
  t.type(f.payload.details, 'object')
  if (id === undefined) {
    t.notOk('id' in f, `${code}: no top-level id when the client sent none`)
    t.match(f.payload.request_id, UUID, `${code}: request_id is a server uuid`)
  } else {
    t.equal(f.id, id, `${code}: top-level id echoed`)
    t.equal(f.payload.request_id, id, `${code}: request_id is the client id`)
  }
}

t.test('echo round trip over a real port (SPEC §1)', async (t) => {
  const { url } = await pipelineApp(t)
  const c = await open(t, url)
  const hello = await c.next()
  t.equal(hello.event, '__connect__', '__connect__ is the first frame')
  t.same(Object.keys(hello.payload).sort(), ['connection_id', 'contract', 'heartbeat_interval', 'namespace', 'session_expires_at'])
  t.type(hello.payload.contract, 'string', 'contract: the hash of the AsyncAPI document')
  t.match(hello.payload, { namespace: '/', heartbeat_interval: 25, session_expires_at: null })
  t.match(hello.payload.connection_id, UUID)
  c.send('echo', { echo: 'hi' })
  t.same(await c.next(), { event: 'echo_response', payload: { echo: 'hi', from: hello.payload.connection_id } })
  c.send('add', { a: 2, b: 3 }, 'r1')
  t.same(await c.next(), { event: 'sum', payload: { sum: 5 }, id: 'r1' })
  c.ws.send(JSON.stringify({ event: 'greet', id: 'g' }))
  t.same(await c.next(), { event: 'greeting', payload: { text: 'hello world' }, id: 'g' }, 'payload omitted is {} and defaults apply')
})

t.test('every core error code over the wire; the connection stays open', async (t) => {
  const { app, url } = await pipelineApp(t)
  const c = await connected(t, url)

  c.ws.send(JSON.stringify({ event: 'echo', payload: { echo: 'x'.repeat(1100) } }))
  const big = await c.next()
  isError(t, big, 'PAYLOAD_TOO_LARGE')
  t.equal(big.payload.details.max_bytes, 1024)

  c.send('echo', { echo: 42 }, 'v1')
  const schema = await c.next()
  isError(t, schema, 'VALIDATION_ERROR', 'v1')
  t.same(schema.payload.details.errors, [{ path: '/echo', message: 'must be string', keyword: 'type' }])

  c.send('add', { a: 1 }, 'v2')
  t.same((await c.next()).payload.details.errors, [{ path: '/b', message: "must have required property 'b'", keyword: 'required' }])

  c.send('add', { a: '1', b: 2 }, 'v3')
  t.equal((await c.next()).payload.details.errors[0].path, '/a', 'no type coercion')

  c.send('limited', {}, 'l1')
  t.equal((await c.next()).event, 'limited_ok')
  c.send('limited', {}, 'l2')
  const limited = await c.next()
  isError(t, limited, 'RATE_LIMIT_ERROR', 'l2')
  t.ok(limited.payload.details.retry_after_ms > 0, 'details.retry_after_ms')

  c.send('no_such_event', {}, 'u1')
  const unknown = await c.next()
  isError(t, unknown, 'UNKNOWN_EVENT', 'u1')
  t.same(unknown.payload.details, { event: 'no_such_event' })

  c.send('boom', {}, 'b1')
  const boom = await c.next()
  isError(t, boom, 'HANDLER_ERROR', 'b1')
  t.notMatch(JSON.stringify(boom), /hunter2|password|Error:|at /, 'no exception text or stack leaks')
  t.same(boom.payload.details, {})

  c.send('boom')
  isError(t, await c.next(), 'HANDLER_ERROR')

  c.send('custom', {}, 'c1')
  const custom = await c.next()
  isError(t, custom, 'INSUFFICIENT_FUNDS', 'c1')
  t.match(custom.payload, { message: 'Top up first', details: { balance: 0 } }, 'SocketError code, message and details pass through')

  c.send('echo', { echo: 'alive' })
  t.equal((await c.next()).payload.echo, 'alive', 'still open and answering')
  t.equal(c.ws.readyState, 1)
  t.same(app.socket.stats().errors, { PAYLOAD_TOO_LARGE: 1, VALIDATION_ERROR: 3, RATE_LIMIT_ERROR: 1, UNKNOWN_EVENT: 1, HANDLER_ERROR: 2, INSUFFICIENT_FUNDS: 1 })
})

t.test('connection rate limit over the wire', async (t) => {
  const { url } = await pipelineApp(t, { rateLimit: { rate: 10, capacity: 3 } })
  const c = await connected(t, url)
  for (let i = 0; i < 4; i++) c.send('add', { a: i, b: 0 }, 'r' + i)
  const frames = [await c.next(), await c.next(), await c.next(), await c.next()]
  t.same(frames.slice(0, 3).map(f => f.event), ['sum', 'sum', 'sum'])
  isError(t, frames[3], 'RATE_LIMIT_ERROR', 'r3')
  t.match(frames[3].payload.details, { scope: 'connection' })
  t.ok(frames[3].payload.details.retry_after_ms > 0 && frames[3].payload.details.retry_after_ms <= 100)
})

t.test('every VALIDATION_ERROR variant of the envelope, one error each', async (t) => {
  const { url } = await pipelineApp(t)
  const c = await connected(t, url)
  const variants: Array<[string, string | Buffer, string, string?]> = [
    ['bad JSON', '{"event":', 'json'],
    ['not JSON at all', 'hello', 'json'],
    ['array', '[{"event":"echo"}]', 'type'],
    ['string', '"echo"', 'type'],
    ['number', '42', 'type'],
    ['null', 'null', 'type'],
    ['missing event', '{"payload":{}}', 'required'],
    ['numeric event', '{"event":1}', 'type'],
    ['object event', '{"event":{"name":"echo"}}', 'type'],
    ['empty event', '{"event":""}', 'type'],
    ['binary frame', Buffer.from(JSON.stringify({ event: 'echo', payload: { echo: 'x' } })), 'type'],
    ['__proto__ at the top', '{"event":"echo","__proto__":{"polluted":true}}', 'prototype'],
    ['__proto__ in the payload', '{"event":"echo","payload":{"__proto__":{"polluted":true}}}', 'prototype'],
    ['constructor.prototype', '{"event":"echo","payload":{"constructor":{"prototype":{"polluted":true}}}}', 'prototype'],
    ['numeric id', '{"event":"echo","id":7}', 'type'],
    ['id over 64 chars', JSON.stringify({ event: 'echo', id: 'i'.repeat(65) }), 'maxLength'],
    ['schema failure, with id', JSON.stringify({ event: 'echo', payload: {}, id: 'sf' }), 'required', 'sf']
  ]
  for (const [label, frame, keyword, id] of variants) {
    c.ws.send(frame)
    const f = await c.next()
    isError(t, f, 'VALIDATION_ERROR', id)
    t.equal(f.payload.details.errors[0].keyword, keyword, `${label}: keyword ${keyword}`)
    t.same(Object.keys(f.payload.details.errors[0]).sort(), ['keyword', 'message', 'path'], `${label}: {path, message, keyword}`)
  }
  t.equal(({} as any).polluted, undefined, 'Object.prototype was not polluted')
  // frames are answered in order: anything extra would arrive before the sentinel's answer
  c.send('echo', { echo: 'ok' })
  t.equal((await c.next()).event, 'echo_response', 'exactly one __error__ per bad frame; the connection survived every variant')
})

t.test('the hard cap (4 × maxPayloadSize) closes 1009; frames up to it only get PAYLOAD_TOO_LARGE', async (t) => {
  const { app, url } = await pipelineApp(t)
  const disconnected = new Promise<[string, number]>(resolve => app.socket.onDisconnect((_c, reason, code) => resolve([reason, code])))
  const c = await connected(t, url)
  const frameOf = (size: number): string => {
    const base = JSON.stringify({ event: 'echo', payload: { echo: '' } })
    return JSON.stringify({ event: 'echo', payload: { echo: 'x'.repeat(size - base.length) } })
  }
  t.equal(frameOf(1024).length, 1024)
  c.ws.send(frameOf(1024))
  t.equal((await c.next()).event, 'echo_response', 'exactly maxPayloadSize is accepted')
  c.ws.send(frameOf(1025))
  isError(t, await c.next(), 'PAYLOAD_TOO_LARGE')
  c.ws.send(frameOf(4096))
  isError(t, await c.next(), 'PAYLOAD_TOO_LARGE')
  c.ws.send(frameOf(4097))
  t.equal((await c.closed).code, 1009, 'one byte over the hard cap closes 1009')
  const other = await connected(t, url)
  other.send('echo', { echo: 'fine' })
  t.equal((await other.next()).payload.echo, 'fine', 'the server is unaffected')
  t.same(await disconnected, ['message_too_big', 1009], 'onDisconnect learns why')
})

t.test('every bad frame gets exactly one __error__ (counted over a quiet window)', async (t) => {
  const { url } = await pipelineApp(t)
  const c = await connected(t, url)
  const bad: Array<string | Buffer> = [
    '{', '[]', 'true', '{"event":null}', Buffer.from([0, 1, 2]),
    '{"event":"echo","payload":{"__proto__":{}}}',
    JSON.stringify({ event: 'echo', payload: { echo: 'x'.repeat(2000) } }),
    JSON.stringify({ event: 'nope', id: 'n1' }),
    JSON.stringify({ event: 'echo', payload: { echo: 1 }, id: 'e1' }),
    JSON.stringify({ event: 'boom', id: 'b1' }),
    JSON.stringify({ event: 'boom' }),
    JSON.stringify({ event: 'custom', id: 'c1' }),
    JSON.stringify({ event: '__error__', payload: {} }),
    JSON.stringify({ event: '__connect__', id: 'x1' })
  ]
  for (const frame of bad) c.ws.send(frame)
  c.send('add', { a: 1, b: 1 }, 'sentinel')
  const frames = await quiet(c, 200, 10_000, f => f.id === 'sentinel')
  const errors = frames.filter(f => f.event === '__error__')
  t.equal(errors.length, bad.length, `${bad.length} bad frames → ${bad.length} errors`)
  t.same(frames.filter(f => f.event !== '__error__'), [{ event: 'sum', payload: { sum: 2 }, id: 'sentinel' }], 'nothing else was sent')
  t.same(errors.filter(e => e.id !== undefined).map(e => e.id).sort(), ['b1', 'c1', 'e1', 'n1', 'x1'], 'one error per client id')
  const ids = errors.map(e => e.payload.request_id)
  t.equal(new Set(ids).size, ids.length, 'every error has its own request_id')
  t.equal(c.ws.readyState, 1, 'still open')
})

t.test('the process survives a burst of 1,000 garbage frames and keeps answering', async (t) => {
  const { app, url } = await pipelineApp(t)
  const c = await connected(t, url)
  const bystander = await connected(t, url)
  const garbage = (i: number): string | Buffer => {
    switch (i % 10) {
      case 0: return Buffer.from([i & 0xff, 0xff, 0x00, 0x7b])
      case 1: return '{"event":"echo","payload":' + '['.repeat(i % 50)
      case 2: return JSON.stringify({ event: 'e' + i, payload: i })
      case 3: return '{"__proto__":{"x":' + i + '},"event":"echo"}'
      case 4: return JSON.stringify({ event: 'echo', payload: { echo: 'x'.repeat(1100 + i) } })
      case 5: return JSON.stringify({ event: ['echo'], payload: {} })
      case 6: return JSON.stringify({ event: 'add', payload: { a: 'x', b: null }, id: 'g' + i })
      case 7: return JSON.stringify({ event: 'boom', id: 'h' + i })
      case 8: return '\u0000\u0001' + String(i)
      default: return JSON.stringify([i, { event: 'echo' }])
    }
  }
  const started = Date.now()
  for (let i = 0; i < 1000; i++) c.ws.send(garbage(i))
  c.send('add', { a: 20, b: 22 }, 'after')
  const frames = await quiet(c, 300, 20_000, f => f.id === 'after')
  t.ok(Date.now() - started < 20_000, 'bounded in time')
  t.equal(frames.filter(f => f.event === '__error__').length, 1000, 'one __error__ per garbage frame')
  t.same(frames.find(f => f.id === 'after'), { event: 'sum', payload: { sum: 42 }, id: 'after' })
  t.equal(c.ws.readyState, 1, 'the sender is still connected')
  c.send('echo', { echo: 'still here' })
  t.equal((await c.next('echo_response')).payload.echo, 'still here')
  bystander.send('echo', { echo: 'me too' })
  t.equal((await bystander.next()).payload.echo, 'me too', 'other connections were served throughout')
  t.equal(app.socket.stats().connections, 2)
})

t.test('pipeline steps over the wire: middleware order, deps, ordered events, __pong__ not routed', async (t) => {
  const app = await build(t)
  const log: string[] = []
  app.socket.middleware(async (_conn, event, _payload, next) => { log.push('mw:' + event); await next() })
  app.socket.on('step', {
    payload: Type.Object({ n: Type.Integer() }),
    deps: { twice: (_conn, ctx) => { log.push('dep:' + ctx.event); return 2 } },
    ordered: true,
    reply: { event: 'stepped' }
  }, async (_conn, p, ctx) => {
    log.push('handler:' + p.n)
    await sleep(p.n === 1 ? 30 : 0)
    return { n: p.n * ctx.deps.twice }
  })
  const url = await listen(t, app)
  const c = await connected(t, url)
  c.send('__pong__')
  c.send('step', { n: 1 }, 's1')
  c.send('step', { n: 2 }, 's2')
  t.same(await c.next(), { event: 'stepped', payload: { n: 2 }, id: 's1' })
  t.same(await c.next(), { event: 'stepped', payload: { n: 4 }, id: 's2' }, 'ordered: arrival order even though the first is slower')
  t.same(log, ['mw:step', 'dep:step', 'handler:1', 'mw:step', 'dep:step', 'handler:2'])
  t.equal(app.socket.stats().errors.UNKNOWN_EVENT, undefined, '__pong__ was not routed')
})

t.test('socket.emit over a real port: every frame length class (7-bit, 16-bit, 64-bit) arrives intact and in order', async (t) => {
  const app = await build(t)
  app.socket.on('after', {}, (conn) => { conn.emit('after', { ok: true }) })
  const url = await listen(t, app)
  const clients = [await connected(t, url), await connected(t, url)]
  const overhead = JSON.stringify({ event: 'big', payload: { s: '' } }).length
  // `total` is the frame's payload length in bytes ('é' is two bytes in UTF-8)
  for (const total of [overhead + 6, 125, 126, 127, 65535, 65536, 70_000]) {
    const s = 'é'.repeat(3) + 'x'.repeat(total - overhead - 6)
    await app.socket.emit('big', { s })
    for (const c of clients) {
      c.send('after')
      const got = await c.next()
      t.equal(got.event, 'big', `${total} bytes: the broadcast first`)
      t.equal(Buffer.byteLength(JSON.stringify(got)), total)
      t.equal(got.payload.s, s, `${total} bytes intact`)
      t.same(await c.next(), { event: 'after', payload: { ok: true } }, `${total} bytes: then the direct reply`)
    }
  }
})

t.test('frames sent before __connect__ are queued and processed after it, in order', async (t) => {
  const app = await build(t, {
    auth: { authenticate: async ({ token }) => { await sleep(50); return token === 'ok' ? { userId: 'u1' } : null } }
  })
  app.socket.on('add', { payload: Type.Object({ a: Type.Number(), b: Type.Number() }), reply: { event: 'sum' } }, (_c, { a, b }) => ({ sum: a + b }))
  const url = await listen(t, app)
  const c = await open(t, url, { headers: { authorization: 'Bearer ok' } })
  c.send('add', { a: 1, b: 1 }, 'q1')
  c.ws.send('not json')
  c.send('add', { a: 2, b: 2 }, 'q2')
  t.equal((await c.next()).event, '__connect__', '__connect__ still comes first')
  t.same(await c.next(), { event: 'sum', payload: { sum: 2 }, id: 'q1' })
  isError(t, await c.next(), 'VALIDATION_ERROR')
  t.same(await c.next(), { event: 'sum', payload: { sum: 4 }, id: 'q2' })
})

t.test('pipeline step 4: __refresh_auth__ is handled, never routed; failures keep the connection', async (t) => {
  const exp = Date.now() + 3_600_000
  const app = await build(t, {
    auth: { authenticate: ({ token }) => token === 'first' ? { userId: 'u1', role: 'reader' } : token === 'second' ? { userId: 'u1', role: 'editor', tokenExpiresAt: exp } : token === 'other' ? { userId: 'u2', role: 'admin' } : null }
  })
  app.socket.on('whoami', { reply: { event: 'me' } }, (conn) => ({ user: conn.identity.userId, role: conn.identity.role }))
  const url = await listen(t, app)
  const c = await open(t, url, { headers: { authorization: 'Bearer first' } })
  await c.next('__connect__')
  c.send('__refresh_auth__', { token: 'second' }, 'r1')
  t.same(await c.next(), { event: '__auth_refreshed__', payload: { expires_at: exp }, id: 'r1' })
  c.send('whoami', {}, 'w1')
  t.same((await c.next()).payload, { user: 'u1', role: 'editor' }, 'identity replaced')
  c.send('__refresh_auth__', { token: 'forged' }, 'r2')
  isError(t, await c.next(), 'AUTH_ERROR', 'r2')
  c.send('__refresh_auth__', {}, 'r3')
  isError(t, await c.next(), 'AUTH_ERROR', 'r3')
  c.send('__refresh_auth__', { token: 'other' }, 'r4')
  const mismatch = await c.next()
  isError(t, mismatch, 'AUTH_ERROR', 'r4')
  t.equal(mismatch.payload.details.reason, 'user_mismatch', "another user's token never switches the identity")
  c.send('whoami', {}, 'w2')
  t.same((await c.next()).payload, { user: 'u1', role: 'editor' }, 'still open, identity kept')
  t.equal(app.socket.stats().errors.UNKNOWN_EVENT, undefined)

  const noAuth = await build(t)
  const url2 = await listen(t, noAuth)
  const d = await connected(t, url2)
  d.send('__refresh_auth__', { token: 'x' }, 'n1')
  isError(t, await d.next(), 'AUTH_ERROR', 'n1')
  t.equal(d.ws.readyState, 1, 'without an auth backend: AUTH_ERROR, connection kept')
})
