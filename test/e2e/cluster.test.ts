import t from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import { Redis, type RedisOptions } from 'ioredis'
import socketspec, { Type, redisBackend } from '../../lib/index.js'
import { startRedis, type RedisServer } from '../helpers/redis.js'
import { waitFor } from '../helpers/rooms.js'
import { listen, connectedClient, requestReply } from '../helpers/ws-client.js'

type Test = Parameters<Parameters<typeof t.test>[0]>[0]

const HEARTBEAT = 0.2
const Room = Type.Object({ room: Type.String() })

/** One node: the real plugin on the Redis backend, on a loopback port. */
async function buildNode (t: Test, redis: RedisServer, keyPrefix: string, redisOptions?: RedisOptions): Promise<{ app: FastifyInstance, url: string }> {
  const app = Fastify({ logger: false })
  await app.register(socketspec, {
    path: '/ws',
    backend: redisBackend({ url: redis.url, keyPrefix, redisOptions }),
    rooms: ['lobby'],
    session: { heartbeatInterval: HEARTBEAT, heartbeatTimeout: 5 }
  })
  const socket = app.socket
  socket.on('join', { payload: Room, reply: { event: 'joined' } }, async (conn, { room }) => {
    await conn.join(room)
    return { room }
  })
  socket.on('say', { payload: Type.Object({ room: Type.String(), text: Type.String() }) }, async (conn, { room, text }) => {
    await conn.to(room).emit('said', { room, text, from: conn.id })
  })
  socket.on('members', { payload: Room, reply: { event: 'members' } }, async (_conn, { room }) => {
    return { members: (await socket.rooms.members(room)).sort() }
  })
  socket.on('dm', { payload: Type.Object({ to: Type.String(), text: Type.String() }) }, async (conn, { to, text }) => {
    await socket.toConnection(to).emit('dm', { text, from: conn.id })
  })
  socket.on('shout', { payload: Type.Object({ text: Type.String() }) }, async (_conn, { text }) => {
    await socket.emit('shouted', { text })
  })
  t.teardown(() => app.close())
  const url = await listen(t, app)
  return { app, url }
}

const client = connectedClient
const request = requestReply

