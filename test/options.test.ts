import t from 'tap'
import Fastify from 'fastify'
import socketspec, { type SocketspecOptions } from '../lib/index.js'
import { resolveOptions } from '../lib/options.js'
import { memoryBackend } from '../lib/backends/memory.js'
import { OptionsSchema, SessionOptionsSchema } from '../schemas/options.js'
import { build, client, startupError } from './helpers/build.js'

const CODE = 'FST_SOCKETSPEC_INVALID_OPTION'

/** Register socketspec on a fresh app with `options` and return what register threw. */
const registerError = async (options: unknown): Promise<any> => await startupError(options)

// [options, name the error must quote]
const bad: Array<[Record<string, unknown>, string]> = [
  [{ path: 42 }, 'path'],
  [{ path: 'ws' }, 'path'],
  [{ namespace: false }, 'namespace'],
  [{ namespace: 'chat' }, 'namespace'],
  [{ decorator: 7 }, 'decorator'],
  [{ decorator: 'my-socket' }, 'decorator'],
  [{ decorator: '' }, 'decorator'],
  [{ docs: 'yes' }, 'docs'],
  [{ docsUrl: 'docs' }, 'docsUrl'],
  [{ docsAccessToken: '' }, 'docsAccessToken'],
  [{ docsAccessToken: 123 }, 'docsAccessToken'],
  [{ allowedOrigins: '*' }, 'allowedOrigins'],
  [{ allowedOrigins: [''] }, 'allowedOrigins.0'],
  [{ allowedOrigins: ['https://a.example', 5] }, 'allowedOrigins.1'],
  [{ maxPayloadSize: '65536' }, 'maxPayloadSize'],
  [{ maxPayloadSize: 1.5 }, 'maxPayloadSize'],
  [{ maxPayloadSize: 0 }, 'maxPayloadSize'],
  [{ maxPayloadSize: -1 }, 'maxPayloadSize'],
  [{ rateLimit: 10 }, 'rateLimit'],
  [{ rateLimit: { rate: 0, capacity: 5 } }, 'rateLimit.rate'],
  [{ rateLimit: { rate: 1 } }, 'rateLimit.capacity'],
  [{ rateLimit: { rate: 1, capacity: 0 } }, 'rateLimit.capacity'],
  [{ rateLimit: { rate: 1, capacity: 1, burst: 2 } }, 'rateLimit.burst'],
  [{ session: 5 }, 'session'],
  [{ session: null }, 'session'],
  [{ session: { idleTimeout: -1 } }, 'session.idleTimeout'],
  [{ session: { idleTimeout: '300' } }, 'session.idleTimeout'],
  [{ session: { maxDuration: -5 } }, 'session.maxDuration'],
  [{ session: { heartbeatInterval: 0 } }, 'session.heartbeatInterval'],
  [{ session: { heartbeatTimeout: 0 } }, 'session.heartbeatTimeout'],
  [{ session: { tokenRefreshWindow: -1 } }, 'session.tokenRefreshWindow'],
  [{ session: { idle: 5 } }, 'session.idle'],
  [{ rooms: 'lobby' }, 'rooms'],
  [{ rooms: [42] }, 'rooms.0'],
  [{ rooms: ['lobby', ''] }, 'rooms.1'],
  [{ rooms: [{ description: 'no name' }] }, 'rooms.0'],
  [{ maxConnections: 0 }, 'maxConnections'],
  [{ maxConnections: 2.5 }, 'maxConnections'],
  [{ maxBufferedBytes: 10 }, 'maxBufferedBytes'],
  [{ maxBufferedBytes: 'lots' }, 'maxBufferedBytes'],
  [{ shutdownTimeout: -1 }, 'shutdownTimeout'],
  [{ shutdownTimeout: '5' }, 'shutdownTimeout'],
  [{ title: 3 }, 'title'],
  [{ version: {} }, 'version'],
  [{ maxPayload: 1024 }, 'maxPayload'],
  [{ heartbeatInterval: 5 }, 'heartbeatInterval'],
  [{ auth: 'jwt' }, 'auth'],
  [{ auth: {} }, 'auth'],
  [{ auth: { authenticate: 'yes' } }, 'auth'],
  [{ auth: { authenticate: () => null, kind: 5 } }, 'auth'],
  [{ backend: 'redis' }, 'backend'],
  [{ backend: {} }, 'backend'],
  [{ backend: { start () {} } }, 'backend'],
  [{ backend: 42 }, 'backend']
]

