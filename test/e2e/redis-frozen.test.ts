import t from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { setTimeout as sleep } from 'node:timers/promises'
import socketspec, { Type, redisBackend, type RedisBackendOptions } from '../../lib/index.js'
import { startRedis, type RedisServer } from '../helpers/redis.js'
import { waitFor } from '../helpers/rooms.js'
import { listen, type WsClient, connectedClient, requestReply } from '../helpers/ws-client.js'

// A frozen Redis (SIGSTOP): its TCP connections stay up, it answers nothing.
// What waits for it must stay bounded in bytes, and connects and joins must
// not wait on it more than one command timeout.

type Test = Parameters<Parameters<typeof t.test>[0]>[0]

const HEARTBEAT = 0.2
const COMMAND_TIMEOUT = 500
const MiB = 1024 * 1024
const Room = Type.Object({ room: Type.String() })

// A forced GC makes "memory retained" a measure of what is still referenced
// (queued), not of garbage the collector has not reached yet.
setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

/** One node: the real plugin on the Redis backend, on a loopback port; `logs` collects its warnings. */
async function buildNode (t: Test, redis: RedisServer, keyPrefix: string, options: RedisBackendOptions = {}): Promise<{ app: FastifyInstance, url: string, logs: string[] }> {
  const logs: string[] = []
  const app = Fastify({ logger: { level: 'warn', stream: { write: (line: string) => { logs.push(line) } } } })
  await app.register(socketspec, {
    path: '/ws',
    backend: redisBackend({ url: redis.url, keyPrefix, commandTimeout: COMMAND_TIMEOUT, ...options }),
    rooms: ['firehose'],
    session: { heartbeatInterval: HEARTBEAT, heartbeatTimeout: 30 }
  })
  app.socket.on('join', { payload: Room, reply: { event: 'joined' } }, async (conn, { room }) => {
    await conn.join(room)
    return { room }
  })
  app.socket.on('say', { payload: Type.Object({ room: Type.String(), text: Type.String() }) }, async (conn, { room, text }) => {
    await conn.to(room).emit('said', { room, text, from: conn.id })
  })
  t.teardown(() => app.close())
  const url = await listen(t, app)
  return { app, url, logs }
}

const client = (t: Test, url: string): Promise<WsClient & { id: string }> => connectedClient(t, url, 10_000)
const request = (c: WsClient, event: string, payload: unknown, reply: string): Promise<any> => requestReply(c, event, payload, reply, 5000)

/** Fail the test on any unhandled rejection while it runs. */
function watchRejections (t: Test): unknown[] {
  const rejections: unknown[] = []
  const onRejection = (err: unknown): void => { rejections.push(err) }
  process.on('unhandledRejection', onRejection)
  t.teardown(() => { process.off('unhandledRejection', onRejection) })
  return rejections
}

/** Freeze Redis for the rest of the test (thawed in teardown at the latest, before the apps close). */
function freeze (t: Test, redis: RedisServer): void {
  redis.pause()
  t.teardown(() => redis.resume())
}

function retainedBytes (): number {
  gc()
  const m = process.memoryUsage()
  return m.heapUsed + m.external
}

const mb = (bytes: number): string => `${bytes < 0 ? '-' : '+'}${(Math.abs(bytes) / MiB).toFixed(1)} MiB`
const size = (bytes: number): string => mb(bytes).slice(1)

t.test('redisBackend maxPendingBytes must be a positive number', async (t) => {
  for (const bad of [0, -1, Number.NaN, '8' as any]) {
    t.throws(() => redisBackend({ maxPendingBytes: bad }), { code: 'FST_SOCKETSPEC_INVALID_OPTION', message: /maxPendingBytes/ }, String(bad))
  }
  t.match(redisBackend({ maxPendingBytes: 1024 }).stats(), { dropped: 0, pendingBytes: 0, pendingBytesPeak: 0 })
})

