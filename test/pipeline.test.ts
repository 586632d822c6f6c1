import t from 'tap'
import socketspec, { Type, SocketError } from '../lib/index.js'
import { build, client, sleep, startupError } from './helpers/build.js'
import { TokenBucket } from '../lib/rate-limit.js'
import Fastify, { type FastifyInstance } from 'fastify'
import { Ajv } from 'ajv'
import { EventRegistry, createAjv, toIssues } from '../lib/registry.js'
import { FrameSerializer } from '../lib/serializer.js'
import { kEngine } from '../lib/symbols.js'

t.test('__connect__ is the first frame and carries the session facts', async (t) => {
  const app = await build(t, { namespace: '/chat', session: { heartbeatInterval: 7, maxDuration: 60 } })
  app.socket.on('noop', {}, () => {})
  const conn = await client(t, app).connect()
  t.match(conn.id, /^[0-9a-f-]{36}$/)
  t.equal(conn.server.namespace, '/chat')
  t.ok(conn.server.session.expiresAt! > Date.now() + 50_000)
})

t.test('echo: payload validated, emits through the declared serializer', async (t) => {
  const app = await build(t)
  app.socket.on('echo', {
    payload: Type.Object({ echo: Type.String() }),
    emits: [{ event: 'echo_response', schema: Type.Object({ echo: Type.String(), from: Type.String() }) }]
  }, (conn, p) => {
    // extra fields are allowed by the schema (no additionalProperties: false) and dropped by its serializer
    const out = { echo: p.echo, from: conn.id, secret: 'dropped' }
    conn.emit('echo_response', out)
  })
  const conn = await client(t, app).connect()
  await conn.send('echo', { echo: 'hi' })
  const msg = await conn.receive()
  t.same(msg, { event: 'echo_response', payload: { echo: 'hi', from: conn.id } }, 'serializer keeps only declared fields')
})

t.test('reply: the return value is sent as the reply event with the client id', async (t) => {
  const app = await build(t)
  app.socket.on('add', {
    payload: Type.Object({ a: Type.Number(), b: Type.Number() }),
    reply: { event: 'sum', schema: Type.Object({ sum: Type.Number() }) }
  }, async (_conn, { a, b }) => ({ sum: a + b }))
  const conn = await client(t, app).connect()
  const reply = await conn.request('add', { a: 1, b: 2 }, { id: 'req-1' })
  t.same(reply, { event: 'sum', payload: { sum: 3 }, id: 'req-1' })
  await conn.send('add', { a: 2, b: 2 })
  t.same(await conn.receive(), { event: 'sum', payload: { sum: 4 } }, 'no id when the client sent none')
})

t.test('PAYLOAD_TOO_LARGE keeps the connection; the hard cap closes 1009', async (t) => {
  const app = await build(t, { maxPayloadSize: 1024 })
  app.socket.on('echo', {}, (conn, p) => { conn.emit('echo', p) })
  const conn = await client(t, app).connect()
  await conn.sendRaw(JSON.stringify({ event: 'echo', payload: { x: 'a'.repeat(2000) } }))
  const err = await conn.receive()
  t.equal(err.event, '__error__')
  t.equal(err.payload.code, 'PAYLOAD_TOO_LARGE')
  t.equal(err.payload.details.max_bytes, 1024)
  t.match(err.payload.request_id, /^[0-9a-f-]{36}$/)
  await conn.send('echo', { ok: true })
  t.same((await conn.receive()).payload, { ok: true }, 'still open')
  await conn.sendRaw(JSON.stringify({ event: 'echo', payload: { x: 'a'.repeat(5000) } }))
  const closed = await conn.closed
  t.equal(closed.code, 1009)
})

t.test('VALIDATION_ERROR for every malformed frame, one error each, connection kept', async (t) => {
  const app = await build(t)
  app.socket.on('echo', { payload: Type.Object({ echo: Type.String() }) }, (conn, p) => { conn.emit('echo', p) })
  const conn = await client(t, app).connect()
  const bad: Array<[string | Buffer, string]> = [
    ['{not json', 'json'],
    ['[1,2]', 'type'],
    ['"str"', 'type'],
    ['null', 'type'],
    ['{"payload":{}}', 'required'],
    ['{"event":42}', 'type'],
    ['{"event":""}', 'type'],
    [Buffer.from([1, 2, 3]), 'type'],
    ['{"event":"echo","payload":{"__proto__":{"x":1}}}', 'prototype'],
    ['{"event":"echo","payload":{"constructor":{"prototype":{"x":1}}}}', 'prototype'],
    ['{"event":"echo","id":5}', 'type'],
    [JSON.stringify({ event: 'echo', id: 'x'.repeat(65) }), 'maxLength']
  ]
  for (const [frame, keyword] of bad) {
    await conn.sendRaw(frame)
    const msg = await conn.receive()
    t.equal(msg.event, '__error__', String(frame).slice(0, 40))
    t.equal(msg.payload.code, 'VALIDATION_ERROR')
    t.equal(msg.payload.details.errors[0].keyword, keyword, `keyword for ${String(frame).slice(0, 40)}`)
  }
  t.equal(app.socket.stats().errors.VALIDATION_ERROR, bad.length)
  await conn.send('echo', { echo: 'still here' })
  t.same((await conn.receive()).payload, { echo: 'still here' })
})

