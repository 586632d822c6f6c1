import t from 'tap'
import { Redis } from 'ioredis'
import { RoomManager } from '../lib/rooms.js'
import { memoryBackend, redisBackend, resolveBackend, type BackendAdapter, type BackendContext } from '../lib/backends/index.js'
import { freePort, startRedis, type RedisServer } from './helpers/redis.js'
import { FakeMember, testLogger, waitFor, type TestLogger } from './helpers/rooms.js'
import { backendConformance, type ConformanceTest } from '../lib/testing.js'

type Test = Parameters<Parameters<typeof t.test>[0]>[0]
type Node = RoomManager<FakeMember> & { log: TestLogger }

let ids = 0
const member = (name: string): FakeMember => new FakeMember(`${name}-${++ids}`)

async function node (t: Test, backend: BackendAdapter, heartbeatInterval = 1, namespace = '/'): Promise<Node> {
  const log = testLogger()
  const rooms = new RoomManager<FakeMember>({ namespace, backend, log })
  await rooms.start({ heartbeatInterval })
  t.teardown(() => rooms.stop())
  return Object.assign(rooms, { log })
}

function context (namespace: string, overrides: Partial<BackendContext> = {}): BackendContext {
  return {
    namespace,
    nodeId: `node-${++ids}`,
    log: testLogger(),
    heartbeatInterval: 1,
    deliverRoom: () => 0,
    deliverAll: () => 0,
    deliverConnection: () => false,
    localConnections: () => [],
    localMemberships: () => [],
    ...overrides
  }
}

t.test('resolveBackend', async (t) => {
  t.equal(resolveBackend(undefined).name, 'memory')
  t.equal(resolveBackend('memory').name, 'memory')
  t.not(resolveBackend('memory'), resolveBackend('memory'), 'a fresh memory backend per registration')
  const custom = memoryBackend()
  t.equal(resolveBackend(custom), custom, 'an adapter object is used as is')
  for (const bad of ['redis', 42, null, {}, { ...custom, name: 'x' }]) {
    t.throws(() => resolveBackend(bad), { code: 'FST_SOCKETSPEC_INVALID_OPTION' }, `rejects ${JSON.stringify(bad)}`)
  }
})

t.test('memory backend: namespaces are isolated, each served once', async (t) => {
  const backend = memoryBackend()
  t.equal(backend.name, 'memory')
  await backend.start(context('/a'))
  await backend.start(context('/b'))
  await t.rejects(backend.start(context('/a')), { code: 'FST_SOCKETSPEC_INVALID_OPTION' })
  await backend.addConnection('/a', 'c1')
  await backend.join('/a', 'room', 'c1')
  t.same(await backend.members('/a', 'room'), ['c1'])
  t.same(await backend.members('/b', 'room'), [])
  t.equal(await backend.exists('/b', 'room'), false)
  t.same(await backend.rooms('/a'), ['room'])
  t.same(await backend.rooms('/b'), [])
  t.same(await backend.connections('/a'), ['c1'])
  t.same(await backend.connections('/nope'), [])
  t.same(await backend.members('/nope', 'room'), [])
  await backend.leave('/a', 'room', 'c1')
  await backend.leave('/a', 'room', 'c1')
  await backend.leave('/nope', 'room', 'c1')
  t.equal(await backend.exists('/a', 'room'), false)
  await backend.removeConnection('/a', 'c1')
  await backend.removeConnection('/nope', 'c1')
  t.same(await backend.connections('/a'), [])
  await backend.publishRoom('/a', 'room', 'f')
  await backend.publishAll('/a', 'f')
  await backend.publishConnection('/a', 'c1', 'f')
  t.same(backend.stats(), { errors: 0, published: 0, received: 0 })
  await backend.join('/b', 'x', 'c2')
  await backend.stop('/b')
  t.same(await backend.rooms('/b'), [], 'stop forgets the namespace')
  await backend.start(context('/b'))
  t.pass('a stopped namespace can start again')
})

t.test('memory backend through two RoomManagers of different namespaces', async (t) => {
  const backend = memoryBackend()
  const a = await node(t, backend, 1, '/a')
  const b = await node(t, backend, 1, '/b')
  const m = member('m')
  await a.addConnection(m)
  await a.join(m, 'room')
  t.equal(await b.exists('room'), false)
  t.same(await b.list(), [])
  t.equal(await a.exists('room'), true)
})

