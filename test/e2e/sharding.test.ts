// Sharded delivery on redisBackend (SPEC §13): three nodes on one real Redis,
// rooms served by one or two of them. A node receives a room's traffic only
// while it has local members there: checked with the nodes' own counters and
// with what Redis says about the subscriptions (PUBSUB), through joins,
// leaves, a disconnect and a Redis restart; toConnection reaches exactly the
// node that holds the connection.
import t from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import { Redis } from 'ioredis'
import socketspec, { Type, redisBackend, type BackendStats } from '../../lib/index.js'
import { startRedis, type RedisServer } from '../helpers/redis.js'
import { waitFor } from '../helpers/rooms.js'
import { listen, connectedClient, requestReply, type WsClient } from '../helpers/ws-client.js'

type Test = Parameters<Parameters<typeof t.test>[0]>[0]
type Client = WsClient & { id: string }
interface Node { app: FastifyInstance, url: string, stats: () => BackendStats }

const Room = Type.Object({ room: Type.String() })

async function buildNode (t: Test, redis: RedisServer, keyPrefix: string): Promise<Node> {
  const app = Fastify({ logger: false })
  await app.register(socketspec, {
    path: '/ws',
    backend: redisBackend({ url: redis.url, keyPrefix, commandTimeout: 1000, reconnectMaxDelay: 50 }),
    session: { heartbeatInterval: 0.5, heartbeatTimeout: 10 }
  })
  const socket = app.socket
  socket.on('join', { payload: Room, reply: { event: 'joined' } }, async (conn, { room }) => {
    await conn.join(room)
    return { room }
  })
  socket.on('leave', { payload: Room, reply: { event: 'left' } }, async (conn, { room }) => {
    await conn.leave(room)
    return { room }
  })
  socket.on('say', { payload: Type.Object({ room: Type.String(), n: Type.Number() }), reply: { event: 'sent' } }, async (_conn, { room, n }) => {
    await socket.to(room).emit('said', { room, n })
    return { n }
  })
  socket.on('dm', { payload: Type.Object({ to: Type.String(), n: Type.Number() }), reply: { event: 'sent' } }, async (conn, { to, n }) => {
    await socket.toConnection(to).emit('dm', { n, from: conn.id })
    return { n }
  })
  t.teardown(() => app.close())
  const url = await listen(t, app)
  return { app, url, stats: () => app.socket.backendStats() }
}

const join = (c: Client, room: string): Promise<unknown> => requestReply(c, 'join', { room }, 'joined', 5000)
const leave = (c: Client, room: string): Promise<unknown> => requestReply(c, 'leave', { room }, 'left', 5000)
const say = (c: Client, room: string, n: number): Promise<unknown> => requestReply(c, 'say', { room, n }, 'sent', 5000)
/** The `n` of each `said` frame `c` got for `room`, in order. */
const heard = (c: Client, room: string): number[] => c.frames.filter((f) => f.event === 'said' && f.payload.room === room).map((f) => f.payload.n as number)
const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i)