t.test('frozen Redis (SIGSTOP)', async (t) => {
  const redis = await startRedis(t)
  if (redis === null) return
  let prefixes = 0
  const prefix = (): string => `frozen-${++prefixes}:`

  t.test('under broadcast load: pending bytes capped, drops counted, memory bounded, local delivery goes on', async (t) => {
    const rejections = watchRejections(t)
    const cap = 2 * MiB
    const n1 = await buildNode(t, redis, prefix(), { maxPendingBytes: cap })
    const a = await client(t, n1.url)
    await request(a, 'join', { room: 'chat' }, 'joined')
    const payload = { blob: 'x'.repeat(100 * 1024) }
    // Warm up on a healthy Redis, so that the baseline includes what a normal run allocates.
    for (let i = 0; i < 20; i++) await n1.app.socket.rooms.broadcast('firehose', 'blob', payload)
    const retainedBefore = retainedBytes()
    const rssBefore = process.memoryUsage().rss

    freeze(t, redis)
    const inFlight = new Set<Promise<void>>()
    const track = (p: Promise<void>): void => {
      inFlight.add(p)
      p.finally(() => inFlight.delete(p)).catch(() => {})
    }
    const started = Date.now()
    const until = started + 5000
    const maxBroadcasts = 2500
    let sent = 0
    let probes = 0
    let rssPeak = rssBefore
    let loops = 0
    while (Date.now() < until && sent < maxBroadcasts) {
      for (let i = 0; i < 5 && sent < maxBroadcasts; i++, sent++) track(n1.app.socket.rooms.broadcast('firehose', 'blob', payload))
      if (++loops % 10 === 0) track(n1.app.socket.to('chat').emit('probe', { n: probes++ }))
      rssPeak = Math.max(rssPeak, process.memoryUsage().rss)
      await sleep(10)
    }
    const frozenFor = Date.now() - started
    const attempted = sent * payload.blob.length
    const retainedDuring = retainedBytes() - retainedBefore
    const rssAfter = process.memoryUsage().rss
    const stats = n1.app.socket.backendStats()
    t.comment(`Redis frozen ${frozenFor} ms: ${sent} broadcasts of 100 KiB = ${size(attempted)} for other nodes (${size(attempted / (frozenFor / 1000))}/s)`)
    t.comment(`pendingBytes peak ${String(stats.pendingBytesPeak)} (cap ${cap}), dropped ${String(stats.dropped)}, published ${stats.published}, errors ${stats.errors}`)
    t.comment(`memory still referenced after GC: ${mb(retainedDuring)}; RSS before ${size(rssBefore)}, peak ${size(rssPeak)} (${mb(rssPeak - rssBefore)}), after ${size(rssAfter)}`)

    t.ok(stats.pendingBytesPeak > cap - 2 * payload.blob.length, 'the cap was reached: it is what bounded the publishes waiting for Redis')
    t.ok(stats.pendingBytesPeak <= cap, `pending bytes never exceeded the cap (peak ${String(stats.pendingBytesPeak)} <= ${cap})`)
    t.ok(stats.pendingBytes <= cap, 'pending bytes are within the cap now')
    t.ok(stats.dropped > 0, `messages beyond the cap were dropped and counted (${String(stats.dropped)})`)
    t.ok(stats.errors >= stats.dropped, 'each drop also counts as an error')
    // Unbounded queuing keeps every attempted byte referenced (ioredis' queue and the socket buffer).
    t.ok(retainedDuring < attempted / 10, `memory still referenced ${mb(retainedDuring)}, far below the ${size(attempted)} unbounded queuing would hold`)
    t.ok(rssPeak - rssBefore < attempted / 4, `RSS ${mb(rssPeak - rssBefore)}, well below ${size(attempted)}`)
    const backendLines = n1.logs.filter((line) => line.includes('redis backend'))
    t.ok(backendLines.some((line) => line.includes('maxPendingBytes reached')), 'the drop is logged')
    t.ok(backendLines.length <= 3, `logs rate-limited (${backendLines.length} lines for ${stats.errors} errors)`)

    await waitFor(() => a.frames.filter((f) => f.event === 'probe').length === probes, 3000)
    t.pass(`all ${probes} local broadcasts reached the local member during the freeze`)
    t.equal(a.frames.filter((f) => f.event === '__error__').length, 0, 'no error reached the client')

    redis.resume()
    await waitFor(() => inFlight.size === 0, COMMAND_TIMEOUT + 3000)
    await waitFor(() => n1.app.socket.backendStats().connected === 1, 5000)
    t.equal(n1.app.socket.backendStats().pendingBytes, 0, 'nothing left pending once Redis is back')
    t.same(rejections, [], 'no unhandled rejection')
  })

  t.test('a connect and joins wait on a frozen Redis at most one command timeout', async (t) => {
    const rejections = watchRejections(t)
    const commandTimeout = 1000
    const n1 = await buildNode(t, redis, prefix(), { commandTimeout })
    const a = await client(t, n1.url)
    await request(a, 'join', { room: 'chat' }, 'joined')

    freeze(t, redis)
    const started = Date.now()
    const c1 = await client(t, n1.url)
    const connected = Date.now() - started
    await request(c1, 'join', { room: 'chat' }, 'joined')
    await request(c1, 'join', { room: 'c1-only' }, 'joined')
    const c2 = await client(t, n1.url)
    await request(c2, 'join', { room: 'chat' }, 'joined')
    await request(c2, 'join', { room: 'c2-only' }, 'joined')
    const total = Date.now() - started
    t.comment(`while frozen: first __connect__ after ${connected} ms, two connects and four joins in ${total} ms (commandTimeout ${commandTimeout} ms)`)
    t.ok(connected <= commandTimeout + 1000, `__connect__ within commandTimeout + 1 s (${connected} ms)`)
    // Waiting once per call would take 6 x commandTimeout here.
    t.ok(total <= commandTimeout + 1000, `once the freeze is detected, calls do not wait on Redis: ${total} ms for 6 calls`)
    t.equal(n1.app.socket.backendStats().connected, 0, 'the frozen connection is reported down')

    c1.send('say', { room: 'chat', text: 'local while frozen' })
    t.same((await a.next('said')).payload, { room: 'chat', text: 'local while frozen', from: c1.id })
    t.same((await c2.next('said')).payload, { room: 'chat', text: 'local while frozen', from: c1.id }, 'local delivery to members who joined during the freeze')
    t.same((await n1.app.socket.rooms.members('chat')).sort(), [a.id, c1.id, c2.id].sort(), 'members() answers with what the node knows')
    t.same(rejections, [], 'no unhandled rejection')
  })

  t.test('after SIGCONT the node reconnects, re-registers and cross-node delivery resumes', async (t) => {
    const rejections = watchRejections(t)
    const keyPrefix = prefix()
    const n1 = await buildNode(t, redis, keyPrefix)
    const n2 = await buildNode(t, redis, keyPrefix)
    const a = await client(t, n1.url)
    const b = await client(t, n2.url)
    await request(a, 'join', { room: 'chat' }, 'joined')
    await request(b, 'join', { room: 'chat' }, 'joined')
    a.send('say', { room: 'chat', text: 'before' })
    await b.next('said')

    freeze(t, redis)
    for (let i = 0; i < 3; i++) a.send('say', { room: 'chat', text: `during-${i}` })
    await waitFor(() => n1.app.socket.backendStats().connected === 0, COMMAND_TIMEOUT + 3000)
    t.pass('the freeze was detected')
    const late = await client(t, n1.url)
    await request(late, 'join', { room: 'joined-while-frozen' }, 'joined')

    redis.resume()
    const resumed = Date.now()
    let k = 0
    await waitFor(() => {
      a.send('say', { room: 'chat', text: `after-${k++}` })
      return b.frames.some((f) => f.event === 'said' && String(f.payload.text).startsWith('after-'))
    }, 5000, 50)
    const elapsed = Date.now() - resumed
    t.comment(`cross-node delivery again ${elapsed} ms after SIGCONT`)
    t.ok(elapsed < 5000, `cross-node delivery resumed ${elapsed} ms after SIGCONT`)
    await waitFor(async () => (await n2.app.socket.rooms.members('joined-while-frozen')).includes(late.id), 3000)
    t.pass('a membership made during the freeze was re-registered')
    b.send('say', { room: 'chat', text: 'back' })
    t.match((await a.next('said')).payload, { text: 'back' }, 'and the other way round')
    t.equal(n1.app.socket.backendStats().connected, 1)
    t.same(rejections, [], 'no unhandled rejection')
  })
})
