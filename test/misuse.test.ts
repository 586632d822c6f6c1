// Misuse gives coded errors that say what to do, not raw TypeErrors or silence.
import t from 'tap'
import Fastify from 'fastify'
import socketspec, { Type, SocketError } from '../lib/index.js'
import { build, client } from './helpers/build.js'

const HERE = /misuse\.test\.ts:\d+:\d+/

t.test('a duplicate or reserved event points at the on() call(s) that declared it', async (t) => {
  const app = Fastify({ logger: false })
  await app.register(socketspec)
  app.socket.on('dup', {}, () => {})
  app.socket.on('dup', {}, () => {})
  const err: any = await app.ready().then(() => null, (e: unknown) => e)
  t.equal(err.code, 'FST_SOCKETSPEC_DUPLICATE_EVENT')
  t.match(err.message, HERE, 'the second declaration')
  t.match(err.message, /first declared at .*misuse\.test\.ts:\d+:\d+/, 'and the first one')
  await app.close()

  const app2 = Fastify({ logger: false })
  await app2.register(socketspec)
  app2.socket.on('__mine__', {}, () => {})
  const reserved: any = await app2.ready().then(() => null, (e: unknown) => e)
  t.equal(reserved.code, 'FST_SOCKETSPEC_RESERVED_EVENT')
  t.match(reserved.message, HERE)
  await app2.close()
})

t.test('sending before ready throws FST_SOCKETSPEC_NOT_READY instead of doing nothing', async (t) => {
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  await app.register(socketspec, { rooms: ['lobby'] })
  await t.rejects(app.socket.emit('news', {}), { code: 'FST_SOCKETSPEC_NOT_READY', message: /emit\(\)/ })
  await t.rejects(app.socket.to('lobby').emit('news', {}), { code: 'FST_SOCKETSPEC_NOT_READY' })
  await t.rejects(app.socket.rooms.broadcast('lobby', 'news', {}), { code: 'FST_SOCKETSPEC_NOT_READY' })
  await t.rejects(app.socket.toConnection('x').emit('news', {}), { code: 'FST_SOCKETSPEC_NOT_READY' })
  t.throws(() => app.socket.asyncapi(), { code: 'FST_SOCKETSPEC_NOT_READY' })
  await app.ready()
  await t.resolves(app.socket.emit('news', {}))
})

t.test('TestClient.request() on an event without reply fails at once, not at the timeout', async (t) => {
  const app = await build(t)
  app.socket.on('fire', {}, async () => {})
  app.socket.on('boom', {}, async () => { throw new SocketError('NOPE', 'no') })
  app.socket.on('checked', { payload: Type.Object({ n: Type.Number() }) }, () => {})
  const conn = await client(t, app).connect()
  const started = Date.now()
  const err = await conn.request('fire', {}, { timeout: 5000 }).catch(e => e)
  t.match(err.message, /'fire' declares no reply.*send\(\)/)
  t.ok(Date.now() - started < 2500, `failed in ${Date.now() - started} ms, not after the 5 s timeout`)
  await t.rejects(conn.request('boom'), { code: 'NOPE' }, 'an __error__ still answers it')
  await t.rejects(conn.request('checked', { n: 'x' }), { code: 'VALIDATION_ERROR' })
  await conn.send('fire', {})
  t.equal(conn.server.open, true)
})