t.test('schema failure: details.errors = [{path, message, keyword}], id echoed', async (t) => {
  const app = await build(t)
  app.socket.on('user', {
    payload: Type.Object({ name: Type.String({ minLength: 2 }), age: Type.Integer({ minimum: 0 }) })
  }, () => {})
  const conn = await client(t, app).connect()
  await t.rejects(conn.request('user', { name: 'x', age: 3 }, { id: 'v1' }), { code: 'VALIDATION_ERROR' })
  await conn.send('user', { name: 'xy' }, { id: 'v2' })
  const err = await conn.receive()
  t.equal(err.id, 'v2')
  t.equal(err.payload.request_id, 'v2')
  t.same(err.payload.details.errors, [{ path: '/age', message: "must have required property 'age'", keyword: 'required' }])
  await conn.send('user', { name: 'xy', age: '3' }, { id: 'v3' })
  const coerced = await conn.receive()
  t.equal(coerced.payload.details.errors[0].path, '/age', 'no type coercion')
  t.equal(coerced.payload.details.errors.length, 1, 'allErrors is off')
})

t.test('payload omitted is {} for validation; defaults are applied', async (t) => {
  const app = await build(t)
  app.socket.on('greet', {
    payload: Type.Object({ name: Type.String({ default: 'world' }) }),
    reply: { event: 'greeting' }
  }, (_c, p) => ({ text: 'hello ' + p.name }))
  const conn = await client(t, app).connect()
  await conn.sendRaw(JSON.stringify({ event: 'greet', id: 'g' }))
  t.same(await conn.receive(), { event: 'greeting', payload: { text: 'hello world' }, id: 'g' })
})

t.test('UNKNOWN_EVENT names the event; reserved names from clients are unknown too', async (t) => {
  const app = await build(t)
  app.socket.on('known', {}, () => {})
  const conn = await client(t, app).connect()
  await conn.send('nope', {}, { id: 'u1' })
  const err = await conn.receive()
  t.same(err.payload.details, { event: 'nope' })
  t.equal(err.payload.code, 'UNKNOWN_EVENT')
  t.equal(err.id, 'u1')
  await conn.send('__connect__', {})
  t.equal((await conn.receive()).payload.code, 'UNKNOWN_EVENT')
})

t.test('__pong__ is not routed and does not count as activity', async (t) => {
  const app = await build(t)
  app.socket.on('x', {}, () => {})
  const conn = await client(t, app).connect()
  const before = conn.server.lastActive
  await sleep(15)
  await conn.send('__pong__', {})
  await conn.send('x', {}, { id: 'after' })
  await sleep(20)
  t.ok(conn.server.lastActive > before, 'application event touched lastActive')
  const last = conn.server.lastActive
  await sleep(15)
  await conn.send('__pong__', {})
  await sleep(20)
  t.equal(conn.server.lastActive, last, 'pong did not touch lastActive')
  t.equal(app.socket.stats().errors.UNKNOWN_EVENT, undefined, 'no error for __pong__')
})

t.test('RATE_LIMIT_ERROR: connection bucket, then the event bucket, with retry_after_ms', async (t) => {
  const app = await build(t, { rateLimit: { rate: 1, capacity: 3 } })
  app.socket.on('a', { reply: { event: 'ok' } }, () => ({}))
  app.socket.on('b', { reply: { event: 'ok' }, rateLimit: { rate: 1, capacity: 1 } }, () => ({}))
  const conn = await client(t, app).connect()
  await conn.request('b', {})
  await t.rejects(conn.request('b', {}), { code: 'RATE_LIMIT_ERROR', details: { scope: 'event' } })
  await conn.request('a', {})
  const err = await conn.request('a', {}).catch(e => e)
  t.equal(err.code, 'RATE_LIMIT_ERROR')
  t.equal(err.details.scope, 'connection')
  t.ok(err.details.retry_after_ms > 0 && err.details.retry_after_ms <= 1000, 'retry_after_ms ' + err.details.retry_after_ms)
})

