import t from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import { Ajv } from 'ajv'
import socketspec, { Type } from '../lib/index.js'
import { EventRegistry, createAjv, toIssues } from '../lib/registry.js'
import { FrameSerializer } from '../lib/serializer.js'
import { kEngine } from '../lib/symbols.js'
import { build, client, startupError } from './helpers/build.js'

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
  t.match(engine.ajv.opts, { allErrors: false, useDefaults: true, coerceTypes: false }, 'allErrors off, defaults on, no coercion')

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
  registry.compile(ajv, serializer, '/')
  registry.compile(ajv, serializer, '/')
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