t.test('cluster of two nodes on one Redis', async (t) => {
  const redis = await startRedis(t)
  if (redis === null) return
  let prefixes = 0
  const prefix = (): string => `cluster-${++prefixes}:`

  t.test('cross-node broadcast, members, toConnection, socket.emit', async (t) => {
    const keyPrefix = prefix()
    const n1 = await buildNode(t, redis, keyPrefix)
    const n2 = await buildNode(t, redis, keyPrefix)
    const a = await client(t, n1.url)
    const b = await client(t, n2.url)
    const c = await client(t, n2.url)
    await request(a, 'join', { room: 'chat' }, 'joined')
    await request(b, 'join', { room: 'chat' }, 'joined')

    const seen = await request(b, 'members', { room: 'chat' }, 'members')
    t.same(seen.members, [a.id, b.id].sort(), 'members() lists both nodes')
    t.same((await n1.app.socket.rooms.members('chat')).sort(), [a.id, b.id].sort())
    t.equal(await n1.app.socket.rooms.exists('chat'), true)
    t.ok((await n1.app.socket.rooms.list()).includes('chat'))

    a.send('say', { room: 'chat', text: 'hi from node 1' })
    t.same((await b.next('said')).payload, { room: 'chat', text: 'hi from node 1', from: a.id }, 'broadcast crossed nodes')
    b.send('say', { room: 'chat', text: 'hi from node 2' })
    t.same((await a.next('said')).payload, { room: 'chat', text: 'hi from node 2', from: b.id })
    t.equal(a.frames.filter((f) => f.event === 'said' && f.payload.from === a.id).length, 0, 'conn.to excludes the sender')

    a.send('dm', { to: c.id, text: 'psst' })
    t.same((await c.next('dm')).payload, { text: 'psst', from: a.id }, 'toConnection reached the other node')

    c.send('shout', { text: 'everyone' })
    for (const x of [a, b, c]) t.same((await x.next('shouted')).payload, { text: 'everyone' }, 'socket.emit reached every node')

    await n2.app.socket.rooms.broadcast('chat', 'server_note', { n: 1 }, { except: [a.id] })
    await n2.app.socket.to('chat').emit('server_note', { n: 2 })
    t.same((await b.next('server_note')).payload, { n: 1 })
    t.same((await a.next('server_note')).payload, { n: 2 }, 'except applied on the other node')

    a.send('say', { room: 'nowhere', text: 'x' })
    t.match((await a.next('__error__')).payload, { code: 'ROOM_NOT_FOUND', details: { room: 'nowhere' } })

    await request(c, 'join', { room: 'only-on-2' }, 'joined')
    a.send('say', { room: 'only-on-2', text: 'knock' })
    t.same((await c.next('said')).payload, { room: 'only-on-2', text: 'knock', from: a.id }, 'a room that exists only on the other node')

    b.ws.close()
    await b.closed
    await waitFor(async () => !(await n1.app.socket.rooms.members('chat')).includes(b.id), 2000)
    t.pass('a disconnect leaves its rooms on every node')
  })

  t.test('a dead node is purged within 2 x heartbeat', async (t) => {
    const keyPrefix = prefix()
    const n1 = await buildNode(t, redis, keyPrefix)
    const name = `dying-node-${prefixes}`
    const n2 = await buildNode(t, redis, keyPrefix, { connectionName: name, retryStrategy: () => null })
    const a = await client(t, n1.url)
    const b = await client(t, n2.url)
    await request(a, 'join', { room: 'chat' }, 'joined')
    await request(b, 'join', { room: 'chat' }, 'joined')
    await request(b, 'join', { room: 'b-only' }, 'joined')
    t.same((await n1.app.socket.rooms.members('chat')).sort(), [a.id, b.id].sort())

    // The node's Redis connections die and never come back, as when its process is killed.
    const admin = new Redis(redis.url)
    t.teardown(() => admin.disconnect())
    const list = await admin.client('LIST') as string
    const victims = list.split('\n').filter((line) => line.includes(` name=${name} `)).map((line) => /id=(\d+)/.exec(line)![1])
    t.equal(victims.length, 2, 'commands and pub/sub connections')
    for (const id of victims) await admin.client('KILL', 'ID', id)

    const elapsed = await waitFor(async () => !(await n1.app.socket.rooms.members('chat')).includes(b.id), 3000)
    t.ok(elapsed <= 2 * HEARTBEAT * 1000 + 100, `purged after ${elapsed} ms (2 x heartbeat = ${2 * HEARTBEAT * 1000} ms, +100 ms polling slack)`)
    t.equal(await n1.app.socket.rooms.exists('b-only'), false)
    t.ok(n1.app.socket.backendStats().purgedNodes >= 1, 'purge counted in backendStats()')
  })

  t.test('Redis outage under traffic', async (t) => {
    const rejections: unknown[] = []
    const onRejection = (err: unknown): void => { rejections.push(err) }
    process.on('unhandledRejection', onRejection)
    t.teardown(() => { process.off('unhandledRejection', onRejection) })

    const keyPrefix = prefix()
    const n1 = await buildNode(t, redis, keyPrefix)
    const n2 = await buildNode(t, redis, keyPrefix)
    const a1 = await client(t, n1.url)
    const a2 = await client(t, n1.url)
    const b = await client(t, n2.url)
    for (const c of [a1, a2, b]) await request(c, 'join', { room: 'chat' }, 'joined')
    a1.send('say', { room: 'chat', text: 'before' })
    await b.next('said')
    await a2.next('said')

    await redis.stop()
    let sent = 0
    const until = Date.now() + 2000
    while (Date.now() < until && sent < 60) {
      const text = `during-${sent++}`
      a1.send('say', { room: 'chat', text })
      const got = await a2.next('said')
      if (got.payload.text !== text) t.fail(`local delivery: expected ${text}, got ${String(got.payload.text)}`)
      await new Promise((resolve) => setTimeout(resolve, 40))
    }
    t.ok(sent >= 10, `${sent} messages during the outage, each delivered locally over a real socket`)
    t.equal(a1.frames.filter((f) => f.event === '__error__').length, 0, 'no error reached the sender')
    t.equal(b.frames.filter((f) => f.event === 'said' && String(f.payload.text).startsWith('during-')).length, 0, 'nothing crossed nodes while Redis was down')
    const during = n1.app.socket.stats()
    t.ok((during.errors.BACKEND_ERROR ?? 0) >= sent, `backend errors counted in stats().errors.BACKEND_ERROR (${String(during.errors.BACKEND_ERROR)})`)
    t.equal(n1.app.socket.backendStats().connected, 0)
    t.equal(during.connections, 2, 'connections stayed up')

    await redis.restart()
    const restarted = Date.now()
    let k = 0
    await waitFor(() => {
      a1.send('say', { room: 'chat', text: `after-${k++}` })
      return b.frames.some((f) => f.event === 'said' && String(f.payload.text).startsWith('after-'))
    }, 3000, 50)
    const elapsed = Date.now() - restarted
    t.ok(elapsed < 1000, `cross-node delivery again ${elapsed} ms after Redis returned`)
    await waitFor(async () => (await n2.app.socket.rooms.members('chat')).length === 3, 1000)
    t.pass('memberships re-registered after the restart wiped Redis')
    t.equal(n1.app.socket.backendStats().connected, 1)
    t.same(rejections, [], 'no unhandled rejection')
  })
})
