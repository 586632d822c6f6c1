// socketspec/emitter (SPEC §13): a real worker process with no WebSocket
// server publishes through Redis to rooms served by two nodes (two Fastify
// apps here, real WebSocket clients): every member gets each frame once;
// with recovery on its broadcasts carry offsets that continue the nodes' own,
// and a resume replays them.
import t from 'tap'
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import Fastify, { type FastifyInstance } from 'fastify'
import socketspec, { Type, memoryBackend, redisBackend } from '../../lib/index.js'
import { createEmitter } from '../../lib/emitter.js'
import { bareNode, cleanEnv, scriptArgs } from '../helpers/project.js'
import { startRedis, type RedisServer } from '../helpers/redis.js'
import { waitFor } from '../helpers/rooms.js'
import { listen, connectedClient, requestReply, open, type WsClient, type Frame } from '../helpers/ws-client.js'

type Test = Parameters<Parameters<typeof t.test>[0]>[0]
type Client = WsClient & { id: string }

const WORKER = fileURLToPath(new URL('../fixtures/emitter/worker.ts', import.meta.url))
const RECOVERY = { ttl: 30, historySize: 50 }
const Room = Type.Object({ room: Type.String() })

async function buildNode (t: Test, redis: RedisServer, keyPrefix: string, recovery?: typeof RECOVERY): Promise<{ app: FastifyInstance, url: string }> {
  const app = Fastify({ logger: false })
  await app.register(socketspec, {
    path: '/ws',
    backend: redisBackend({ url: redis.url, keyPrefix, commandTimeout: 1000, reconnectMaxDelay: 50 }),
    session: { heartbeatInterval: 0.5, heartbeatTimeout: 10 },
    ...(recovery === undefined ? {} : { recovery })
  })
  app.socket.on('join', { payload: Room, reply: { event: 'joined' } }, async (conn, { room }) => {
    await conn.join(room)
    return { room }
  })
  app.socket.on('say', { payload: Type.Object({ room: Type.String(), n: Type.Number() }), reply: { event: 'sent' } }, async (_conn, { room, n }) => {
    await app.socket.to(room).emit('news', { room, n, from: 'node' })
    return { n }
  })
  t.teardown(() => app.close())
  return { app, url: await listen(t, app) }
}

interface Worker {
  nodeId: string
  call (op: string, args?: Record<string, unknown>): Promise<any>
}

/** The worker process (test/fixtures/emitter/worker.ts, built or under tsx), killed at teardown. */
async function startWorker (t: Test, redis: RedisServer, keyPrefix: string): Promise<Worker> {
  // Without tap's loaders and coverage (bareNode, cleanEnv: they are for test files); its build
  // when current (no loader at all), else the source through tsx.
  const child: ChildProcess = spawn(...bareNode(scriptArgs(WORKER)), {
    env: cleanEnv({ REDIS_URL: redis.url, KEY_PREFIX: keyPrefix }),
    stdio: ['ignore', 'inherit', 'inherit', 'ipc']
  })
  t.teardown(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') })
  const waiting = new Map<number, { resolve: (v: unknown) => void, reject: (e: Error) => void }>()
  let ids = 0
  const nodeId = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code, signal) => reject(new Error(`worker exited (${code ?? signal})`)))
    child.on('message', (msg: { ready?: boolean, nodeId?: string, id?: number, ok?: boolean, result?: unknown, error?: string }) => {
      if (msg.ready === true) return resolve(msg.nodeId!)
      const w = waiting.get(msg.id!)
      waiting.delete(msg.id!)
      if (msg.ok === true) w?.resolve(msg.result)
      else w?.reject(new Error(msg.error))
    })
  })
  return {
    nodeId,
    call: (op, args = {}) => new Promise((resolve, reject) => {
      const id = ++ids
      waiting.set(id, { resolve, reject })
      child.send({ id, op, ...args })
    })
  }
}

const join = (c: Client, room: string): Promise<unknown> => requestReply(c, 'join', { room }, 'joined', 5000)
/** The `n` of each `news` frame `c` got for `room`, in order. */
const news = (c: WsClient, room: string): Frame[] => c.frames.filter((f) => f.event === 'news' && f.payload.room === room)