t.test('a third-party adapter that rejects everything cannot break local rooms', async (t) => {
  const fail = async (): Promise<never> => { throw new Error('store down') }
  const broken: BackendAdapter = {
    name: 'broken',
    start: async () => {},
    stop: fail,
    addConnection: fail,
    removeConnection: fail,
    join: fail,
    leave: fail,
    members: fail,
    exists: fail,
    rooms: fail,
    connections: fail,
    publishRoom: fail,
    publishAll: fail,
    publishConnection: fail,
    stats: () => { throw new Error('no stats') }
  }
  const rooms = await node(t, broken)
  const a = member('a')
  await rooms.addConnection(a)
  await rooms.join(a, 'room')
  t.equal(await rooms.broadcast('room', 'f'), 1)
  t.same(a.frames, ['f'])
  t.same(await rooms.members('room'), [a.id])
  t.equal(await rooms.exists('room'), true)
  t.equal(await rooms.exists('elsewhere'), false)
  t.equal(await codeOf(rooms.broadcast('elsewhere', 'f')), 'ROOM_NOT_FOUND')
  t.same(await rooms.list(), ['room'])
  t.same(await rooms.connections(), [a.id])
  t.equal(await rooms.emitAll('all'), 1)
  t.equal(await rooms.toConnection('remote', 'x'), false)
  t.same(rooms.backendStats(), { errors: 0, published: 0, received: 0 })
  await rooms.leave(a, 'room')
  await rooms.removeConnection(a)
  await rooms.stop()
  const warned = new Set(rooms.log.entries.filter((e) => e.level === 'warn').map((e) => (e.obj as { op: string }).op))
  t.same([...warned].sort(), ['addConnection', 'connections', 'exists', 'join', 'leave', 'members', 'publishAll', 'publishConnection', 'publishRoom', 'removeConnection', 'rooms', 'stats', 'stop'])
})

async function codeOf (promise: Promise<unknown>): Promise<string> {
  try {
    await promise
  } catch (err) {
    return (err as { code: string }).code
  }
  return 'RESOLVED'
}

t.test('redisBackend option validation', async (t) => {
  t.throws(() => redisBackend({ keyPrefix: 5 as any }), { code: 'FST_SOCKETSPEC_INVALID_OPTION' })
  t.throws(() => redisBackend({ url: 5 as any }), { code: 'FST_SOCKETSPEC_INVALID_OPTION' })
  t.throws(() => redisBackend({ client: {} as any }), { code: 'FST_SOCKETSPEC_INVALID_OPTION' })
  t.throws(() => redisBackend({ commandTimeout: -1 }), { code: 'FST_SOCKETSPEC_INVALID_OPTION' })
  t.throws(() => redisBackend({ connectTimeout: Number.NaN }), { code: 'FST_SOCKETSPEC_INVALID_OPTION' })
  const backend = redisBackend()
  t.equal(backend.name, 'redis')
  t.match(backend.stats(), { errors: 0, published: 0, received: 0, connected: 0 })
  await t.rejects(backend.start(context('/', { heartbeatInterval: 0 })), { code: 'FST_SOCKETSPEC_INVALID_OPTION' })
  await backend.stop('/')
  t.same(await backend.members('/', 'x'), [], 'a namespace that is not started answers empty')
})