t.test('HANDLER_ERROR hides the exception; SocketError passes through; onError hooks run', async (t) => {
  const app = await build(t)
  const seen: string[] = []
  app.socket.onError((_conn, err, ctx) => { seen.push(`${ctx.event}:${(err as Error).message}`) })
  app.socket.on('boom', {}, () => { throw new Error('secret database password') })
  app.socket.on('nope', {}, async () => { throw new SocketError('NOT_ALLOWED', 'You shall not pass', { why: 'test' }) })
  app.socket.on('depfail', { deps: { db: () => { throw new Error('dep secret') } } }, () => {})
  const conn = await client(t, app).connect()
  const e1 = await conn.request('boom', {}).catch(e => e)
  t.equal(e1.code, 'HANDLER_ERROR')
  t.notMatch(e1.message, /secret/)
  t.same(e1.details, {})
  const e2 = await conn.request('nope', {}).catch(e => e)
  t.match(e2, { code: 'NOT_ALLOWED', message: 'You shall not pass', details: { why: 'test' } })
  const e3 = await conn.request('depfail', {}).catch(e => e)
  t.equal(e3.code, 'HANDLER_ERROR')
  t.notMatch(e3.message, /secret/)
  t.same(seen, ['boom:secret database password', 'nope:You shall not pass', 'depfail:dep secret'])
  t.same(app.socket.stats().errors, { HANDLER_ERROR: 2, NOT_ALLOWED: 1 })
})

