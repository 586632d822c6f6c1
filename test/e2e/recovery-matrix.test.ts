// Session recovery (SPEC §12), one matrix for the memory backend and
// redisBackend (a real redis-server): on Redis two nodes, a client that drops
// on node A and resumes on node B with broadcasts from both nodes during the
// gap (on memory A and B are the same node); then, on Redis only, Redis
// stopped mid-stream, frozen, and restarted empty: never recovered: true with a hole.
import t, { type Test } from 'tap'
import { createServer, connect, type Socket } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { Redis } from 'ioredis'
import { createSigner } from 'fast-jwt'
import { jwtAuth, redisBackend } from '../../lib/index.js'
import { buildClientTestApp } from '../fixtures/client/app.js'
import type { TestContract } from '../fixtures/client/events.js'
import { client, portOf, StateLog } from '../helpers/client.js'
import { startRedis, type RedisServer } from '../helpers/redis.js'
import { waitFor } from '../helpers/rooms.js'
import { listen, open, type WsClient, type Frame } from '../helpers/ws-client.js'

const RECOVERY = { ttl: 30, historySize: 50 }
let prefixes = 0

type Backend = 'memory' | 'redis'

/** One node of the matrix: on Redis, a new app sharing `keyPrefix`; on memory, there is one node, so "the other node" is the same app. */
async function node (t: Test, redis: RedisServer | null, keyPrefix: string, recovery = RECOVERY, commandTimeout = 500): Promise<{ app: FastifyInstance, url: string }> {
  const app = await buildClientTestApp({
    recovery,
    ...(redis === null ? {} : { backend: redisBackend({ url: redis.url, keyPrefix, commandTimeout, reconnectMaxDelay: 50 }) }),
    session: { heartbeatInterval: 0.3, heartbeatTimeout: 5 }
  })
  t.teardown(() => app.close())
  return { app, url: await listen(t, app) }
}

/** Nodes A and B: two apps on one Redis, or the same memory app twice. */
async function nodes (t: Test, redis: RedisServer | null, recovery = RECOVERY): Promise<Array<{ app: FastifyInstance, url: string }>> {
  const prefix = `rec-${++prefixes}:`
  const a = await node(t, redis, prefix, recovery)
  return [a, redis === null ? a : await node(t, redis, prefix, recovery)]
}

async function connected (t: Test, url: string): Promise<{ ws: WsClient, connect: Frame }> {
  const ws = await open(t, url, { protocols: ['socketspec'], answerPings: true })
  return { ws, connect: await ws.next('__connect__') }
}

let syncs = 0
async function request (ws: WsClient, event: string, payload: unknown, id = `req-${++syncs}`): Promise<Frame> {
  ws.ws.send(JSON.stringify({ event, payload, id }))
  for (;;) {
    const f = await ws.next()
    if (f.id === id) return f
  }
}

/** Broadcast each text to `room` from `ws` (the handler awaits the record), then a round trip: they are all recorded. */
async function say (ws: WsClient, room: string, ...texts: string[]): Promise<void> {
  for (const text of texts) ws.ws.send(JSON.stringify({ event: 'say', payload: { room, text } }))
  await request(ws, 'notes', {})
}

/** Read frames until `__resumed__`: the replayed `said` texts and the outcome. */
async function resumed (ws: WsClient): Promise<{ texts: string[], offsets: number[], payload: any }> {
  const texts: string[] = []
  const offsets: number[] = []
  for (;;) {
    const f = await ws.next()
    if (f.event === '__resumed__') return { texts, offsets, payload: f.payload }
    if (f.event === 'said') {
      texts.push(f.payload.text)
      offsets.push(f.offset!)
    }
  }
}

async function drop (app: FastifyInstance, c: { ws: WsClient, connect: Frame }): Promise<void> {
  c.ws.ws.terminate()
  await waitFor(() => app.socket.connection(c.connect.payload.connection_id) === undefined, 3000)
}

for (const backend of ['memory', 'redis'] as Backend[]) {
  t.test(`the matrix on ${backend}`, async (t) => {
    const redis = backend === 'redis' ? await startRedis(t) : null
    if (backend === 'redis' && redis === null) return
    matrix(t, redis)
  })
}