t.test('createEmitter refuses what cannot work, with coded errors', async (t) => {
  t.throws(() => createEmitter({ backend: memoryBackend() }), { code: 'FST_SOCKETSPEC_INVALID_OPTION', message: /the memory backend has no other process to reach/ })
  t.throws(() => createEmitter({} as any), { code: 'FST_SOCKETSPEC_INVALID_OPTION', message: /backend/ })
  t.throws(() => createEmitter({ backend: redisBackend(), namespace: 'chat' }), { code: 'FST_SOCKETSPEC_INVALID_OPTION', message: /namespace/ })
  const { publisher: _, ...noPublisher } = memoryBackend() as any
  t.throws(() => createEmitter({ backend: { ...noPublisher, name: 'nats' } }), { code: 'FST_SOCKETSPEC_INVALID_OPTION', message: /'nats' has no publisher/ })
  // a Redis nobody listens on: the emitter resolves false (counted), it never throws for the backend
  const emitter = createEmitter({ backend: redisBackend({ url: 'redis://127.0.0.1:1', connectTimeout: 100 }) })
  t.teardown(() => emitter.close())
  t.match(emitter.nodeId, /^emitter:[\da-f-]{36}$/)
  t.throws(() => emitter.to(''), { code: 'VALIDATION_ERROR' }, 'an empty room name')
  t.throws(() => emitter.toConnection(''), { code: 'VALIDATION_ERROR' })
  await t.rejects(emitter.emit('__joined__', {}), { code: 'FST_SOCKETSPEC_RESERVED_EVENT' }, 'a reserved event name')
  await t.rejects(emitter.emit('', {}), { code: 'VALIDATION_ERROR' })
  t.equal(await emitter.to('room').emit('x', {}), false, 'Redis unreachable: false')
  t.same(await emitter.rooms.members('room'), [])
  t.ok(emitter.stats().errors >= 2, 'counted')
  await emitter.close()
  t.equal(await emitter.emit('x', {}), false, 'closed: false')
})