t.test('every bad option throws FST_SOCKETSPEC_INVALID_OPTION naming the option, at register time', async (t) => {
  for (const [options, name] of bad) {
    const label = JSON.stringify(options) ?? String(options)
    const err = await registerError(options)
    t.ok(err, `${label} is refused`)
    t.equal(err?.code, CODE, `${label} code`)
    t.match(err?.message, `'${name}'`, `${label} names '${name}'`)
    t.ok(err instanceof TypeError, `${label} is a TypeError`)
  }
})

t.test('the same errors come from resolveOptions directly, synchronously', async (t) => {
  for (const [options, name] of bad) {
    t.throws(() => resolveOptions(options), { code: CODE, message: new RegExp(`'${name.replace(/\./g, '\\.')}'`) }, JSON.stringify(options))
  }
})

t.test('defaults are applied', async (t) => {
  const opts = resolveOptions({})
  t.match(opts, {
    path: '/ws',
    namespace: '/',
    decorator: 'socket',
    docs: false,
    docsUrl: '/socket-docs',
    backend: { name: 'memory' },
    allowedOrigins: ['*'],
    maxPayloadSize: 65536,
    rooms: [],
    maxBufferedBytes: 1048576,
    shutdownTimeout: 5,
    session: { maxDuration: 0, idleTimeout: 0, heartbeatInterval: 25, heartbeatTimeout: 10, tokenRefreshWindow: 60 }
  })
  t.equal(opts.auth, undefined)
  t.equal(opts.rateLimit, undefined)
  t.equal(opts.maxConnections, undefined)
  t.equal(opts.docsAccessToken, undefined)
  t.same(resolveOptions(undefined).session, opts.session, 'no options at all')

  const partial = resolveOptions({ session: { idleTimeout: 30 } })
  t.same(partial.session, { maxDuration: 0, idleTimeout: 30, heartbeatInterval: 25, heartbeatTimeout: 10, tokenRefreshWindow: 60 }, 'session defaults fill the gaps')
  t.same(resolveOptions({ rooms: ['lobby', { name: 'news', description: 'Headlines' }] }).rooms,
    [{ name: 'lobby' }, { name: 'news', description: 'Headlines' }], 'static rooms normalized to {name, description?}')
  t.same(resolveOptions({ session: { heartbeatInterval: 0.05 } }).session.heartbeatInterval, 0.05, 'fractions of seconds are allowed')
})

t.test('defaults are visible on the running plugin', async (t) => {
  const app = await build(t)
  app.socket.on('echo', {}, (conn, p) => { conn.emit('echo', p) })
  t.equal(app.socket.path, '/ws')
  t.equal(app.socket.namespace, '/')
  const conn = await client(t, app).connect()
  t.equal(conn.server.namespace, '/')
  await conn.sendRaw(JSON.stringify({ event: 'echo', payload: { x: 'a'.repeat(65536) } }))
  const err = await conn.receive()
  t.equal(err.payload.code, 'PAYLOAD_TOO_LARGE')
  t.equal(err.payload.details.max_bytes, 65536, 'maxPayloadSize defaults to 65536')
})

t.test('the caller\'s options object is not mutated and can be reused', async (t) => {
  const options: SocketspecOptions = { session: { idleTimeout: 10 }, rooms: ['lobby'], allowedOrigins: ['*'], rateLimit: { rate: 5, capacity: 5 } }
  const snapshot = JSON.parse(JSON.stringify(options))
  const a = resolveOptions(options)
  const b = resolveOptions(options)
  t.same(options, snapshot, 'options untouched')
  t.not(a.session, b.session, 'each registration gets its own session object')
  t.not(a.rooms, b.rooms)
  const app1 = await build(t, options)
  const app2 = await build(t, options)
  await app1.ready()
  await app2.ready()
  t.same(options, snapshot, 'options untouched after two registrations')
})