t.test('redis backend', async (t) => {
  const redis = await startRedis(t)
  if (redis === null) return
  let prefixes = 0
  const prefix = (): string => `backends-test-${++prefixes}:`
  const admin = new Redis(redis.url, { maxRetriesPerRequest: 1, retryStrategy: (n) => Math.min(n * 50, 200) })
  admin.on('error', () => {})
  t.teardown(() => admin.disconnect())

  /** Close every Redis connection named `name`, as if its process had died. */
  async function killClients (name: string): Promise<number> {
    const list = await admin.client('LIST') as string
    const victims = list.split('\n').filter((line) => line.includes(` name=${name} `)).map((line) => /id=(\d+)/.exec(line)![1])
    for (const id of victims) await admin.client('KILL', 'ID', id)
    return victims.length
  }

  t.test('one adapter serves several namespaces, each once, isolated', async (t) => {
    const keyPrefix = prefix()
    const shared = redisBackend({ url: redis.url, keyPrefix })
    const a1 = await node(t, shared, 1, '/a')
    const b1 = await node(t, shared, 1, '/b')
    await t.rejects(shared.start(context('/a')), { code: 'FST_SOCKETSPEC_INVALID_OPTION' })
    const a2 = await node(t, redisBackend({ url: redis.url, keyPrefix }), 1, '/a')
    const x = member('x')
    const y = member('y')
    await a2.addConnection(x)
    await a2.join(x, 'room')
    await b1.addConnection(y)
    await b1.join(y, 'room')
    t.same(await a1.members('room'), [x.id], 'namespace /a sees only its member')
    t.same(await b1.members('room'), [y.id])
    await a1.broadcast('room', 'for-a')
    t.equal(await x.next(), 'for-a')
    await b1.emitAll('for-b')
    t.equal(await y.next(), 'for-b', 'the same node delivered locally')
    await a1.broadcast('room', 'again-a')
    t.equal(await x.next(), 'again-a', 'namespace /b traffic never reached /a')
    await b1.stop()
    t.equal(await a1.exists('room'), true, 'stopping one namespace keeps the other running')
  })

  t.test('key prefixes isolate deployments', async (t) => {
    const n1 = await node(t, redisBackend({ url: redis.url, keyPrefix: prefix() }))
    const n2 = await node(t, redisBackend({ url: redis.url, keyPrefix: prefix() }))
    const a = member('a')
    await n1.addConnection(a)
    await n1.join(a, 'room')
    t.equal(await n2.exists('room'), false)
    t.same(await n2.connections(), [])
  })

  t.test('the client option is a template that is never used itself', async (t) => {
    const template = new Redis(redis.url, { lazyConnect: true })
    t.teardown(() => template.disconnect())
    const keyPrefix = prefix()
    const n1 = await node(t, redisBackend({ client: template, keyPrefix }))
    const n2 = await node(t, redisBackend({ url: redis.url, keyPrefix }))
    const a = member('a')
    await n1.addConnection(a)
    await n1.join(a, 'room')
    t.same(await n2.members('room'), [a.id])
    t.equal(template.status, 'wait', 'the template never connected')
  })

  t.test('stop removes this node from the cluster at once', async (t) => {
    const keyPrefix = prefix()
    const n1 = await node(t, redisBackend({ url: redis.url, keyPrefix }))
    const backend2 = redisBackend({ url: redis.url, keyPrefix })
    const n2 = await node(t, backend2)
    const b = member('b')
    await n2.addConnection(b)
    await n2.join(b, 'room')
    t.same(await n1.members('room'), [b.id])
    t.match(backend2.stats(), { connected: 1 })
    await n2.stop()
    t.equal(await n1.exists('room'), false)
    t.same(await n1.connections(), [])
    t.match(backend2.stats(), { connected: 0 })
    t.equal(await admin.exists(`${keyPrefix}/:{ns:/}:node:${n2.nodeId}:alive`), 0)
  })

  t.test('the members of a dead node are purged within 2 x heartbeat', async (t) => {
    const heartbeat = 0.2
    const keyPrefix = prefix()
    const n1 = await node(t, redisBackend({ url: redis.url, keyPrefix }), heartbeat)
    const name = `dying-${++ids}`
    const n2 = await node(t, redisBackend({ url: redis.url, keyPrefix, redisOptions: { connectionName: name, retryStrategy: () => null } }), heartbeat)
    const a = member('a')
    const b = member('b')
    await n1.addConnection(a)
    await n1.join(a, 'both')
    await n2.addConnection(b)
    await n2.join(b, 'both')
    await n2.join(b, 'only-b')
    t.same((await n1.members('both')).sort(), [a.id, b.id].sort())
    // "Within 2 x heartbeat" by construction, not by a wall clock (this machine is shared): a node's liveness
    // key lives at most TTL after its last refresh, and a live node sweeps at every tick (heartbeat / 4), so
    // TTL + tick <= 2 x heartbeat bounds the purge; and the first tick after the key expired purges.
    const aliveKey = (n: Node): string => `${keyPrefix}/:{ns:/}:node:${n.nodeId}:alive`
    const tickMs = heartbeat * 1000 / 4
    /** Resolves once `count` refreshes of the node's liveness key were seen (its PTTL went up). */
    const refreshes = async (n: Node, count: number, seen: number[] = []): Promise<number[]> => {
      let last = await admin.pttl(aliveKey(n))
      let found = 0
      await waitFor(async () => {
        const now = await admin.pttl(aliveKey(n))
        if (now > last) found++
        last = now
        seen.push(now)
        return found >= count
      }, 5000, 1)
      return seen
    }
    // (a sample with no key, -2, says nothing of the TTL: on a loaded machine the node's own tick can come late)
    const ttls = (await refreshes(n2, 3)).filter((ms) => ms > 0)
    t.ok(ttls.length > 0 && ttls.every((ms) => ms + tickMs <= 2 * heartbeat * 1000), `the dying node's liveness TTL (at most ${Math.max(...ttls)} ms) + a tick (${tickMs} ms) <= 2 x heartbeat`)
    t.equal(await killClients(name), 2, 'commands and pub/sub connections killed')
    await waitFor(async () => await admin.exists(aliveKey(n2)) === 0, 5000, 1)
    // a refresh of node 1 seen after the expiry began a tick after it (a sweep follows each refresh); the next
    // refresh comes only once that tick is done
    await refreshes(n1, 2)
    t.same(await n1.members('both'), [a.id], 'purged by the first tick of node 1 after the key expired')
    t.equal(await n1.exists('only-b'), false, 'rooms left empty vanish')
    t.notOk((await n1.list()).includes('only-b'))
    t.same(await n1.connections(), [a.id])
    t.equal(await admin.sismember(`${keyPrefix}/:{ns:/}:nodes`, n2.nodeId), 0)
    t.ok(n1.backendStats().purgedNodes >= 1, 'counted')
  })

  t.test('a node wrongly purged (stalled) registers itself again', async (t) => {
    const heartbeat = 0.2
    const keyPrefix = prefix()
    const n1 = await node(t, redisBackend({ url: redis.url, keyPrefix }), heartbeat)
    const n2 = await node(t, redisBackend({ url: redis.url, keyPrefix }), heartbeat)
    const b = member('b')
    await n2.addConnection(b)
    await n2.join(b, 'room')
    // What another node sees of a process that stalled longer than its liveness TTL.
    await admin.eval(`
      redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4])
      redis.call('SREM', KEYS[5], ARGV[1])
      redis.call('SREM', KEYS[6], ARGV[2])
    `, 6, `${keyPrefix}/:{ns:/}:node:${n2.nodeId}:alive`, `${keyPrefix}/:{ns:/}:node:${n2.nodeId}:conns`, `${keyPrefix}/:{ns:/}:node:${n2.nodeId}:rooms`, `${keyPrefix}/:{ns:/}:room:room`,
    `${keyPrefix}/:{ns:/}:rooms`, `${keyPrefix}/:{ns:/}:nodes`, 'room', n2.nodeId)
    await waitFor(async () => (await n1.members('room')).includes(b.id), 2000)
    t.same(await n1.connections(), [b.id], 'presence restored from the local index')
    t.ok(n2.log.entries.some((e) => e.level === 'warn' && /had been purged/.test(e.msg ?? '')))
  })

  t.test('start while Redis is down: local service now, cluster service once it is up', async (t) => {
    const port = await freePort()
    const keyPrefix = prefix()
    const started = Date.now()
    const n1 = await node(t, redisBackend({ url: `redis://127.0.0.1:${port}`, keyPrefix, connectTimeout: 300 }), 0.2)
    t.ok(Date.now() - started < 2000, 'start does not hang')
    t.ok(n1.log.entries.some((e) => e.level === 'error' && /not reachable/.test(e.msg ?? '')), 'logged')
    const a = member('a')
    await n1.addConnection(a)
    await n1.join(a, 'room')
    t.equal(await n1.broadcast('room', 'local'), 1)
    t.same(a.frames, ['local'])
    t.same(await n1.members('room'), [a.id], 'local answers')
    t.ok(n1.backendStats().errors > 0, 'errors counted')

    const late = await startRedis(t, { port })
    t.ok(late)
    const n2 = await node(t, redisBackend({ url: late!.url, keyPrefix }), 0.2)
    await waitFor(async () => (await n2.members('room')).includes(a.id), 2000)
    await n2.broadcast('room', 'remote')
    t.equal(await a.next(), 'local')
    t.equal(await a.next(), 'remote', 'subscribed once Redis came up')
  })

  t.test('command errors and delivery failures are caught and counted, never thrown', async (t) => {
    const keyPrefix = prefix()
    const delivered: string[] = []
    const receiver = redisBackend({ url: redis.url, keyPrefix })
    await receiver.start(context('/', {
      deliverRoom: () => { throw new Error('delivery bug') },
      deliverConnection: (id, frame) => { delivered.push(`${id}:${frame}`); return true }
    }))
    t.teardown(() => receiver.stop('/'))
    const sender = redisBackend({ url: redis.url, keyPrefix })
    const ctx = context('/', { heartbeatInterval: 60 }) // no heartbeat tick repairs the keys during the test
    await sender.start(ctx)
    t.teardown(() => sender.stop('/'))
    // sharded delivery: the receiver gets a room's frames while it has a member there, and its connections' frames
    await receiver.join('/', 'room', 'r1')
    await receiver.addConnection('/', 'c9')

    // A key of the wrong type makes every room command fail with WRONGTYPE.
    await admin.set(`${keyPrefix}/:{ns:/}:room:broken`, 'not a set')
    await admin.set(`${keyPrefix}/:{ns:/}:node:${ctx.nodeId}:conns`, 'not a set')
    await sender.join('/', 'broken', 'c1')
    await sender.leave('/', 'broken', 'c1')
    t.same(await sender.members('/', 'broken'), [])
    await sender.addConnection('/', 'c1')
    await sender.removeConnection('/', 'c1')
    t.same(await sender.connections('/'), [])
    t.equal(sender.stats().errors, 6, 'each failure counted')

    await sender.publishRoom('/', 'room', 'boom')
    await sender.publishConnection('/', 'c9', 'after')
    await waitFor(() => delivered.length === 1, 2000)
    t.same(delivered, ['c9:after'], 'the receiver survived a throwing delivery')
    t.equal(receiver.stats().errors, 1, 'the delivery failure was counted')
    t.equal(receiver.stats().received, 2)
    t.equal(sender.stats().published, 2)
  })

  t.test('Redis outage under traffic', (t) => outage(t, redis, prefix()))
})

