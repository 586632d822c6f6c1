import type { FastifyBaseLogger } from 'fastify'
import type { BackendAdapter, BackendContext } from './backends/types.js'

/*
 * The backend test matrix, exported from `socketspec/testing` so that the
 * author of another adapter (NATS, Postgres…) proves it keeps the
 * BackendAdapter contract the plugin relies on (SPEC §6), with the same tests
 * our memory and Redis adapters pass. It drives adapters directly through
 * their interface, with a recording BackendContext per node: no plugin, no
 * sockets, no test framework dependency (the `t` it takes is tap's shape).
 */

/**
 * The assertions `backendConformance` uses: a subset of tap's `Test`, which
 * fits as it is (every assertion is given a message).
 */
export interface ConformanceTest {
  test (name: string, fn: (t: ConformanceTest) => Promise<void>): unknown
  equal (found: unknown, wanted: unknown, ...message: [string]): unknown
  same (found: unknown, wanted: unknown, ...message: [string]): unknown
  ok (value: unknown, ...message: [string]): unknown
  teardown (fn: () => unknown): void
}

/** How `backendConformance` makes the adapters it tests. */
export interface ConformanceFactory {
  /**
   * A new adapter instance: one node. Every adapter one factory makes must
   * share one store (one cluster) — e.g. `redisBackend({ url, keyPrefix })`
   * with the same prefix each time, a fresh prefix per factory.
   */
  create (): BackendAdapter | Promise<BackendAdapter>
  /**
   * False for an adapter that keeps everything in its process (memory):
   * there are no other nodes, so the cross-node tests are left out. Default true.
   */
  multiNode?: boolean
  /** Milliseconds cross-node state (membership, presence, delivery) may take to show on another node. Default 3000. */
  settleMs?: number
  /**
   * True (the default) for an adapter with sharded delivery (SPEC §13): a node
   * receives a room's frames only while it has a member in the room, and from
   * the moment `join` resolves. False for an adapter that hands every room frame
   * to every node (the plugin then finds no local member): those tests are left out.
   */
  sharded?: boolean
}

/** A node under test: the adapter and what its context was asked to deliver. */
interface Node {
  adapter: BackendAdapter
  ctx: BackendContext
  delivered: Delivery[]
  /**
   * Resolves with the next delivery that `match` accepts (a delivery already
   * recorded counts); rejects after `ms` with an error that names the wait
   * (`label`) and tells the node's stats and what its adapter logged.
   */
  next (match: (d: Delivery) => boolean, ms: number, label: string): Promise<Delivery>
}

/** One call of a BackendContext `deliver*` method. */
export type Delivery =
  | { kind: 'room', room: string, frame: string, except: readonly string[] }
  | { kind: 'all', frame: string }
  | { kind: 'connection', connectionId: string, frame: string }

let seq = 0