/** The recovery cases that hold on both backends (memory: nodes A and B are the same node). */
function matrix (t: Test, redis: RedisServer | null): void {
  t.test('two nodes: drop on A, broadcasts from A and B meanwhile, resume on B: every one exactly once, in order, then live ones', async (t) => {
    const [a, b] = await nodes(t, redis)
    const pubA = await connected(t, a.url)
    const pubB = await connected(t, b.url)
    const sub = await connected(t, a.url)
    await request(sub.ws, 'join', { room: 'r' })
    const joined = sub.ws.frames.find(f => f.event === '__joined__')!
    t.match(joined.payload, { room: 'r', offset: 0, epoch: /^[\w.-]+$/ })
    const epoch = joined.payload.epoch as string

    await say(pubA.ws, 'r', '1')
    await say(pubB.ws, 'r', '2')
    await say(pubA.ws, 'r', '3')
    const live: Frame[] = []
    for (let i = 0; i < 3; i++) live.push(await sub.ws.next('said'))
    // a handler's broadcast may still be recording when the next request is answered: the order is Redis's
    t.same(live.map(f => [f.room, f.offset, f.epoch]), [['r', 1, epoch], ['r', 2, epoch], ['r', 3, epoch]], 'offsets +1 across nodes, one epoch')
    t.same(live.map(f => f.payload.text).sort(), ['1', '2', '3'])

    await drop(a.app, sub)
    t.ok(await b.app.socket.rooms.exists('r'), 'the session stored in Redis holds the room on the other node')
    t.ok((await b.app.socket.rooms.list()).includes('r'))
    for (let i = 4; i <= 9; i++) await say(i % 2 === 0 ? pubB.ws : pubA.ws, 'r', String(i))

    const back = await connected(t, b.url)
    back.ws.ws.send(JSON.stringify({ event: '__resume__', id: 'res', payload: { token: sub.connect.payload.resume_token, rooms: { r: { offset: 3, epoch } } } }))
    // broadcasts while the resume runs: no gap, no duplicate
    pubA.ws.ws.send(JSON.stringify({ event: 'say', payload: { room: 'r', text: '10' } }))
    pubB.ws.ws.send(JSON.stringify({ event: 'say', payload: { room: 'r', text: '11' } }))
    const out = await resumed(back.ws)
    t.same(out.payload, { recovered: true, previous_id: sub.connect.payload.connection_id, rooms: { r: { recovered: true, missed: out.texts.length } } })
    // the two nodes' handlers record concurrently: the order is Redis's, the same for every member (offsets)
    t.same(out.offsets.slice(0, 6), [4, 5, 6, 7, 8, 9], 'the missed broadcasts from both nodes, in offset order')
    t.same(out.texts.slice(0, 6).sort(), ['4', '5', '6', '7', '8', '9'])
    await say(pubB.ws, 'r', '12')
    const after: Frame[] = []
    while (out.texts.length + after.length < 9) {
      const f = await back.ws.next('said').catch((err) => { t.comment(JSON.stringify(back.ws.frames.map(f => [f.event, f.offset, f.payload?.text]))); throw err })
      after.push(f)
    }
    const all = [...out.offsets, ...after.map(f => f.offset!)]
    t.same(all, [4, 5, 6, 7, 8, 9, 10, 11, 12], 'replayed then live: every offset exactly once, in order')
    t.same([...out.texts, ...after.map(f => f.payload.text)].slice(6).sort(), ['10', '11', '12'])

    // single use, on any node
    const again = await connected(t, a.url)
    again.ws.ws.send(JSON.stringify({ event: '__resume__', payload: { token: sub.connect.payload.resume_token } }))
    t.match((await again.ws.next('__resumed__')).payload, { recovered: false, reason: 'unknown_token', rooms: {} })
    if (redis !== null) {
      const recorded = [a, b].map(n => n.app.socket.backendStats() as Record<string, number>)
      t.equal(recorded[0].recorded + recorded[1].recorded, 12, 'one record (one round trip) per broadcast')
      t.equal(recorded[0].unrecorded + recorded[1].unrecorded, 0)
    }
  })

  t.test('a join while broadcasts fly: __joined__ {offset}, then exactly the offsets after it', async (t) => {
    const [a, b] = await nodes(t, redis)
    const pub = await connected(t, b.url)
    const ref = await connected(t, b.url)
    await request(ref.ws, 'join', { room: 'j' })
    const sub = await connected(t, a.url)
    const N = 30
    for (let i = 1; i <= N; i++) pub.ws.ws.send(JSON.stringify({ event: 'say', payload: { room: 'j', text: String(i) } }))
    await request(sub.ws, 'join', { room: 'j' })
    for (let i = 0; i < N; i++) await ref.ws.next('said') // all recorded and delivered
    await say(pub.ws, 'j', 'last')
    await ref.ws.next('said')
    await waitFor(() => sub.ws.frames.some(f => f.event === 'said' && f.payload.text === 'last'), 3000)
    const frames = sub.ws.frames.filter(f => f.event === '__joined__' || f.event === 'said')
    t.equal(frames[0].event, '__joined__', '__joined__ comes before any broadcast of the room')
    const from = frames[0].payload.offset as number
    t.same(frames.slice(1).map(f => f.offset), Array.from({ length: N + 1 - from }, (_, i) => from + 1 + i), `offsets ${from + 1}..${N + 1}: none at or before the join's, no gap`)
    t.ok(frames.slice(1).every(f => f.epoch === frames[0].payload.epoch), 'one epoch')
  })

  t.test('overflow and another epoch: not recovered; a 1000 close: refused', async (t) => {
    const [a, b] = await nodes(t, redis, { ttl: 30, historySize: 3 })
    const pub = await connected(t, b.url)
    const sub = await connected(t, a.url)
    await request(sub.ws, 'join', { room: 'r' })
    await request(sub.ws, 'join', { room: 'q' })
    const at = Object.fromEntries(sub.ws.frames.filter(f => f.event === '__joined__').map(f => [f.payload.room, { offset: f.payload.offset, epoch: f.payload.epoch }]))
    await drop(a.app, sub)
    await say(pub.ws, 'r', 'x1', 'x2', 'x3', 'x4')
    await say(pub.ws, 'q', 'q1')
    const back = await connected(t, b.url)
    back.ws.ws.send(JSON.stringify({ event: '__resume__', payload: { token: sub.connect.payload.resume_token, rooms: at } }))
    const out = await resumed(back.ws)
    t.same(out.payload, { recovered: false, previous_id: sub.connect.payload.connection_id, rooms: { r: { recovered: false, missed: 0 }, q: { recovered: true, missed: 1 } } }, 'r overflowed (4 missed, 3 kept)')
    t.same(out.texts, ['q1'])

    await drop(b.app, back)
    const c = await connected(t, a.url)
    c.ws.ws.send(JSON.stringify({ event: '__resume__', payload: { token: back.connect.payload.resume_token, rooms: { q: { offset: 1, epoch: 'not-the-epoch' } } } }))
    t.match((await resumed(c.ws)).payload, { recovered: false, rooms: { q: { recovered: false } } }, 'an epoch Redis never gave')

    c.ws.ws.close(1000)
    await waitFor(() => a.app.socket.connection(c.connect.payload.connection_id) === undefined, 3000)
    const d = await connected(t, b.url)
    d.ws.ws.send(JSON.stringify({ event: '__resume__', payload: { token: c.connect.payload.resume_token } }))
    t.match((await d.ws.next('__resumed__')).payload, { recovered: false, reason: 'unknown_token' }, 'a 1000 close leaves nothing to resume')
  })

  t.test('another user, and a session past its ttl: refused (on the other node too)', async (t) => {
    const secret = 'recovery-matrix-secret-of-32-bytes!'
    const sign = createSigner({ key: secret, algorithm: 'HS256' })
    const prefix = `rec-auth-${++prefixes}:`
    const build = async (): Promise<string> => {
      const app = await buildClientTestApp({
        recovery: { ttl: 1, historySize: 10 },
        auth: jwtAuth({ secret, algorithm: 'HS256' }),
        ...(redis === null ? {} : { backend: redisBackend({ url: redis.url, keyPrefix: prefix, commandTimeout: 500, reconnectMaxDelay: 50 }) }),
        session: { heartbeatInterval: 0.3, heartbeatTimeout: 5 }
      })
      t.teardown(() => app.close())
      return await listen(t, app)
    }
    const urlA = await build()
    const urlB = redis === null ? urlA : await build()
    const as = async (url: string, user: string): Promise<{ ws: WsClient, connect: Frame }> => {
      const ws = await open(t, url, { protocols: ['socketspec'], answerPings: true, headers: { authorization: `Bearer ${sign({ sub: user })}` } })
      return { ws, connect: await ws.next('__connect__') }
    }
    const alice = await as(urlA, 'alice')
    await request(alice.ws, 'join', { room: 'r' })
    alice.ws.ws.terminate()
    const mallory = await as(urlB, 'mallory')
    // the session is saved once the server sees the drop: retry the resume until it is found or refused for the user
    let outcome: any
    for (let i = 0; i < 50; i++) {
      mallory.ws.ws.send(JSON.stringify({ event: '__resume__', payload: { token: alice.connect.payload.resume_token } }))
      outcome = (await mallory.ws.next('__resumed__')).payload
      if (outcome.reason !== 'unknown_token') break
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    t.match(outcome, { recovered: false, reason: 'user_mismatch', rooms: {} }, 'another user is refused')
    const back = await as(urlB, 'alice')
    back.ws.ws.send(JSON.stringify({ event: '__resume__', payload: { token: alice.connect.payload.resume_token } }))
    t.match((await back.ws.next('__resumed__')).payload, { recovered: false, reason: 'unknown_token' }, 'and the token was spent by that attempt')

    const alice2 = await as(urlA, 'alice')
    await request(alice2.ws, 'join', { room: 'r' })
    alice2.ws.ws.terminate()
    await new Promise((resolve) => setTimeout(resolve, 1600)) // ttl 1 s
    const late = await as(urlB, 'alice')
    late.ws.ws.send(JSON.stringify({ event: '__resume__', payload: { token: alice2.connect.payload.resume_token } }))
    t.match((await late.ws.next('__resumed__')).payload, { recovered: false, reason: 'unknown_token' }, 'past ttl the session is gone')
  })

  t.test('the client SDK resumes on the other node by itself: every number exactly once, in order', async (t) => {
    const [a, b] = await nodes(t, redis)
    const proxy = await SwitchProxy.start(t, portOf(a.app))
    const sub = client<TestContract>(t, `ws://127.0.0.1:${proxy.port}/ws`, { reconnect: { minDelay: 30, maxDelay: 100 } })
    const states = new StateLog(sub)
    const seen: string[] = []
    sub.on('said', ({ text }) => seen.push(text))
    await sub.request('join', { room: 'seq' })
    const pubs = [client<TestContract>(t, `ws://127.0.0.1:${portOf(a.app)}/ws`), client<TestContract>(t, `ws://127.0.0.1:${portOf(b.app)}/ws`)]
    await Promise.all(pubs.map(p => p.ready))
    // a member that never drops: the order every member must see (the nodes record concurrently)
    const ref = client<TestContract>(t, `ws://127.0.0.1:${portOf(b.app)}/ws`)
    const order: string[] = []
    ref.on('said', ({ text }) => order.push(text))
    await ref.request('join', { room: 'seq' })
    const N = 40
    const apps = [a.app, b.app]
    for (let i = 1; i <= N; i++) {
      pubs[i % 2].send('say', { room: 'seq', text: String(i) })
      if (i % 10 === 5) {
        await Promise.all(pubs.map(p => p.request('notes', {}))) // the broadcasts so far are recorded
        proxy.switchTo(portOf(apps[(i / 5) % 2 === 1 ? 1 : 0])) // every cut lands on the other node
        await states.next('reconnecting')
      }
      if (i % 10 === 8) {
        const opened = await states.next('open')
        t.equal(opened.info.recovered, true, `resumed on the other node after the cut at ${i - 3}`)
      }
    }
    await waitFor(() => seen.length >= N && order.length >= N, 5000).catch(() => {})
    t.same([...seen].sort((x, y) => Number(x) - Number(y)), Array.from({ length: N }, (_, i) => String(i + 1)), 'every number exactly once')
    t.same(seen, order, 'in the order a member that never dropped saw')
  })
}

t.test('recovery on Redis only: outages and restarts', async (t) => {
  if (await startRedis(t) === null) return

  t.test('a node shuts down: its sessions are in Redis before it stops, and resume on the other node', async (t) => {
    const own = await startRedis(t)
    if (own === null) return
    const a = await node(t, own, 'restart:')
    const b = await node(t, own, 'restart:')
    const pub = await connected(t, b.url)
    const sub = await connected(t, a.url)
    await request(sub.ws, 'join', { room: 'r' })
    await say(pub.ws, 'r', '1')
    const first = await sub.ws.next('said')
    // the namespace's recovery settings are in Redis, for other writers of its history
    const redisClient = new Redis(own.url)
    t.teardown(() => redisClient.disconnect())
    const [settingsKey] = await redisClient.keys('restart:*recovery')
    t.same(await redisClient.hgetall(settingsKey), { ttl: String(RECOVERY.ttl), historySize: String(RECOVERY.historySize) })
    await a.app.close() // __server_shutdown__, then 1001: a resumable close
    t.equal((await sub.ws.closed).code, 1001)
    t.ok(await b.app.socket.rooms.exists('r'), 'the stored session holds the room after its node is gone')
    await say(pub.ws, 'r', '2', '3')
    const back = await connected(t, b.url)
    back.ws.ws.send(JSON.stringify({ event: '__resume__', payload: { token: sub.connect.payload.resume_token, rooms: { r: { offset: first.offset, epoch: first.epoch } } } }))
    const out = await resumed(back.ws)
    t.same(out.payload, { recovered: true, previous_id: sub.connect.payload.connection_id, rooms: { r: { recovered: true, missed: 2 } } })
    t.same(out.offsets, [2, 3])
  })

  t.test('Redis stopped mid-stream: local delivery goes on, and no resume across the gap says recovered', async (t) => {
    const own = await startRedis(t)
    if (own === null) return
    const a = await node(t, own, 'stop:')
    const b = await node(t, own, 'stop:')
    const pub = await connected(t, a.url)
    const local = await connected(t, a.url)
    const sub = await connected(t, b.url)
    await request(local.ws, 'join', { room: 'r' })
    await request(sub.ws, 'join', { room: 'r' })
    const epoch = sub.ws.frames.find(f => f.event === '__joined__')!.payload.epoch
    await say(pub.ws, 'r', '1', '2')
    t.equal((await sub.ws.next('said')).offset, 1)
    t.equal((await sub.ws.next('said')).offset, 2)
    await drop(b.app, sub)

    await own.stop()
    await say(pub.ws, 'r', 'lost-1', 'lost-2')
    const unrecorded = [await local.ws.next('said'), await local.ws.next('said'), await local.ws.next('said'), await local.ws.next('said')].slice(2)
    t.same(unrecorded.map(f => f.payload.text), ['lost-1', 'lost-2'], 'members on the publishing node still get them (SPEC §6)')
    t.ok(unrecorded.every(f => f.epoch !== epoch && String(f.epoch).startsWith('local-')), 'in a local epoch: never taken for recorded ones')
    t.match(a.app.socket.backendStats(), { unrecorded: 2 })

    const during = await connected(t, a.url)
    during.ws.ws.send(JSON.stringify({ event: '__resume__', payload: { token: sub.connect.payload.resume_token, rooms: { r: { offset: 2, epoch } } } }))
    t.match((await during.ws.next('__resumed__')).payload, { recovered: false, reason: 'unavailable', rooms: {} }, 'no session store: refused')

    // Redis comes back (empty here: the session is gone with it; the epoch changes either way)
    await own.restart()
    await waitFor(() => (a.app.socket.backendStats() as any).connected === 1 && (a.app.socket.backendStats() as any).epochResets === 1, 5000)
    await say(pub.ws, 'r', '3')
    const next = await local.ws.next('said')
    t.equal(next.payload.text, '3')
    t.not(next.epoch, epoch, 'a new epoch after the gap')
    t.equal(next.offset, 1)
  })

  t.test('the gap is closed by an epoch change in Redis even when Redis kept its data', async (t) => {
    const own = await startRedis(t)
    if (own === null) return
    const a = await node(t, own, 'pause:')
    const b = await node(t, own, 'pause:')
    const pub = await connected(t, a.url)
    const local = await connected(t, a.url)
    const sub = await connected(t, b.url)
    await request(local.ws, 'join', { room: 'r' })
    await request(sub.ws, 'join', { room: 'r' })
    const epoch = sub.ws.frames.find(f => f.event === '__joined__')!.payload.epoch
    await say(pub.ws, 'r', '1')
    t.equal((await sub.ws.next('said')).offset, 1)
    await drop(b.app, sub)
    // a round trip on B's connection after the session's save: it is stored before Redis freezes
    t.ok(await b.app.socket.rooms.exists('r'))

    // Redis freezes (its data stays): node A's broadcast cannot be recorded
    own.pause()
    await say(pub.ws, 'r', 'lost')
    t.match(await local.ws.next('said'), { payload: { text: '1' } })
    t.match(await local.ws.next('said'), { payload: { text: 'lost' }, epoch: /^local-/ })
    own.resume()
    await waitFor(() => (a.app.socket.backendStats() as any).epochResets === 1, 10_000)

    const back = await connected(t, b.url)
    back.ws.ws.send(JSON.stringify({ event: '__resume__', payload: { token: sub.connect.payload.resume_token, rooms: { r: { offset: 1, epoch } } } }))
    const out = await resumed(back.ws)
    t.same(out.payload, { recovered: false, previous_id: sub.connect.payload.connection_id, rooms: { r: { recovered: false, missed: 0 } } }, 'the session survived, but the room had an unrecorded broadcast: not recovered')
  })

  t.test('Redis restarted empty: the old epoch is gone, a resume from it is not recovered', async (t) => {
    const own = await startRedis(t)
    if (own === null) return
    // The default commandTimeout: nothing freezes here, and 500 ms (the others' quick freeze detection) is
    // within reach of a loaded machine's first commands on the restarted Redis (a command over it drops the
    // connection, and the resume is then refused as 'unavailable').
    const a = await node(t, own, 'empty:', RECOVERY, 2000)
    const pub = await connected(t, a.url)
    const sub = await connected(t, a.url)
    await request(sub.ws, 'join', { room: 'r' })
    const epoch = sub.ws.frames.find(f => f.event === '__joined__')!.payload.epoch
    await say(pub.ws, 'r', '1')
    t.equal((await sub.ws.next('said')).offset, 1)
    await own.restart()
    await waitFor(() => (a.app.socket.backendStats() as any).connected === 1, 5000)
    // dropped after the restart: its session is stored in the new Redis, its position is in the old epoch
    await drop(a.app, sub)
    await say(pub.ws, 'r', '2')
    const back = await connected(t, a.url)
    back.ws.ws.send(JSON.stringify({ event: '__resume__', payload: { token: sub.connect.payload.resume_token, rooms: { r: { offset: 1, epoch } } } }))
    const out = await resumed(back.ws)
    t.same(out.payload, { recovered: false, previous_id: sub.connect.payload.connection_id, rooms: { r: { recovered: false, missed: 0 } } })
    if (out.payload.reason !== undefined) t.comment(`backendStats: ${JSON.stringify(a.app.socket.backendStats())}`)
  })
})

/** A TCP proxy whose target can be switched: switching cuts every connection without a close frame. */
class SwitchProxy {
  readonly #sockets = new Set<Socket>()
  #target: number
  readonly #server = createServer((client) => {
    const upstream = connect(this.#target, '127.0.0.1')
    for (const s of [client, upstream]) {
      this.#sockets.add(s)
      s.on('close', () => this.#sockets.delete(s))
      s.on('error', () => {})
    }
    client.pipe(upstream).pipe(client)
    client.on('close', () => upstream.destroy())
    upstream.on('close', () => client.destroy())
  })

  private constructor (target: number) {
    this.#target = target
  }

  static async start (t: Test, target: number): Promise<SwitchProxy> {
    const proxy = new SwitchProxy(target)
    await new Promise<void>((resolve) => proxy.#server.listen(0, '127.0.0.1', resolve))
    t.teardown(() => proxy.close())
    return proxy
  }

  get port (): number {
    return (this.#server.address() as { port: number }).port
  }

  /** Forward new connections to `target`, and cut the open ones (no close frame). */
  switchTo (target: number): void {
    this.#target = target
    for (const s of this.#sockets) s.destroy()
  }

  close (): Promise<void> {
    for (const s of this.#sockets) s.destroy()
    return new Promise((resolve) => this.#server.close(() => resolve()))
  }
}
