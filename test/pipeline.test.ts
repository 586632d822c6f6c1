import t from 'tap'
import { Type, SocketError } from '../lib/index.js'
import { build, client, sleep } from './helpers/build.js'

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