t.test('emitter over Redis', async (t) => {
  const redis = await startRedis(t)
  if (redis === null) return

  t.test('a worker process publishes to rooms served by two nodes: every member gets each frame once', async (t) => {
    const keyPrefix = 'emitter-plain:'
    const n1 = await buildNode(t, redis, keyPrefix)
    const n2 = await buildNode(t, redis, keyPrefix)
    const a = await connectedClient(t, n1.url)
    const b = await connectedClient(t, n2.url)
    const c = await connectedClient(t, n2.url)
    const idle = await connectedClient(t, n1.url)
    await join(a, 'both')
    await join(b, 'both')
    await join(c, 'only-2')
    const worker = await startWorker(t, redis, keyPrefix)
    t.match(worker.nodeId, /^emitter:/)
    t.same((await worker.call('members', { room: 'both' })).sort(), [a.id, b.id].sort(), 'rooms.members sees both nodes')

    const N = 20
    const results: boolean[] = []
    for (let n = 1; n <= N; n++) {
      results.push(await worker.call('room', { room: 'both', event: 'news', payload: { room: 'both', n } }))
      results.push(await worker.call('room', { room: 'only-2', event: 'news', payload: { room: 'only-2', n } }))
    }
    t.ok(results.every((r) => r), 'to(room).emit resolved true each time')
    t.equal(await worker.call('connection', { connection: c.id, event: 'dm', payload: { hi: 'c' } }), true, 'toConnection: the connection is known')
    t.equal(await worker.call('connection', { connection: 'nobody', event: 'dm', payload: {} }), false, 'toConnection to an unknown connection: false, nothing published')
    t.equal(await worker.call('all', { event: 'end', payload: {} }), true)
    // the namespace frame comes after everything the worker published before it (one connection, one Redis)
    await Promise.all([a, b, c, idle].map((x) => x.next('end', 5000)))
    const ns = (frames: Frame[]): number[] => frames.map((f) => f.payload.n as number)
    const all = Array.from({ length: N }, (_, i) => i + 1)
    t.same(ns(news(a, 'both')), all, 'member on node 1: each once, in order')
    t.same(ns(news(b, 'both')), all, 'member on node 2: each once, in order')
    t.same(ns(news(c, 'only-2')), all, 'the room served by node 2 only')
    t.same([news(a, 'only-2').length, news(b, 'only-2').length, news(c, 'both').length, idle.frames.filter((f) => f.event === 'news').length], [0, 0, 0, 0], 'nobody else')
    t.same(news(a, 'both')[0], { event: 'news', payload: { room: 'both', n: 1 } }, 'the frame is {event, payload}, no offset with recovery off')
    t.same(c.frames.filter((f) => f.event === 'dm').map((f) => f.payload), [{ hi: 'c' }], 'toConnection reached its connection once')
    t.same(a.frames.filter((f) => f.event === 'dm'), [], 'and no other')
    const stats = await worker.call('stats')
    t.match(stats, { published: 2 * N + 2, recorded: 0, errors: 0 }, 'the worker counted what it published')
    await worker.call('close')
  })

  t.test('with recovery on: offsets continue the nodes\' own, and a resume replays an emitter broadcast', async (t) => {
    const keyPrefix = 'emitter-recovery:'
    const n1 = await buildNode(t, redis, keyPrefix, RECOVERY)
    const n2 = await buildNode(t, redis, keyPrefix, RECOVERY)
    const a = await connectedClient(t, n1.url)
    const b = await connectedClient(t, n2.url)
    await join(a, 'feed')
    await join(b, 'feed')
    const joined = a.frames.find((f) => f.event === '__joined__')!
    const epoch = joined.payload.epoch as string
    const worker = await startWorker(t, redis, keyPrefix)

    await requestReply(a, 'say', { room: 'feed', n: 1 }, 'sent', 5000) // offset 1, from node 1
    t.equal(await worker.call('room', { room: 'feed', event: 'news', payload: { room: 'feed', n: 2, from: 'worker' } }), true) // offset 2
    await requestReply(b, 'say', { room: 'feed', n: 3 }, 'sent', 5000) // offset 3, from node 2
    await waitFor(() => news(a, 'feed').length === 3 && news(b, 'feed').length === 3, 5000)
    for (const [name, c] of [['node 1', a], ['node 2', b]] as const) {
      t.same(news(c, 'feed').map((f) => [f.payload.n, f.offset, f.epoch]), [[1, 1, epoch], [2, 2, epoch], [3, 3, epoch]], `member on ${name}: the emitter's broadcast took the next offset, in the same epoch`)
    }
    t.match((await worker.call('stats')), { recorded: 1 }, 'recorded by the worker')

    // a drops; the worker and node 2 broadcast meanwhile; a resumes on node 2
    const token = a.frames.find((f) => f.event === '__connect__')!.payload.resume_token as string
    a.ws.terminate()
    await waitFor(() => n1.app.socket.connection(a.id) === undefined, 3000)
    await worker.call('room', { room: 'feed', event: 'news', payload: { room: 'feed', n: 4, from: 'worker' } })
    await requestReply(b, 'say', { room: 'feed', n: 5 }, 'sent', 5000)
    await worker.call('room', { room: 'feed', event: 'news', payload: { room: 'feed', n: 6, from: 'worker' } })
    const back = await open(t, n2.url, { answerPings: true })
    await back.next('__connect__')
    back.send('__resume__', { token, rooms: { feed: { offset: 3, epoch } } }, 'resume')
    const resumed = await back.next('__resumed__', 5000)
    t.match(resumed.payload, { recovered: true, previous_id: a.id, rooms: { feed: { recovered: true, missed: 3 } } }, 'recovered, 3 missed')
    t.same(news(back, 'feed').map((f) => [f.payload.n, f.payload.from, f.offset]), [[4, 'worker', 4], [5, 'node', 5], [6, 'worker', 6]], 'the emitter\'s broadcasts were replayed, in offset order, between the node\'s')
    await worker.call('room', { room: 'feed', event: 'news', payload: { room: 'feed', n: 7, from: 'worker' } })
    await waitFor(() => news(back, 'feed').length === 4, 5000)
    t.match(news(back, 'feed')[3], { payload: { n: 7 }, offset: 7, epoch }, 'live ones follow, no gap, no duplicate')
    await worker.call('close')
  })

  t.test('an emitter started before any node records once a node wrote the namespace\'s recovery settings', async (t) => {
    const keyPrefix = 'emitter-early:'
    const emitter = createEmitter({ backend: redisBackend({ url: redis.url, keyPrefix }) })
    t.teardown(() => emitter.close())
    t.equal(await emitter.to('early').emit('news', { room: 'early', n: 0 }), true, 'published with no node up')
    t.match(emitter.stats(), { recorded: 0, published: 1 }, 'not recorded: no recovery settings yet')
    const n1 = await buildNode(t, redis, keyPrefix, RECOVERY)
    const a = await connectedClient(t, n1.url)
    await join(a, 'early')
    await emitter.to('early').emit('news', { room: 'early', n: 1 })
    t.match(await a.next('news', 5000), { payload: { n: 1 }, room: 'early', offset: 1 }, 'recorded with an offset once the node is up')
    t.match(emitter.stats(), { recorded: 1 })
  })
})