t.test('request_id is the client id, else a server uuid', async (t) => {
  const app = await build(t)
  const conn = await client(t, app).connect()
  await conn.send('missing', {})
  const err = await conn.receive()
  t.equal(err.id, undefined)
  t.match(err.payload.request_id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
})

t.test('middleware runs in order before validation and can stop the chain', async (t) => {
  const app = await build(t)
  const order: string[] = []
  app.socket.middleware(async (_conn, event, payload, next) => {
    order.push('m1:' + event + ':' + JSON.stringify(payload))
    await next()
    order.push('m1:after')
  })
  app.socket.middleware(async (conn, event, _payload, next) => {
    order.push('m2')
    if (event === 'blocked') { conn.emit('blocked_by_middleware', {}); return }
    await next()
  })
  app.socket.on('strict', { payload: Type.Object({ n: Type.Number() }), reply: { event: 'ok' } }, () => { order.push('handler'); return {} })
  app.socket.on('blocked', {}, () => { order.push('never') })
  const conn = await client(t, app).connect()
  await conn.request('strict', { n: 1 })
  t.same(order, ['m1:strict:{"n":1}', 'm2', 'handler', 'm1:after'])
  order.length = 0
  await t.rejects(conn.request('strict', { n: 'x' }), { code: 'VALIDATION_ERROR' })
  t.same(order, ['m1:strict:{"n":"x"}', 'm2', 'm1:after'], 'middleware sees the payload before validation')
  order.length = 0
  await conn.send('blocked', {})
  t.equal((await conn.receive()).event, 'blocked_by_middleware')
  t.notOk(order.includes('never'))
  t.same(order, ['m1:blocked:{}', 'm2', 'm1:after'], 'm2 stopped the chain: outer middleware unwinds, no handler')
})

t.test('deps are resolved before the handler and reach ctx.deps', async (t) => {
  const app = await build(t)
  app.socket.on('who', {
    deps: {
      user: async (conn) => ({ id: conn.id.slice(0, 4) }),
      answer: () => 42
    },
    reply: { event: 'me' }
  }, (_conn, _p, ctx) => ({ user: ctx.deps.user.id, answer: ctx.deps.answer, event: ctx.event }))
  const conn = await client(t, app).connect()
  const reply = await conn.request('who', {})
  t.same(reply.payload, { user: conn.id.slice(0, 4), answer: 42, event: 'who' })
})

t.test('ordered events run one at a time in arrival order; others concurrently', async (t) => {
  const app = await build(t)
  const log: string[] = []
  app.socket.on('ordered', { payload: Type.Object({ n: Type.Integer(), wait: Type.Integer() }), ordered: true }, async (conn, p) => {
    log.push('start' + p.n)
    await sleep(p.wait)
    log.push('end' + p.n)
    conn.emit('done', { n: p.n })
  })
  app.socket.on('free', { payload: Type.Object({ n: Type.Integer(), wait: Type.Integer() }) }, async (conn, p) => {
    await sleep(p.wait)
    conn.emit('done', { n: p.n })
  })
  const conn = await client(t, app).connect()
  await conn.send('ordered', { n: 1, wait: 40 })
  await conn.send('ordered', { n: 2, wait: 0 })
  await conn.send('ordered', { n: 3, wait: 10 })
  const got = [await conn.receive(), await conn.receive(), await conn.receive()].map(m => m.payload.n)
  t.same(got, [1, 2, 3])
  t.same(log, ['start1', 'end1', 'start2', 'end2', 'start3', 'end3'])
  await conn.send('free', { n: 1, wait: 40 })
  await conn.send('free', { n: 2, wait: 0 })
  const free = [await conn.receive(), await conn.receive()].map(m => m.payload.n)
  t.same(free, [2, 1], 'unordered events overlap')
})

t.test('a handler never runs after its connection closed', async (t) => {
  const app = await build(t)
  let ran = 0
  app.socket.on('slow', { deps: { wait: () => sleep(50) } }, () => { ran++ })
  const conn = await client(t, app).connect()
  await conn.send('slow', {})
  await sleep(5)
  await conn.close()
  await sleep(80)
  t.equal(ran, 0)
})

t.test('errors never crash: throwing hooks and non-Error throws', async (t) => {
  const app = await build(t)
  app.socket.onError(() => { throw new Error('hook broke') })
  app.socket.onError(async () => { throw new Error('async hook broke') })
  app.socket.onConnect(() => { throw new Error('connect hook broke') })
  app.socket.on('str', {}, () => { throw 'a string' }) // eslint-disable-line no-throw-literal
  const conn = await client(t, app).connect()
  await t.rejects(conn.request('str', {}), { code: 'HANDLER_ERROR' })
  await t.rejects(conn.request('str', {}), { code: 'HANDLER_ERROR' }, 'still open and answering')
})

t.test('payload schemas: extra fields pass unless additionalProperties is false; defaults apply; no coercion', async (t) => {
  const app = await build(t)
  app.socket.on('open_shape', { payload: Type.Object({ text: Type.String() }), reply: { event: 'seen' } }, (_c, p) => ({ got: p }))
  app.socket.on('closed_shape', { payload: Type.Object({ text: Type.String() }, { additionalProperties: false }), reply: { event: 'seen' } }, (_c, p) => ({ got: p }))
  app.socket.on('defaults', { payload: Type.Object({ name: Type.String({ default: 'world' }), n: Type.Number() }), reply: { event: 'seen' } }, (_c, p) => ({ got: p }))
  const conn = await client(t, app).connect()
  t.same((await conn.request('open_shape', { text: 'a', extra: 1 })).payload, { got: { text: 'a', extra: 1 } }, 'extra fields reach the handler')
  const err = await conn.request('closed_shape', { text: 'a', extra: 1 }).catch(e => e)
  t.equal(err.code, 'VALIDATION_ERROR')
  t.match(err.details.errors[0], { keyword: 'additionalProperties', path: '/extra' })
  t.same((await conn.request('defaults', { n: 1 })).payload, { got: { name: 'world', n: 1 } })
  t.match(await conn.request('defaults', { n: '1' }).catch(e => e), { code: 'VALIDATION_ERROR' }, '"1" is not coerced to a number')
})

// Rate limits (lib/rate-limit.ts): the token bucket behind the per-event limits.
const T0 = 1_000_000

t.test('a new bucket is full: capacity takes pass at once, the next waits 1/rate seconds', async (t) => {
  const b = new TokenBucket(2, 3, T0)
  t.equal(b.take(T0), 0)
  t.equal(b.take(T0), 0)
  t.equal(b.take(T0), 0)
  t.equal(b.take(T0), 500, 'empty: one token every 500 ms at rate 2')
  t.equal(b.take(T0), 500, 'a refused take does not consume anything')
})

t.test('refill is proportional to elapsed time and the wait shrinks with it', async (t) => {
  const b = new TokenBucket(2, 3, T0)
  for (let i = 0; i < 3; i++) b.take(T0)
  t.equal(b.take(T0 + 100), 400, '0.2 token refilled: 400 ms left')
  const almost = b.take(T0 + 499)
  t.ok(almost >= 1 && almost <= 2, `just short of a token: ${almost} ms (at least 1, float rounding aside)`)
  t.equal(b.take(T0 + 500), 0, 'a whole token after 500 ms')
  t.equal(b.take(T0 + 500), 500)
  t.equal(b.take(T0 + 1500), 0, 'two tokens after another second')
  t.equal(b.take(T0 + 1500), 0)
  t.equal(b.take(T0 + 1500), 500)
})

t.test('the bucket never holds more than capacity, however long it idles', async (t) => {
  const b = new TokenBucket(10, 2, T0)
  b.take(T0)
  const later = T0 + 3_600_000
  t.equal(b.take(later), 0)
  t.equal(b.take(later), 0)
  t.equal(b.take(later), 100, 'only capacity (2) tokens after an hour')
})

t.test('fractional rates and capacities', async (t) => {
  const slow = new TokenBucket(0.5, 1, T0)
  t.equal(slow.take(T0), 0)
  t.equal(slow.take(T0), 2000, 'rate 0.5/s: 2 s per token')
  t.ok(slow.take(T0 + 1999) >= 1)
  t.equal(slow.take(T0 + 2000), 0)

  const odd = new TokenBucket(3, 1, T0)
  odd.take(T0)
  const wait = odd.take(T0)
  t.equal(wait, 334, 'ceil(1000 / 3)')
  t.equal(odd.take(T0 + wait), 0, 'retrying after exactly retry_after_ms succeeds')

  const half = new TokenBucket(1, 1.5, T0)
  t.equal(half.take(T0), 0)
  t.equal(half.take(T0), 500, '0.5 token left: 500 ms to the next whole one')
})

t.test('a clock going backwards neither adds tokens nor breaks the bucket', async (t) => {
  const b = new TokenBucket(1, 1, T0)
  t.equal(b.take(T0), 0)
  t.equal(b.take(T0 - 10_000), 1000, 'no refill from a past timestamp')
  t.equal(b.take(T0 + 1000), 0, 'refill resumes from the last seen time')
})

t.test('the default start time is now', async (t) => {
  const b = new TokenBucket(1, 1)
  t.equal(b.take(Date.now()), 0)
  t.ok(b.take(Date.now()) > 0)
  t.equal(b.rate, 1)
  t.equal(b.capacity, 1)
})

t.test('over the wire: connection bucket refuses with retry_after_ms and accepts again after it', async (t) => {
  const app = await build(t, { rateLimit: { rate: 20, capacity: 2 } })
  let ran = 0
  app.socket.on('hit', { reply: { event: 'hit_ok' } }, () => { ran++; return {} })
  const conn = await client(t, app).connect()
  await conn.request('hit')
  await conn.request('hit')
  const err = await conn.request('hit').catch(e => e)
  t.equal(err.code, 'RATE_LIMIT_ERROR')
  t.equal(err.details.scope, 'connection')
  t.ok(err.details.retry_after_ms > 0 && err.details.retry_after_ms <= 50, `retry_after_ms ${err.details.retry_after_ms} <= 1000/rate`)
  t.equal(ran, 2, 'a refused frame never reaches the handler')
  await sleep(err.details.retry_after_ms + 5)
  t.same((await conn.request('hit')).event, 'hit_ok', 'accepted again after retry_after_ms')
})

t.test('over the wire: unknown events spend connection tokens; malformed frames are refused before the bucket', async (t) => {
  const app = await build(t, { rateLimit: { rate: 0.001, capacity: 2 } })
  app.socket.on('hit', { reply: { event: 'hit_ok' } }, () => ({}))
  const conn = await client(t, app).connect()
  await conn.sendRaw('{broken')
  t.equal((await conn.receive()).payload.code, 'VALIDATION_ERROR')
  await t.rejects(conn.request('nope'), { code: 'UNKNOWN_EVENT' })
  await conn.request('hit')
  await t.rejects(conn.request('hit'), { code: 'RATE_LIMIT_ERROR' }, 'the unknown event used a token, the bad JSON did not')
})

t.test('over the wire: per-event buckets are per connection and per event', async (t) => {
  const app = await build(t)
  app.socket.on('limited', { rateLimit: { rate: 0.001, capacity: 1 }, reply: { event: 'ok' } }, () => ({}))
  app.socket.on('other', { rateLimit: { rate: 0.001, capacity: 1 }, reply: { event: 'ok' } }, () => ({}))
  app.socket.on('free', { reply: { event: 'ok' } }, () => ({}))
  const tc = client(t, app)
  const a = await tc.connect()
  const b = await tc.connect()
  await a.request('limited')
  const err = await a.request('limited', {}, { id: 'r2' }).catch(e => e)
  t.match(err, { code: 'RATE_LIMIT_ERROR', details: { scope: 'event', event: 'limited' } })
  t.ok(err.details.retry_after_ms > 0)
  await a.request('other')
  await a.request('free')
  await a.request('free')
  await b.request('limited')
  t.pass('another event, an unlimited event and another connection each have their own budget')
  t.equal(app.socket.stats().errors.RATE_LIMIT_ERROR, 1)
})

// The event registry (lib/registry.ts): declarations, their schemas compiled once.
/** A fresh app with socketspec registered; `declare` adds events; returns what `ready` threw. */
const readyError = async (declare: (app: FastifyInstance) => void): Promise<any> => await startupError({}, declare)

const noop = (): void => {}

t.test('reserved __x__ names are refused at ready, naming the event', async (t) => {
  for (const name of ['__connect__', '__error__', '__ping__', '__pong__', '__refresh_auth__', '__custom__', '__x__']) {
    const err = await readyError(app => { app.socket.on(name, {}, noop) })
    t.match(err, { code: 'FST_SOCKETSPEC_RESERVED_EVENT', message: new RegExp(`'${name}'`) }, name)
  }
  for (const name of ['_private', '__leading', 'trailing__', 'a__b__c', 'chat:message']) {
    t.equal(await readyError(app => { app.socket.on(name, {}, noop) }), null, `${name} is allowed`)
  }
})

t.test('on() only records: the error surfaces at ready, not at on()', async (t) => {
  const app = await build(t)
  t.doesNotThrow(() => app.socket.on('__nope__', {}, noop))
  await t.rejects(async () => { await app.ready() }, { code: 'FST_SOCKETSPEC_RESERVED_EVENT' })
})

t.test('duplicate event names in a namespace', async (t) => {
  const err = await readyError(app => {
    app.socket.on('echo', {}, noop)
    app.socket.on('other', {}, noop)
    app.socket.on('echo', { description: 'again' }, noop)
  })
  t.match(err, { code: 'FST_SOCKETSPEC_DUPLICATE_EVENT', message: /'echo'.*'\/'/ })
})

t.test('the same name in two namespaces is fine', async (t) => {
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  await app.register(socketspec, { path: '/a', namespace: '/a', decorator: 'a' })
  await app.register(socketspec, { path: '/b', namespace: '/b', decorator: 'b' })
  ;(app as any).a.on('echo', {}, noop)
  ;(app as any).b.on('echo', {}, noop)
  await t.resolves(async () => { await app.ready() })
})

t.test('invalid payload schemas are refused, naming the event', async (t) => {
  const schemas: unknown[] = [
    { type: 'nope' },
    { type: 'string', minLength: 'x' },
    { type: 'object', properties: { a: { $ref: '#/definitions/missing' } } },
    'string',
    42,
    null
  ]
  for (const payload of schemas) {
    const err = await readyError(app => { app.socket.on('bad_schema', { payload: payload as any }, noop) })
    t.match(err, { code: 'FST_SOCKETSPEC_INVALID_SCHEMA', message: /'bad_schema'/ }, JSON.stringify(payload))
  }
})

t.test('invalid outbound schemas are refused, naming the event and the outbound event', async (t) => {
  const err1 = await readyError(app => { app.socket.on('talk', { emits: [{ event: 'said', schema: { type: 'nope' } as any }] }, noop) })
  t.match(err1, { code: 'FST_SOCKETSPEC_INVALID_SCHEMA', message: /'talk'.*'said'/ })
  const err2 = await readyError(app => { app.socket.on('ask', { reply: { event: 'answer', schema: { type: 'object', properties: { x: { $ref: '#/nope' } } } as any } }, noop) })
  t.match(err2, { code: 'FST_SOCKETSPEC_INVALID_SCHEMA', message: /'ask'.*'answer'/ })
  const err3 = await readyError(app => { app.socket.on('shout', { broadcasts: [{ event: 'shouted', room: 'lobby', schema: { type: 'nope' } as any }] }, noop) })
  t.match(err3, { code: 'FST_SOCKETSPEC_INVALID_SCHEMA', message: /'shout'.*'shouted'/ })
})

t.test('a missing or non-function handler is refused', async (t) => {
  for (const handler of [undefined, null, 'handler', {}]) {
    const err = await readyError(app => { (app.socket as any).on('lonely', {}, handler) })
    t.match(err, { code: 'FST_SOCKETSPEC_INVALID_EVENT', message: /'lonely'.*handler/ }, String(handler))
  }
})

t.test('empty or non-string event names are refused', async (t) => {
  for (const name of ['', 42, null]) {
    const err = await readyError(app => { (app.socket as any).on(name, {}, noop) })
    t.match(err, { code: 'FST_SOCKETSPEC_INVALID_EVENT' }, JSON.stringify(name))
  }
})

t.test('bad emits / broadcasts / reply entries are refused, naming the event', async (t) => {
  const cases: Array<[string, Record<string, unknown>]> = [
    ['emits entry without event', { emits: [{ schema: Type.Object({}) }] }],
    ['emits entry null', { emits: [null] }],
    ['emits entry with empty event', { emits: [{ event: '' }] }],
    ['emits entry with numeric event', { emits: [{ event: 5 }] }],
    ['broadcasts entry without event', { broadcasts: [{ room: 'lobby' }] }],
    ['broadcasts entry without room', { broadcasts: [{ event: 'said' }] }],
    ['broadcasts entry with empty room', { broadcasts: [{ event: 'said', room: '' }] }],
    ['reply without event', { reply: { schema: Type.Object({}) } }],
    ['reply null', { reply: null }],
    ['reply with empty event', { reply: { event: '' } }]
  ]
  for (const [label, options] of cases) {
    const err = await readyError(app => { app.socket.on('decl', options as any, noop) })
    t.match(err, { code: 'FST_SOCKETSPEC_INVALID_EVENT', message: /'decl'/ }, label)
  }
})

t.test('emits / broadcasts that are not arrays are refused with a coded error', async (t) => {
  for (const [label, options] of [['emits object', { emits: { event: 'x' } }], ['broadcasts string', { broadcasts: 'lobby' }]] as const) {
    const err = await readyError(app => { app.socket.on('decl', options as any, noop) })
    t.match(err, { code: /^FST_SOCKETSPEC_/, message: /'decl'/ }, label)
  }
})

t.test('bad per-event rateLimit and deps are refused, naming the event', async (t) => {
  for (const rateLimit of [{ rate: 0, capacity: 1 }, { rate: 1, capacity: 0 }, { rate: -1, capacity: 5 }, { rate: 'fast', capacity: 5 }]) {
    const err = await readyError(app => { app.socket.on('limited', { rateLimit: rateLimit as any }, noop) })
    t.match(err, { code: 'FST_SOCKETSPEC_INVALID_EVENT', message: /'limited'.*rateLimit/ }, JSON.stringify(rateLimit))
  }
  const err = await readyError(app => { app.socket.on('needs', { deps: { db: 'postgres' } as any }, noop) })
  t.match(err, { code: 'FST_SOCKETSPEC_INVALID_EVENT', message: /'needs'.*'db'/ })
})

t.test('conflicting outbound schemas for the same outbound event are refused', async (t) => {
  const err = await readyError(app => {
    app.socket.on('a', { emits: [{ event: 'news', schema: Type.Object({ text: Type.String() }) }] }, noop)
    app.socket.on('b', { broadcasts: [{ event: 'news', room: 'lobby', schema: Type.Object({ text: Type.Number() }) }] }, noop)
  })
  t.match(err, { code: 'FST_SOCKETSPEC_CONFLICTING_SCHEMA', message: /'news'/ })
  const same = await readyError(app => {
    app.socket.on('a', { emits: [{ event: 'news', schema: Type.Object({ text: Type.String() }) }] }, noop)
    app.socket.on('b', { reply: { event: 'news', schema: Type.Object({ text: Type.String() }) } }, () => ({ text: 'x' }))
    app.socket.on('c', { emits: [{ event: 'news' }] }, noop)
  })
  t.equal(same, null, 'the same schema twice, or once without a schema, is fine')
})

t.test('on() and middleware() after ready throw FST_SOCKETSPEC_ALREADY_STARTED', async (t) => {
  const app = await build(t)
  await app.ready()
  t.throws(() => app.socket.on('late', {}, noop), { code: 'FST_SOCKETSPEC_ALREADY_STARTED', message: /'on'/ })
  t.throws(() => app.socket.middleware(async (_c, _e, _p, next) => { await next() }), { code: 'FST_SOCKETSPEC_ALREADY_STARTED', message: /'middleware'/ })
})

t.test('hooks must be functions (FST_SOCKETSPEC_INVALID_HOOK)', async (t) => {
  const app = await build(t)
  const s = app.socket as any
  for (const name of ['onConnect', 'onDisconnect', 'onError', 'onRoomJoin', 'onRoomLeave', 'middleware']) {
    t.throws(() => s[name]('nope'), { code: 'FST_SOCKETSPEC_INVALID_HOOK', message: new RegExp(`'${name}'`) }, name)
  }
  t.throws(() => s.roomGuard('admin:{x}', 'nope'), { code: 'FST_SOCKETSPEC_INVALID_HOOK', message: /'roomGuard'/ })
})

t.test('on(event, handler) without options is accepted', async (t) => {
  const app = await build(t)
  app.socket.on('bare', (conn) => { conn.emit('bare_ok', {}) })
  const conn = await client(t, app).connect()
  await conn.send('bare')
  t.equal((await conn.receive()).event, 'bare_ok')
})

t.test('every validator is compiled once, at ready, never per message', async (t) => {
  const proto = Ajv.prototype as any
  const original = proto.compile
  let compiles = 0
  proto.compile = function (this: Ajv, ...args: unknown[]) { compiles++; return original.apply(this, args) }
  const serializerProto = FrameSerializer.prototype as any
  const originalDeclare = serializerProto.declare
  let declares = 0
  serializerProto.declare = function (this: FrameSerializer, ...args: unknown[]) { declares++; return originalDeclare.apply(this, args) }
  t.teardown(() => { proto.compile = original; serializerProto.declare = originalDeclare })

  const app = await build(t)
  const Shared = Type.Object({ n: Type.Integer() })
  app.socket.on('a', { payload: Shared, reply: { event: 'a_ok', schema: Type.Object({ n: Type.Integer() }) } }, (_c, p) => p)
  app.socket.on('b', { payload: Type.Object({ s: Type.String() }), emits: [{ event: 'b_ok', schema: Type.Object({ s: Type.String() }) }] }, (conn, p) => { conn.emit('b_ok', p) })
  app.socket.on('c', {}, noop)
  t.equal(compiles, 0, 'nothing compiled at on()')
  t.equal(declares, 0)
  await app.ready()
  t.equal(compiles, 4, 'one Ajv compile per inbound payload schema and one per declared outbound schema')
  t.equal(declares, 2, 'one serializer per declared outbound schema')
  const engine = app.socket[kEngine]
  t.ok(engine.serializer.has('a_ok') && engine.serializer.has('b_ok'))
  t.match(createAjv().opts, { allErrors: false, useDefaults: true, coerceTypes: false }, 'allErrors off, defaults on, no coercion')

  await app.ready()
  const conn = await client(t, app).connect()
  for (let i = 0; i < 20; i++) {
    t.same((await conn.request('a', { n: i })).payload, { n: i })
    await conn.send('b', { s: 'x' + i })
    t.same((await conn.receive()).payload, { s: 'x' + i })
  }
  await t.rejects(conn.request('a', { n: 'x' }), { code: 'VALIDATION_ERROR' })
  t.equal(compiles, 4, 'no compile per message')
  t.equal(declares, 2, 'no serializer compiled per message')

  // Another app of this process declaring the same schema objects compiles nothing for them; an equal but
  // different object is compiled (by identity, as Ajv caches).
  const again = await build(t)
  const Reply = Type.Object({ n: Type.Integer() })
  again.socket.on('a', { payload: Shared, reply: { event: 'a_ok', schema: Reply } }, (_c, p) => p)
  again.socket.on('z', { payload: Type.Object({ n: Type.Integer() }) }, noop)
  await again.ready()
  t.equal(compiles, 6, "Shared is not compiled again; z's payload and the new reply schema are")
  const third = await build(t)
  third.socket.on('a', { payload: Shared, reply: { event: 'a_ok', schema: Reply } }, (_c, p) => p)
  await third.ready()
  t.equal(compiles, 6, 'an app declaring only known schema objects compiles nothing')
  const c2 = await client(t, third).connect()
  t.same((await c2.request('a', { n: 7 })).payload, { n: 7 })
  await t.rejects(c2.request('a', { n: 'x' }), { code: 'VALIDATION_ERROR' }, 'the shared validator validates')
})

t.test('EventRegistry unit: compile is idempotent, definitions keep registration order', async (t) => {
  const registry = new EventRegistry()
  const def = (name: string, extra: Record<string, unknown> = {}) => ({ name, tags: [], emits: [], broadcasts: [], ordered: false, deprecated: false, handler: noop, ...extra })
  registry.add(def('one', { payload: Type.Object({ x: Type.String() }), rateLimit: { rate: 1, capacity: 2 }, deps: { a: () => 1 }, reply: { event: 'one_ok' } }))
  registry.add(def('two'))
  t.equal(registry.size, 2)
  t.same(registry.definitions().map(d => d.name), ['one', 'two'])
  const ajv = createAjv()
  const serializer = new FrameSerializer()
  registry.compile(() => ajv, serializer, '/')
  registry.compile(() => ajv, serializer, '/')
  const one = registry.get('one')!
  t.equal(one.index, 0)
  t.equal(registry.get('two')!.index, 1)
  t.same(one.depNames, ['a'])
  t.equal(one.replyEvent, 'one_ok')
  t.same(one.rateLimit, { rate: 1, capacity: 2 })
  t.equal(registry.get('two')!.validate, undefined, 'no schema, no validator')
  t.equal(registry.get('missing'), undefined)
  t.notOk(one.validate!({ x: 1 }))
  t.same(toIssues(one.validate!), [{ path: '/x', message: 'must be string', keyword: 'type' }])
  t.notOk(one.validate!({}))
  t.same(toIssues(one.validate!), [{ path: '/x', message: "must have required property 'x'", keyword: 'required' }], 'required errors point at the missing property')
})

t.test('toIssues: additionalProperties points at the extra property; root errors at /', async (t) => {
  const ajv = createAjv()
  const strict = ajv.compile(Type.Object({ a: Type.String() }, { additionalProperties: false }))
  t.notOk(strict({ a: 'x', extra: 1 }))
  t.same(toIssues(strict), [{ path: '/extra', message: 'must NOT have additional properties', keyword: 'additionalProperties' }])
  t.notOk(strict('nope'))
  t.same(toIssues(strict), [{ path: '/', message: 'must be object', keyword: 'type' }])
  const formats = ajv.compile(Type.Object({ mail: Type.String({ format: 'email' }) }))
  t.notOk(formats({ mail: 'not-an-email' }), 'ajv-formats is installed')
  t.equal(toIssues(formats)[0].keyword, 'format')
})