/** A logger that writes nothing; with `lines`, it keeps the last lines of level info and above there (for failure messages). */
function silentLogger (lines?: string[]): FastifyBaseLogger {
  const log: Record<string, unknown> = { level: 'silent' }
  for (const level of ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']) log[level] = () => {}
  if (lines !== undefined) {
    for (const level of ['fatal', 'error', 'warn', 'info']) {
      log[level] = (obj: unknown, msg?: unknown) => {
        if (lines.length >= 20) lines.shift()
        lines.push(`${level} ${typeof obj === 'string' ? obj : `${String(msg)} ${describe(obj)}`}`)
      }
    }
  }
  log.child = () => log
  return log as unknown as FastifyBaseLogger
}

/** A log line's object, errors by their message. */
function describe (obj: unknown): string {
  try {
    return JSON.stringify(obj, (_key, value: unknown) => value instanceof Error ? `${value.name}: ${value.message}` : value)
  } catch {
    return String(obj)
  }
}

async function until (check: () => Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms
  for (;;) {
    if (await check()) return true
    if (Date.now() > deadline) return false
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

async function startNode (t: ConformanceTest, factory: ConformanceFactory, namespace: string): Promise<Node> {
  const adapter = await factory.create()
  const delivered: Delivery[] = []
  const waiters: Array<() => void> = []
  const record = (d: Delivery): void => {
    delivered.push(d)
    for (const w of waiters.splice(0)) w()
  }
  const connections = new Set<string>()
  const logged: string[] = []
  const ctx: BackendContext = {
    namespace,
    nodeId: `conformance-node-${process.pid}-${++seq}`,
    log: silentLogger(logged),
    heartbeatInterval: 1,
    deliverRoom: (room, frame, except) => { record({ kind: 'room', room, frame, except: except ?? [] }); return 1 },
    deliverAll: (frame) => { record({ kind: 'all', frame }); return 1 },
    deliverConnection: (connectionId, frame) => {
      if (!connections.has(connectionId)) return false
      record({ kind: 'connection', connectionId, frame })
      return true
    },
    localConnections: () => connections,
    localMemberships: () => []
  }
  let stopped = false
  // the adapter, with the context's local index kept in step with what the test registers, as the plugin does
  const tracked: BackendAdapter = {
    name: adapter.name,
    start: async (c) => { await adapter.start(c) },
    stop: async (namespace) => { stopped = true; await adapter.stop(namespace) },
    addConnection: async (namespace, id) => { connections.add(id); await adapter.addConnection(namespace, id) },
    removeConnection: async (namespace, id) => { connections.delete(id); await adapter.removeConnection(namespace, id) },
    join: async (namespace, room, id) => { await adapter.join(namespace, room, id) },
    leave: async (namespace, room, id) => { await adapter.leave(namespace, room, id) },
    members: async (namespace, room) => await adapter.members(namespace, room),
    exists: async (namespace, room) => await adapter.exists(namespace, room),
    rooms: async (namespace) => await adapter.rooms(namespace),
    connections: async (namespace) => await adapter.connections(namespace),
    publishRoom: async (namespace, room, frame, except) => { await adapter.publishRoom(namespace, room, frame, except) },
    publishAll: async (namespace, frame) => { await adapter.publishAll(namespace, frame) },
    publishConnection: async (namespace, id, frame) => { await adapter.publishConnection(namespace, id, frame) },
    stats: () => adapter.stats()
  }
  await adapter.start(ctx)
  t.teardown(async () => { if (!stopped) await adapter.stop(namespace) })
  const node: Node = {
    adapter: tracked,
    ctx,
    delivered,
    next (match, ms, label) {
      return new Promise((resolve, reject) => {
        let settled = false
        const fail = (): void => {
          if (settled) return
          settled = true
          const stats = JSON.stringify(adapter.stats())
          reject(new Error(`${label}: no matching delivery within ${ms} ms on ${ctx.nodeId} (${delivered.length} deliveries; stats ${stats}; log: ${logged.length === 0 ? 'nothing' : logged.join(' | ')})`))
        }
        // A process starved of CPU runs its timers before reading the sockets: what has arrived is read first.
        const timer = setTimeout(() => setImmediate(fail), ms)
        const check = (): void => {
          if (settled) return
          const found = delivered.find(match)
          if (found !== undefined) {
            settled = true
            clearTimeout(timer)
            resolve(found)
          } else {
            waiters.push(check)
          }
        }
        check()
      })
    }
  }
  return node
}

/**
 * Run the backend contract's tests against adapters made by `factory`.
 *
 * @example
 * import t from 'tap'
 * import { backendConformance } from 'socketspec/testing'
 * import { natsBackend } from '../lib/nats.js'
 *
 * let n = 0
 * backendConformance(t, { create: () => natsBackend({ servers, subjectPrefix: `test${++n}.` }) })
 */
export function backendConformance (t: ConformanceTest, factory: ConformanceFactory): void {
  const settle = factory.settleMs ?? 3000
  const multi = factory.multiNode !== false
  const ns = (): string => `/conformance-${++seq}`
  const sorted = (list: string[]): string[] => [...list].sort()

  t.test('start: one adapter serves several namespaces, each only once; stop frees the namespace', async (t) => {
    const adapter = await factory.create()
    const a = ns()
    const b = ns()
    const ctx = (namespace: string): BackendContext => ({
      namespace,
      nodeId: `conformance-node-${++seq}`,
      log: silentLogger(),
      heartbeatInterval: 1,
      deliverRoom: () => 0,
      deliverAll: () => 0,
      deliverConnection: () => false,
      localConnections: () => [],
      localMemberships: () => []
    })
    await adapter.start(ctx(a))
    await adapter.start(ctx(b))
    let refused = false
    try {
      await adapter.start(ctx(a))
    } catch {
      refused = true
    }
    t.ok(refused, 'a second start of a running namespace rejects')
    await adapter.stop(a)
    await adapter.start(ctx(a))
    t.ok(true, 'a stopped namespace can be started again')
    await adapter.stop(a)
    await adapter.stop(b)
    t.equal(typeof adapter.name, 'string', 'the adapter has a name')
  })

  t.test('membership, rooms and presence on one node', async (t) => {
    const namespace = ns()
    const { adapter } = await startNode(t, factory, namespace)
    await adapter.addConnection(namespace, 'c1')
    await adapter.addConnection(namespace, 'c2')
    await adapter.join(namespace, 'r1', 'c1')
    await adapter.join(namespace, 'r1', 'c2')
    await adapter.join(namespace, 'r2', 'c2')
    t.same(sorted(await adapter.members(namespace, 'r1')), ['c1', 'c2'], 'members of r1')
    t.same(await adapter.members(namespace, 'r2'), ['c2'], 'members of r2')
    t.same(await adapter.members(namespace, 'nobody'), [], 'a room never joined has no members')
    t.equal(await adapter.exists(namespace, 'r1'), true, 'a joined room exists')
    t.equal(await adapter.exists(namespace, 'nobody'), false, 'a room never joined does not')
    t.same(sorted(await adapter.rooms(namespace)), ['r1', 'r2'], 'rooms lists the non-empty rooms')
    t.same(sorted(await adapter.connections(namespace)), ['c1', 'c2'], 'connections lists presence')
    await adapter.join(namespace, 'r1', 'c1')
    t.same(sorted(await adapter.members(namespace, 'r1')), ['c1', 'c2'], 'joining twice is one membership')
    await adapter.leave(namespace, 'r2', 'c2')
    t.equal(await adapter.exists(namespace, 'r2'), false, 'the last leave empties the room')
    t.same(await adapter.rooms(namespace), ['r1'], 'and drops it from rooms')
    await adapter.leave(namespace, 'r2', 'c2')
    await adapter.leave(namespace, 'nobody', 'c9')
    t.ok(true, 'leaving a room one is not in is a no-op')
    await adapter.leave(namespace, 'r1', 'c2')
    await adapter.removeConnection(namespace, 'c2')
    t.same(await adapter.connections(namespace), ['c1'], 'removeConnection ends presence')
    t.same(await adapter.members(namespace, 'r1'), ['c1'], 'and keeps the other members')
  })

  t.test('namespaces are isolated', async (t) => {
    const a = ns()
    const b = ns()
    const nodeA = await startNode(t, factory, a)
    const nodeB = await startNode(t, factory, b)
    await nodeA.adapter.addConnection(a, 'c1')
    await nodeA.adapter.join(a, 'room', 'c1')
    t.same(await nodeB.adapter.members(b, 'room'), [], 'a member of /a is not one of /b')
    t.equal(await nodeB.adapter.exists(b, 'room'), false, 'nor is the room')
    t.same(await nodeB.adapter.rooms(b), [], 'rooms of /b')
    t.same(await nodeB.adapter.connections(b), [], 'connections of /b')
  })

  t.test('stats() reports numeric errors, published and received', async (t) => {
    const namespace = ns()
    const { adapter } = await startNode(t, factory, namespace)
    const s = adapter.stats()
    for (const key of ['errors', 'published', 'received'] as const) t.equal(typeof s[key], 'number', `stats().${key}`)
    for (const [key, value] of Object.entries(s)) t.equal(typeof value, 'number', `stats().${key} is a number`)
  })

  if (!multi) return

  t.test('cross-node: membership and presence are seen by every node', async (t) => {
    const namespace = ns()
    const a = await startNode(t, factory, namespace)
    const b = await startNode(t, factory, namespace)
    await a.adapter.addConnection(namespace, 'a1')
    await b.adapter.addConnection(namespace, 'b1')
    await a.adapter.join(namespace, 'shared', 'a1')
    await b.adapter.join(namespace, 'shared', 'b1')
    await a.adapter.join(namespace, 'only-a', 'a1')
    t.ok(await until(async () => sorted(await b.adapter.members(namespace, 'shared')).join() === 'a1,b1', settle), 'node B sees both members of a shared room')
    t.ok(await until(async () => await b.adapter.exists(namespace, 'only-a'), settle), 'node B sees a room only node A serves')
    t.ok(await until(async () => sorted(await b.adapter.rooms(namespace)).join() === 'only-a,shared', settle), 'rooms of every node')
    t.ok(await until(async () => sorted(await a.adapter.connections(namespace)).join() === 'a1,b1', settle), 'connections of every node')
    await a.adapter.leave(namespace, 'only-a', 'a1')
    t.ok(await until(async () => !(await b.adapter.exists(namespace, 'only-a')), settle), 'a room emptied on node A is gone on node B')
  })

  t.test('cross-node: publishRoom, publishAll and publishConnection reach the other node, not the publisher', async (t) => {
    const namespace = ns()
    const a = await startNode(t, factory, namespace)
    const b = await startNode(t, factory, namespace)
    await a.adapter.addConnection(namespace, 'a1')
    await b.adapter.addConnection(namespace, 'b1')
    await b.adapter.addConnection(namespace, 'b2')
    await a.adapter.join(namespace, 'room', 'a1')
    await b.adapter.join(namespace, 'room', 'b1')
    await b.adapter.join(namespace, 'room', 'b2')
    await until(async () => (await a.adapter.members(namespace, 'room')).length === 3, settle)

    const roomFrame = '{"event":"conformance_room","payload":{"n":1}}'
    await a.adapter.publishRoom(namespace, 'room', roomFrame, ['b2'])
    const got = await b.next((d) => d.kind === 'room' && d.frame === roomFrame, settle, 'node B: the room frame')
    t.same(got, { kind: 'room', room: 'room', frame: roomFrame, except: ['b2'] }, 'node B delivers the room frame, with the except list')

    const allFrame = '{"event":"conformance_all","payload":{}}'
    await a.adapter.publishAll(namespace, allFrame)
    t.same(await b.next((d) => d.kind === 'all' && d.frame === allFrame, settle, 'node B: the namespace frame'), { kind: 'all', frame: allFrame }, 'node B delivers the namespace frame')

    const oneFrame = '{"event":"conformance_one","payload":{}}'
    await a.adapter.publishConnection(namespace, 'b1', oneFrame)
    t.same(await b.next((d) => d.kind === 'connection' && d.frame === oneFrame, settle, 'node B: the frame to its connection'), { kind: 'connection', connectionId: 'b1', frame: oneFrame }, 'node B delivers to its connection')

    // everything node A published has reached B; anything A would deliver itself would be a duplicate
    const marker = '{"event":"conformance_marker","payload":{}}'
    await b.adapter.publishAll(namespace, marker)
    await a.next((d) => d.kind === 'all' && d.frame === marker, settle, 'node A: the marker from node B')
    t.same(a.delivered.filter((d) => d.frame !== marker && d.kind !== 'connection'), [], 'the publisher never delivers its own room or namespace frames (the plugin already did)')
    t.ok(a.adapter.stats().published >= 3, `stats().published counts what node A sent (${a.adapter.stats().published})`)
    t.ok(b.adapter.stats().received >= 3, `stats().received counts what node B got (${b.adapter.stats().received})`)
  })

  t.test('cross-node: frames of one publisher arrive in the order they were published', async (t) => {
    const namespace = ns()
    const a = await startNode(t, factory, namespace)
    const b = await startNode(t, factory, namespace)
    await b.adapter.addConnection(namespace, 'b1')
    await b.adapter.join(namespace, 'ordered', 'b1')
    await until(async () => await a.adapter.exists(namespace, 'ordered'), settle)
    const n = 50
    await Promise.all(Array.from({ length: n }, async (_, i) => { await a.adapter.publishRoom(namespace, 'ordered', `{"event":"seq","payload":{"i":${i}}}`) }))
    await b.next((d) => d.kind === 'room' && d.frame.includes(`"i":${n - 1}}`), settle, `node B: frame ${n - 1} of ${n}`)
    const seen = b.delivered.filter((d) => d.kind === 'room').map((d) => JSON.parse(d.frame).payload.i as number)
    t.same(seen, Array.from({ length: n }, (_, i) => i), `${n} frames, each once, in order`)
  })

  if (factory.sharded !== false) {
    t.test('sharded: a node receives a room\'s frames only while it has a member there, from the moment join resolves', async (t) => {
      const namespace = ns()
      const a = await startNode(t, factory, namespace)
      const b = await startNode(t, factory, namespace)
      const c = await startNode(t, factory, namespace)
      const room = (d: Delivery, name: string): boolean => d.kind === 'room' && d.room === name
      await b.adapter.addConnection(namespace, 'b1')
      await b.adapter.join(namespace, 'served-by-b', 'b1')
      await c.adapter.addConnection(namespace, 'c1')
      await c.adapter.join(namespace, 'served-by-c', 'c1')

      await a.adapter.publishRoom(namespace, 'served-by-b', '{"event":"sharded","payload":{"n":1}}')
      await a.adapter.publishRoom(namespace, 'served-by-c', '{"event":"sharded","payload":{"n":2}}')
      await b.next((d) => room(d, 'served-by-b'), settle, 'node B: frame n:1 of served-by-b')
      await c.next((d) => room(d, 'served-by-c'), settle, 'node C: frame n:2 of served-by-c')
      // a namespace frame published after them: once a node has it, the room frames before it have come too
      const marker = (n: number): string => `{"event":"sharded_marker","payload":{"n":${n}}}`
      const markerSeen = async (node: Node, name: string, n: number): Promise<void> => { await node.next((d) => d.kind === 'all' && d.frame === marker(n), settle, `node ${name}: namespace marker ${n}`) }
      await a.adapter.publishAll(namespace, marker(1))
      await Promise.all([markerSeen(b, 'B', 1), markerSeen(c, 'C', 1)])
      t.same(b.delivered.filter((d) => room(d, 'served-by-c')), [], 'a node with no member in a room is never handed its frames')
      t.same(c.delivered.filter((d) => room(d, 'served-by-b')), [], 'nor is the other one')
      t.same(a.delivered.filter((d) => d.kind === 'room'), [], 'a node with no member anywhere gets no room frame at all')

      await b.adapter.leave(namespace, 'served-by-b', 'b1')
      await a.adapter.publishRoom(namespace, 'served-by-b', '{"event":"sharded","payload":{"n":3}}')
      await a.adapter.publishAll(namespace, marker(2))
      await markerSeen(b, 'B', 2)
      t.same(b.delivered.filter((d) => room(d, 'served-by-b') && d.frame.includes('"n":3')), [], 'after the last local leave, the room\'s frames stop')

      // no gap: a frame published as soon as the first local join resolves reaches the node
      await c.adapter.join(namespace, 'served-by-b', 'c1')
      await a.adapter.publishRoom(namespace, 'served-by-b', '{"event":"sharded","payload":{"n":4}}')
      t.ok(await c.next((d) => room(d, 'served-by-b') && d.frame.includes('"n":4'), settle, 'node C: frame n:4 of served-by-b, published once its join resolved'), 'a frame published right after join resolves is delivered')
      await b.adapter.join(namespace, 'served-by-b', 'b1')
      await a.adapter.publishRoom(namespace, 'served-by-b', '{"event":"sharded","payload":{"n":5}}')
      t.ok(await b.next((d) => room(d, 'served-by-b') && d.frame.includes('"n":5'), settle, 'node B: frame n:5 of served-by-b, published once its second join resolved'), 'and after joining again')
    })
  }

  t.test('cross-node: stop removes the node from the cluster at once', async (t) => {
    const namespace = ns()
    const a = await startNode(t, factory, namespace)
    const b = await startNode(t, factory, namespace)
    await a.adapter.addConnection(namespace, 'gone')
    await a.adapter.join(namespace, 'room-of-a', 'gone')
    t.ok(await until(async () => await b.adapter.exists(namespace, 'room-of-a'), settle), 'node B sees node A\'s room')
    await a.adapter.stop(namespace)
    t.same(await b.adapter.members(namespace, 'room-of-a'), [], 'its members are gone')
    t.equal(await b.adapter.exists(namespace, 'room-of-a'), false, 'its rooms are gone')
    t.same(await b.adapter.connections(namespace), [], 'its connections are gone')
  })
}