t.test('sharded delivery: three nodes on one Redis', async (t) => {
  const redis = await startRedis(t)
  if (redis === null) return
  const keyPrefix = 'sharding:'
  const base = `${keyPrefix}/:`
  const roomChannel = (room: string): string => `${base}{room:${room}}:bus`
  const admin = new Redis(redis.url, { maxRetriesPerRequest: 1, retryStrategy: (n) => Math.min(n * 50, 200) })
  admin.on('error', () => {})
  t.teardown(() => admin.disconnect())
  /** Room channels someone subscribes to, by room name. */
  const subscribedRooms = async (): Promise<string[]> => {
    const channels = await admin.pubsub('CHANNELS', `${base}{room:*}:bus`) as string[]
    return channels.map((c) => c.slice(`${base}{room:`.length, -'}:bus'.length)).sort()
  }
  const subscribers = async (room: string): Promise<number> => Number((await admin.pubsub('NUMSUB', roomChannel(room)) as [string, number])[1])

  const n1 = await buildNode(t, redis, keyPrefix)
  const n2 = await buildNode(t, redis, keyPrefix)
  const n3 = await buildNode(t, redis, keyPrefix)
  const nodes = [n1, n2, n3]
  // 'solo' on node 1 only, 'pair' on nodes 1 and 2, 'other' on node 3; s1 and s3 send, in no room
  const a1 = await connectedClient(t, n1.url)
  const a2 = await connectedClient(t, n1.url)
  const s1 = await connectedClient(t, n1.url)
  const b1 = await connectedClient(t, n2.url)
  const c1 = await connectedClient(t, n3.url)
  const s3 = await connectedClient(t, n3.url)

  t.same(await subscribedRooms(), [], 'no room channel before the first join')
  await join(a1, 'solo')
  t.same(await subscribedRooms(), ['solo'], 'the first local join subscribed its node before the join was answered')
  await join(a2, 'pair')
  await join(b1, 'pair')
  await join(c1, 'other')
  t.same(await subscribedRooms(), ['other', 'pair', 'solo'], 'one channel per room with members')
  t.equal(await subscribers('pair'), 2, "'pair': nodes 1 and 2 subscribe")
  t.equal(await subscribers('solo'), 1, "'solo': node 1 only")
  t.equal(await subscribers('other'), 1, "'other': node 3 only")

  t.test('every member gets every broadcast once; nodes receive only the rooms they serve', async (t) => {
    const before = nodes.map((n) => n.stats())
    const K = 20
    for (let n = 1; n <= K; n++) {
      await say(s3, 'solo', n)
      await say(s3, 'pair', n)
      await say(s1, 'other', n)
    }
    await waitFor(() => heard(a1, 'solo').length >= K && heard(a2, 'pair').length >= K && heard(b1, 'pair').length >= K && heard(c1, 'other').length >= K, 5000)
    // a round trip through every node after the last broadcast: anything still on its way would have come
    await say(s3, 'pair', K + 1)
    await waitFor(() => heard(b1, 'pair').includes(K + 1) && heard(a2, 'pair').includes(K + 1), 5000)
    t.same(heard(a1, 'solo'), range(1, K), 'solo member on node 1: each once, in order')
    t.same(heard(a2, 'pair'), range(1, K + 1), 'pair member on node 1')
    t.same(heard(b1, 'pair'), range(1, K + 1), 'pair member on node 2')
    t.same(heard(c1, 'other'), range(1, K), 'other member on node 3')
    const outside = (c: Client, room: string | null): number => c.frames.filter((f) => f.event === 'said' && f.payload.room !== room).length
    t.same([outside(a1, 'solo'), outside(a2, 'pair'), outside(b1, 'pair'), outside(c1, 'other'), outside(s1, null), outside(s3, null)], [0, 0, 0, 0, 0, 0], 'nobody hears a room it is not in')

    const after = nodes.map((n) => n.stats())
    const received = after.map((s, i) => s.received - before[i].received)
    t.comment(`received per node: ${received.join(', ')}; foreign: ${after.map((s) => s.foreign).join(', ')}; subscriptions: ${after.map((s) => s.subscriptions).join(', ')}`)
    t.equal(received[0], 2 * K + 1, "node 1 received the 'solo' and 'pair' broadcasts of node 3, nothing of 'other'")
    t.equal(received[1], K + 1, "node 2 received only the 'pair' broadcasts")
    t.equal(received[2], K, "node 3 received only the 'other' broadcasts of node 1, nothing of 'solo' and 'pair' it sent itself")
    t.same(after.map((s) => s.foreign), [0, 0, 0], 'no node received a message of a room it does not serve')
    t.same(after.map((s) => s.subscriptions), [2, 1, 1], 'room subscriptions per node')
    t.equal(after[2].published - before[2].published, 2 * K + 1, 'node 3 published once per broadcast')
  })

  t.test('subscriptions follow the first local join and the last local leave', async (t) => {
    await join(s3, 'pair')
    t.equal(await subscribers('pair'), 3, "node 3 subscribed to 'pair' on its first local join")
    await join(c1, 'pair')
    t.equal(await subscribers('pair'), 3, 'a second local member does not subscribe again')
    await leave(s3, 'pair')
    t.equal(await subscribers('pair'), 3, 'node 3 still has a member in it')
    await leave(c1, 'pair')
    await waitFor(async () => await subscribers('pair') === 2, 3000)
    t.pass("node 3 unsubscribed on its last local leave from 'pair'")
    await leave(b1, 'pair')
    await waitFor(async () => await subscribers('pair') === 1, 3000)
    t.pass('so did node 2')
    a2.ws.close()
    await waitFor(async () => !(await subscribedRooms()).includes('pair'), 3000)
    t.pass('a disconnect is a leave: node 1 unsubscribed, nobody listens to the room any more')
    await join(b1, 'pair')
    t.equal(await subscribers('pair'), 1, 'a new first join subscribes again')
    t.same(nodes.map((n) => n.stats().foreign), [0, 0, 0], 'nothing foreign meanwhile')
  })

  t.test('toConnection reaches exactly the node that holds the connection', async (t) => {
    const before = nodes.map((n) => n.stats())
    await requestReply(c1, 'dm', { to: b1.id, n: 1 }, 'sent', 5000)
    t.match((await b1.next('dm')).payload, { n: 1, from: c1.id }, 'node 3 → a connection on node 2')
    await requestReply(b1, 'dm', { to: a1.id, n: 2 }, 'sent', 5000)
    t.match((await a1.next('dm')).payload, { n: 2, from: b1.id }, 'node 2 → a connection on node 1')
    await requestReply(a1, 'dm', { to: 'no-such-connection', n: 3 }, 'sent', 5000)
    // a round trip through node 1 and node 2 after it
    await requestReply(c1, 'dm', { to: a1.id, n: 4 }, 'sent', 5000)
    await a1.next('dm')
    const after = nodes.map((n) => n.stats())
    const received = after.map((s, i) => s.received - before[i].received)
    t.same(received, [2, 1, 0], 'each message reached the one node that holds its connection')
    t.equal(after[0].published - before[0].published, 0, 'a connection no node holds: nothing published')
  })

  t.test('Redis restarted: every node resubscribes and delivery resumes', async (t) => {
    const rooms = await subscribedRooms()
    await redis.restart()
    await waitFor(async () => (await subscribedRooms().catch(() => [])).join() === rooms.join(), 5000)
    t.same(await subscribedRooms(), rooms, `every room with local members is subscribed again (${rooms.join(', ')})`)
    t.equal(await subscribers('solo'), 1, "'solo' has its one subscriber again")
    let n = 1000
    await waitFor(async () => {
      await say(s3, 'solo', n++).catch(() => {})
      return heard(a1, 'solo').some((x) => x >= 1000)
    }, 5000, 50)
    t.pass('cross-node delivery resumed')
    t.same(nodes.map((n) => n.stats().foreign), [0, 0, 0], 'still nothing foreign')
  })
})
