import t from 'tap'
import { Type } from '@sinclair/typebox'
import { FrameSerializer, plainSchema } from '../lib/serializer.js'
import { build, client } from './helpers/build.js'
import { kEngine } from '../lib/symbols.js'

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