t.test('valid non-default values are accepted and kept', async (t) => {
  const auth = { authenticate: () => ({ userId: 'u' }), kind: 'custom' }
  const backend = memoryBackend()
  const opts = resolveOptions({
    path: '/socket',
    namespace: '/chat',
    decorator: 'chat',
    docs: true,
    docsUrl: '/docs',
    docsAccessToken: 'secret',
    auth,
    backend,
    allowedOrigins: ['https://a.example'],
    maxPayloadSize: 1024,
    rateLimit: { rate: 2.5, capacity: 10 },
    session: { maxDuration: 60, idleTimeout: 30, heartbeatInterval: 5, heartbeatTimeout: 2, tokenRefreshWindow: 10 },
    rooms: ['lobby'],
    maxConnections: 100,
    maxBufferedBytes: 4096,
    shutdownTimeout: 0.5,
    title: 'Chat',
    version: '1.2.3'
  })
  t.equal(opts.auth, auth)
  t.equal(opts.backend, backend)
  t.match(opts, { path: '/socket', namespace: '/chat', decorator: 'chat', maxPayloadSize: 1024, maxConnections: 100, shutdownTimeout: 0.5, title: 'Chat', version: '1.2.3' })
  t.same(opts.rateLimit, { rate: 2.5, capacity: 10 })
})

t.test('auth: null and backend: undefined mean the defaults', async (t) => {
  t.equal(resolveOptions({ auth: null }).auth, undefined)
  t.equal(resolveOptions({ backend: undefined }).backend.name, 'memory', 'a fresh memory backend')
  t.equal(resolveOptions({ backend: 'memory' }).backend.name, 'memory')
  t.not(resolveOptions({}).backend, resolveOptions({}).backend, 'one memory backend per registration')
})

t.test('Fastify\'s own plugin option keys are not refused', async (t) => {
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  await app.register(socketspec, { logLevel: 'warn' } as SocketspecOptions)
  await app.ready()
  t.ok(app.socket)
})

t.test('decorator name conflicts', async (t) => {
  t.test('socketspec twice in the same context', async (t) => {
    const app = Fastify({ logger: false })
    t.teardown(() => app.close())
    await app.register(socketspec)
    await t.rejects(async () => { await app.register(socketspec, { path: '/other' }) }, { code: CODE, message: /'decorator'.*'socket'/ })
  })
  t.test('a name Fastify already uses', async (t) => {
    for (const name of ['listen', 'log', 'server']) {
      const err = await registerError({ decorator: name })
      t.match(err, { code: CODE, message: new RegExp(`'decorator'.*'${name}'`) }, name)
    }
  })
  t.test('a name the app decorated itself', async (t) => {
    const app = Fastify({ logger: false })
    t.teardown(() => app.close())
    app.decorate('chat', { mine: true })
    await t.rejects(async () => { await app.register(socketspec, { decorator: 'chat' }) }, { code: CODE, message: /'decorator'/ })
  })
  t.test('two registrations with different decorators in the same context work', async (t) => {
    const app = Fastify({ logger: false })
    t.teardown(() => app.close())
    await app.register(socketspec, { path: '/a', namespace: '/a', decorator: 'a' })
    await app.register(socketspec, { path: '/b', namespace: '/b', decorator: 'b' })
    await app.ready()
    t.equal((app as any).a.path, '/a')
    t.equal((app as any).b.path, '/b')
  })
})

t.test('the options schema is a TypeBox schema that documents every option', async (t) => {
  const documented = Object.keys(OptionsSchema.properties).sort()
  for (const name of ['path', 'namespace', 'decorator', 'docs', 'docsUrl', 'docsAccessToken', 'auth', 'backend', 'allowedOrigins', 'maxPayloadSize', 'rateLimit', 'session', 'rooms', 'maxConnections', 'maxBufferedBytes', 'shutdownTimeout']) {
    t.ok(documented.includes(name), `${name} is in the schema`)
    t.type((OptionsSchema.properties as Record<string, { description?: string }>)[name].description ?? (name === 'rateLimit' || name === 'session' ? 'object' : undefined), 'string', `${name} is described`)
  }
  t.same(Object.keys(SessionOptionsSchema.properties).sort(), ['heartbeatInterval', 'heartbeatTimeout', 'idleTimeout', 'maxDuration', 'tokenRefreshWindow'])
  t.equal(OptionsSchema.additionalProperties, false, 'unknown options are refused')
})