async function outage (t: Test, redis: RedisServer, keyPrefix: string): Promise<void> {
  const rejections: unknown[] = []
  const onRejection = (err: unknown): void => { rejections.push(err) }
  process.on('unhandledRejection', onRejection)
  t.teardown(() => { process.off('unhandledRejection', onRejection) })

  const backend1 = redisBackend({ url: redis.url, keyPrefix })
  const n1 = await node(t, backend1, 0.2)
  const n2 = await node(t, redisBackend({ url: redis.url, keyPrefix }), 0.2)
  const a = member('a')
  const b = member('b')
  const c = member('c')
  await n1.addConnection(a)
  await n1.join(a, 'r')
  await n2.addConnection(b)
  await n2.join(b, 'r')
  await n2.addConnection(c)
  await n2.join(c, 'leaving')
  await n1.broadcast('r', 'before')
  t.equal(await b.next(), 'before')

  await redis.stop()
  const late = member('late')
  let sent = 0
  const until = Date.now() + 2000
  while (Date.now() < until && sent < 100) {
    const frame = `during-${sent++}`
    t.equal(await n1.broadcast('r', frame), 1)
    if (a.frames[a.frames.length - 1] !== frame) t.fail(`local delivery failed for ${frame}`)
    await n2.emitAll(`all-${sent}`)
    if (sent === 5) {
      await n1.addConnection(late)
      await n1.join(late, 'joined-during-outage')
      t.same(await n1.members('joined-during-outage'), [late.id], 'local membership answers during the outage')
      await n2.leave(c, 'leaving')
    }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  t.ok(sent >= 10, `${sent} broadcasts during the outage, each delivered locally`)
  t.equal(a.frames.filter((f) => f.startsWith('all-')).length, 0, 'nothing crossed nodes while Redis was down')
  const stats = backend1.stats()
  t.equal(stats.connected, 0)
  t.ok(stats.errors >= sent, `errors counted (${stats.errors})`)
  const errorLines = n1.log.entries.filter((e) => e.level === 'warn' && /redis backend: Redis/.test(e.msg ?? ''))
  t.ok(errorLines.length >= 1 && errorLines.length <= 3, `errors logged rate-limited: ${errorLines.length} lines for ${stats.errors} errors`)
  t.ok(n1.log.entries.some((e) => /connection to Redis lost/.test(e.msg ?? '')), 'the loss is logged once')

  await redis.restart()
  const restarted = Date.now()
  let k = 0
  const elapsed = await waitFor(async () => {
    await n1.broadcast('r', `after-${k++}`)
    return b.frames.some((f) => f.startsWith('after-'))
  }, 3000, 25)
  t.ok(Date.now() - restarted < 1000, `cross-node delivery again ${elapsed} ms after Redis returned`)
  await waitFor(async () => (await n2.members('joined-during-outage')).includes(late.id), 1000)
  t.pass('memberships made during the outage were re-registered')
  await waitFor(async () => (await n2.members('r')).includes(a.id), 1000)
  t.equal(await n1.exists('leaving'), false, 'leaves made during the outage were applied')
  t.ok(n1.log.entries.some((e) => /connection to Redis restored/.test(e.msg ?? '')), 'the recovery is logged')
  t.equal(backend1.stats().connected, 1)
  t.ok(backend1.stats().resyncs >= 2, 'this node re-registered itself')
  t.same(rejections, [], 'no unhandled rejection')
}

// The matrix third-party adapters run too (`backendConformance` from socketspec/testing).
t.test('conformance: memory', async (t) => {
  backendConformance(t, { create: () => memoryBackend(), multiNode: false })
})

t.test('conformance: redis', async (t) => {
  const redis = await startRedis(t)
  if (redis === null) return
  const keyPrefix = `conformance-${process.pid}:`
  backendConformance(t, { create: () => redisBackend({ url: redis.url, keyPrefix }) })
})

/** A ConformanceTest that records failed assertions instead of failing this file. */
function recordingTest (): { t: ConformanceTest, failures: string[], done: () => Promise<void> } {
  const failures: string[] = []
  const pending: Array<Promise<void>> = []
  const teardowns: Array<() => unknown> = []
  const make = (prefix: string): ConformanceTest => ({
    test (name, fn) {
      const run = (async () => {
        try {
          await fn(make(`${prefix}${name} > `))
        } catch (err) {
          failures.push(`${prefix}${name}: threw ${(err as Error).message}`)
        }
      })()
      pending.push(run)
      return run
    },
    equal (found, wanted, message) { if (found !== wanted) failures.push(`${prefix}${message ?? 'equal'}`) },
    same (found, wanted, message) { if (JSON.stringify(found) !== JSON.stringify(wanted)) failures.push(`${prefix}${message ?? 'same'}`) },
    ok (value, message) { if (!value) failures.push(`${prefix}${message ?? 'ok'}`) },
    teardown (fn) { teardowns.push(fn) }
  })
  return {
    t: make(''),
    failures,
    done: async () => {
      while (pending.length > 0) await pending.shift()
      for (const fn of teardowns.reverse()) await fn()
    }
  }
}

t.test('conformance catches a broken adapter', async (t) => {
  // a room keeps only its first member
  const broken = (): BackendAdapter => {
    const inner = memoryBackend()
    return Object.assign(Object.create(null), {
      name: 'broken',
      start: (ctx: BackendContext) => inner.start(ctx),
      stop: (ns: string) => inner.stop(ns),
      addConnection: (ns: string, id: string) => inner.addConnection(ns, id),
      removeConnection: (ns: string, id: string) => inner.removeConnection(ns, id),
      join: async (ns: string, room: string, id: string) => { if ((await inner.members(ns, room)).length === 0) await inner.join(ns, room, id) },
      leave: (ns: string, room: string, id: string) => inner.leave(ns, room, id),
      members: (ns: string, room: string) => inner.members(ns, room),
      exists: (ns: string, room: string) => inner.exists(ns, room),
      rooms: (ns: string) => inner.rooms(ns),
      connections: (ns: string) => inner.connections(ns),
      publishRoom: (ns: string, room: string, frame: string) => inner.publishRoom(ns, room, frame),
      publishAll: (ns: string, frame: string) => inner.publishAll(ns, frame),
      publishConnection: (ns: string, id: string, frame: string) => inner.publishConnection(ns, id, frame),
      stats: () => ({ errors: 0, published: 0, received: 0 })
    }) as BackendAdapter
  }
  const rec = recordingTest()
  backendConformance(rec.t, { create: broken, multiNode: false })
  await rec.done()
  t.ok(rec.failures.some((f) => f.includes('members of r1')), 'the lost membership is reported')
  t.ok(rec.failures.length > 0, `failures: ${rec.failures.join('; ')}`)
  const ok = recordingTest()
  backendConformance(ok.t, { create: () => memoryBackend(), multiNode: false })
  await ok.done()
  t.same(ok.failures, [], 'the memory backend passes the same checks through the recorder')
})
