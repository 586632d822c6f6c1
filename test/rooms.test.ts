import t from 'tap'
import { RoomManager } from '../lib/rooms.js'
import { memoryBackend } from '../lib/backends/memory.js'
import { redisBackend } from '../lib/backends/redis.js'
import type { BackendAdapter } from '../lib/backends/types.js'
import { SocketError } from '../lib/errors.js'
import { startRedis } from './helpers/redis.js'
import { FakeMember, testLogger, type TestLogger } from './helpers/rooms.js'
import { compileRoomPattern } from '../lib/room-pattern.js'

type Test = Parameters<Parameters<typeof t.test>[0]>[0]

interface NodeOptions {
  staticRooms?: Array<string | { name: string, description?: string }>
  backend?: BackendAdapter
}

/** Nodes sharing one store: the memory backend has a single node, Redis many. */
interface Cluster {
  node (opts?: NodeOptions): Promise<RoomManager<FakeMember> & { log: TestLogger }>
}

type ClusterFactory = (t: Test) => Promise<Cluster>

let members = 0
const member = (name: string): FakeMember => new FakeMember(`${name}-${++members}`)

function makeCluster (t: Test, backend: () => BackendAdapter): Cluster {
  return {
    async node (opts = {}) {
      const log = testLogger()
      const rooms = new RoomManager<FakeMember>({ namespace: '/', backend: opts.backend ?? backend(), staticRooms: opts.staticRooms, log })
      await rooms.start({ heartbeatInterval: 1 })
      t.teardown(() => rooms.stop())
      return Object.assign(rooms, { log })
    }
  }
}

async function codeOf (promise: Promise<unknown>): Promise<string> {
  try {
    await promise
  } catch (err) {
    return (err as SocketError).code
  }
  return 'RESOLVED'
}

/** The room behaviour every backend must give; cross-node cases need a multi-node backend. */
function roomMatrix (t: Test, factory: ClusterFactory, multiNode: boolean): void {
  const crossNode = multiNode ? false : 'the memory backend is a single node'
  t.test('join and leave', async (t) => {
    const node = await (await factory(t)).node()
    const a = member('a')
    await node.addConnection(a)
    await node.join(a, 'r1')
    t.ok(a.rooms.has('r1'), 'member.rooms is kept up to date')
    t.same(await node.members('r1'), [a.id])
    t.equal(await node.exists('r1'), true)
    t.ok((await node.list()).includes('r1'))
    t.equal(node.localRoomCount(), 1)
    await node.leave(a, 'r1')
    t.notOk(a.rooms.has('r1'))
    t.same(await node.members('r1'), [])
    t.equal(await node.exists('r1'), false)
    t.notOk((await node.list()).includes('r1'))
    t.equal(node.size, 0)
  })

  t.test('join and leave are idempotent', async (t) => {
    const node = await (await factory(t)).node()
    const joins: string[] = []
    const leaves: string[] = []
    node.onJoin((m, room) => { joins.push(`${m.id}:${room}`) })
    node.onLeave((m, room) => { leaves.push(`${m.id}:${room}`) })
    const a = member('a')
    await node.addConnection(a)
    await node.join(a, 'r')
    await node.join(a, 'r')
    await Promise.all([node.join(a, 'r2'), node.join(a, 'r2')])
    t.same((await node.members('r')), [a.id], 'one membership')
    t.same((await node.members('r2')), [a.id], 'concurrent joins give one membership')
    t.same(joins, [`${a.id}:r`, `${a.id}:r2`], 'join hooks ran once per membership')
    await node.leave(a, 'r')
    await node.leave(a, 'r')
    await node.leave(a, 'never-joined')
    t.same(leaves, [`${a.id}:r`], 'leave hooks ran once, not for rooms never joined')
  })

  t.test('room names are validated', async (t) => {
    const node = await (await factory(t)).node()
    const a = member('a')
    await node.addConnection(a)
    for (const room of ['', 'x'.repeat(257), 42, null, undefined, {}]) {
      const err = await node.join(a, room as string).then(() => null, (e: unknown) => e as SocketError)
      t.ok(err instanceof SocketError, `${JSON.stringify(room)} is refused with a SocketError`)
      t.equal(err?.code, 'VALIDATION_ERROR')
      t.match(err?.details, { errors: [{ path: '/room', keyword: 'room' }] })
    }
    t.equal(a.rooms.size, 0)
    await node.join(a, 'x'.repeat(256))
    t.ok(a.rooms.has('x'.repeat(256)), '256 characters is fine')
  })

  t.test('removeConnection leaves every room and removes presence', async (t) => {
    const node = await (await factory(t)).node()
    const leaves: string[] = []
    node.onLeave((_m, room) => { leaves.push(room) })
    const a = member('a')
    const b = member('b')
    await node.addConnection(a)
    await node.addConnection(b)
    t.same((await node.connections()).sort(), [a.id, b.id].sort())
    for (const room of ['x', 'y', 'z']) await node.join(a, room)
    await node.join(b, 'y')
    a.open = false
    await node.removeConnection(a)
    t.same(leaves, ['x', 'y', 'z'], 'onRoomLeave ran for each room, in join order')
    t.equal(a.rooms.size, 0)
    t.same(await node.members('y'), [b.id])
    t.equal(await node.exists('x'), false)
    t.equal(await node.exists('y'), true)
    t.same(await node.connections(), [b.id])
    t.equal(node.connection(a.id), undefined)
    t.equal(node.connection(b.id), b)
    t.equal(node.connectionCount, 1)
    t.equal(await node.toConnection(a.id, 'late'), false)
    t.same(a.frames, [], 'nothing reaches a removed connection')
  })

  t.test('static rooms always exist', async (t) => {
    const node = await (await factory(t)).node({ staticRooms: ['lobby', { name: 'news', description: 'Announcements' }] })
    t.same(node.staticRooms, [{ name: 'lobby' }, { name: 'news', description: 'Announcements' }])
    t.equal(await node.exists('lobby'), true)
    t.equal(await node.exists('news'), true)
    t.same((await node.list()).slice(0, 2), ['lobby', 'news'])
    t.same(await node.members('lobby'), [])
    t.equal(await node.broadcast('lobby', 'f'), 0, 'broadcast to an empty static room is fine')
    t.equal(node.localRoomCount(), 2)
    const a = member('a')
    await node.addConnection(a)
    await node.join(a, 'lobby')
    await node.leave(a, 'lobby')
    t.equal(await node.exists('lobby'), true, 'still exists when emptied')
    t.throws(() => new RoomManager({ namespace: '/', backend: memoryBackend(), staticRooms: [''], log: testLogger() }), { code: 'FST_SOCKETSPEC_INVALID_OPTION' })
    t.throws(() => new RoomManager({ namespace: '/', backend: memoryBackend(), staticRooms: [{ name: 7 } as any], log: testLogger() }), { code: 'FST_SOCKETSPEC_INVALID_OPTION' })
  })

  t.test('dynamic rooms vanish when empty', async (t) => {
    const node = await (await factory(t)).node()
    const a = member('a')
    const b = member('b')
    await node.addConnection(a)
    await node.addConnection(b)
    await node.join(a, 'room')
    await node.join(b, 'room')
    await node.leave(a, 'room')
    t.equal(await node.exists('room'), true)
    t.same(await node.members('room'), [b.id])
    await node.leave(b, 'room')
    t.equal(await node.exists('room'), false)
    t.same(await node.list(), [])
    t.equal(await codeOf(node.broadcast('room', 'f')), 'ROOM_NOT_FOUND')
  })

  t.test('broadcast to a missing room is ROOM_NOT_FOUND', async (t) => {
    const node = await (await factory(t)).node()
    const err = await node.broadcast('nowhere', 'f').then(() => null, (e: unknown) => e as SocketError)
    t.ok(err instanceof SocketError)
    t.equal(err?.code, 'ROOM_NOT_FOUND')
    t.same(err?.details, { room: 'nowhere' })
    t.equal(await codeOf(node.broadcast('', 'f')), 'ROOM_NOT_FOUND')
    t.equal(await codeOf(node.broadcast(42 as unknown as string, 'f')), 'ROOM_NOT_FOUND')
  })

  t.test('guards with params', async (t) => {
    const node = await (await factory(t)).node()
    const seen: unknown[] = []
    node.addGuard('admin:{section}', (m, params) => {
      seen.push(params)
      return m.id.startsWith('admin')
    })
    node.addGuard('vip:{tier}:{id}', async (_m, params) => params.tier === 'gold')
    const admin = member('admin')
    const user = member('user')
    await node.addConnection(admin)
    await node.addConnection(user)
    const joined: string[] = []
    node.onJoin((m, room) => { joined.push(`${m.id}:${room}`) })

    await node.join(admin, 'admin:billing')
    t.same(seen, [{ section: 'billing' }], 'the guard got the params')
    const err = await node.join(user, 'admin:billing').then(() => null, (e: unknown) => e as SocketError)
    t.ok(err instanceof SocketError)
    t.equal(err?.code, 'PERMISSION_ERROR')
    t.same(err?.details, { room: 'admin:billing' })
    t.notOk(user.rooms.has('admin:billing'), 'refused before admission')
    t.same(await node.members('admin:billing'), [admin.id])
    t.same(joined, [`${admin.id}:admin:billing`], 'no join hook for a refused join')

    await node.join(user, 'vip:gold:1')
    t.equal(await codeOf(node.join(user, 'vip:silver:1')), 'PERMISSION_ERROR', 'an async refusal')
    await node.join(user, 'lobby')
    t.ok(user.rooms.has('lobby'), 'rooms no guard matches are open')
  })

  t.test('every matching guard must allow; only true allows', async (t) => {
    const node = await (await factory(t)).node()
    const calls: string[] = []
    node.addGuard('{any}', () => { calls.push('any'); return true })
    node.addGuard('team:{name}', (_m, { name }) => { calls.push('team'); return (name !== 'red') as boolean })
    node.addGuard('maybe:{x}', () => 'yes' as unknown as boolean)
    const a = member('a')
    await node.addConnection(a)
    await node.join(a, 'team:blue')
    t.same(calls, ['any', 'team'], 'guards run in registration order')
    t.equal(await codeOf(node.join(a, 'team:red')), 'PERMISSION_ERROR')
    t.equal(await codeOf(node.join(a, 'maybe:1')), 'PERMISSION_ERROR', 'a truthy non-true answer refuses')
    t.throws(() => node.addGuard('bad{', () => true), { code: 'FST_SOCKETSPEC_INVALID_ROOM_PATTERN' })
    t.throws(() => node.addGuard('ok', 'nope' as any), { code: 'FST_SOCKETSPEC_INVALID_HOOK' })
  })

  t.test('a throwing guard refuses; a SocketError keeps its code', async (t) => {
    const node = await (await factory(t)).node()
    node.addGuard('boom:{x}', () => { throw new Error('guard bug') })
    node.addGuard('reject:{x}', async () => { throw new Error('async guard bug') })
    node.addGuard('custom:{x}', () => { throw new SocketError('NOT_ENOUGH_CREDIT', 'Top up first', { balance: 0 }) })
    const a = member('a')
    await node.addConnection(a)
    t.equal(await codeOf(node.join(a, 'boom:1')), 'PERMISSION_ERROR')
    t.equal(await codeOf(node.join(a, 'reject:1')), 'PERMISSION_ERROR')
    t.ok(node.log.entries.some((e) => e.level === 'warn' && /guard threw/.test(e.msg ?? '')), 'the guard failure is logged')
    const err = await node.join(a, 'custom:1').then(() => null, (e: unknown) => e as SocketError)
    t.equal(err?.code, 'NOT_ENOUGH_CREDIT')
    t.same(err?.details, { balance: 0 })
    t.equal(a.rooms.size, 0)
  })

  t.test('a member that goes away while guards run is not admitted', async (t) => {
    const node = await (await factory(t)).node()
    let release!: () => void
    const gate = new Promise<void>((resolve) => { release = resolve })
    node.addGuard('slow:{x}', async () => { await gate; return true })
    const a = member('a')
    await node.addConnection(a)
    const joining = node.join(a, 'slow:1')
    a.open = false
    await node.removeConnection(a)
    release()
    await joining
    t.equal(a.rooms.size, 0)
    t.equal(await node.exists('slow:1'), false)
  })

  t.test('hooks run in order after the change; a throwing hook is logged', async (t) => {
    const node = await (await factory(t)).node()
    const order: string[] = []
    node.onJoin(async (m, room) => {
      order.push(`join1 in=${m.rooms.has(room)} members=${(await node.members(room)).includes(m.id)}`)
      throw new Error('hook bug')
    })
    node.onJoin((_m, room) => { order.push(`join2 ${room}`) })
    node.onLeave((m, room) => { order.push(`leave1 in=${m.rooms.has(room)}`) })
    node.onLeave(() => { throw new Error('leave hook bug') })
    node.onLeave(() => { order.push('leave3') })
    const a = member('a')
    await node.addConnection(a)
    await node.join(a, 'r')
    t.ok(a.rooms.has('r'), 'a throwing hook does not undo the join')
    await node.leave(a, 'r')
    t.same(order, ['join1 in=true members=true', 'join2 r', 'leave1 in=false', 'leave3'])
    t.equal(node.log.entries.filter((e) => e.level === 'error' && e.msg === 'room hook failed').length, 2)
    t.throws(() => node.onJoin(null as any), { code: 'FST_SOCKETSPEC_INVALID_HOOK' })
    t.throws(() => node.onLeave(1 as any), { code: 'FST_SOCKETSPEC_INVALID_HOOK' })
  })

  t.test('broadcast delivers the same frame to local members, minus except and closed ones', async (t) => {
    const node = await (await factory(t)).node()
    const [a, b, c, d] = [member('a'), member('b'), member('c'), member('d')]
    for (const m of [a, b, c, d]) {
      await node.addConnection(m)
      await node.join(m, 'r')
    }
    d.open = false
    const frame = '{"event":"msg","payload":{"n":1}}'
    t.equal(await node.broadcast('r', frame, [b.id]), 2)
    t.equal(a.frames[0], frame, 'the very same string')
    t.same(c.frames, [frame])
    t.same(b.frames, [], 'except skipped')
    t.same(d.frames, [], 'closed members skipped')
    t.equal(await node.broadcast('r', 'two'), 3)
    t.same(b.frames, ['two'])
    t.equal(await node.broadcast('r', 'three', []), 3)
  })

  t.test('emitAll and toConnection on one node', async (t) => {
    const node = await (await factory(t)).node()
    const a = member('a')
    const b = member('b')
    await node.addConnection(a)
    await node.addConnection(b)
    t.equal(await node.emitAll('all'), 2)
    t.same(a.frames, ['all'])
    t.same(b.frames, ['all'])
    t.equal(await node.toConnection(b.id, 'only-b'), true)
    t.same(b.frames, ['all', 'only-b'])
    t.same(a.frames, ['all'])
    t.equal(await node.toConnection('nobody', 'x'), false)
    b.open = false
    t.equal(await node.toConnection(b.id, 'closed'), false)
    t.equal(await node.emitAll('again'), 1)
    t.same(b.frames, ['all', 'only-b'])
  })

  t.test('stats and lifecycle', async (t) => {
    const node = await (await factory(t)).node()
    t.match(node.backendStats(), { errors: 0 })
    t.same(node.guardPatterns(), [])
    node.addGuard('a:{b}', () => true)
    t.same(node.guardPatterns(), ['a:{b}'])
    await node.start({ heartbeatInterval: 1 })
    t.pass('a second start is a no-op')
  })

  t.test('cross-node: members, exists, list, connections', { skip: crossNode }, async (t) => {
    const cluster = await factory(t)
    const n1 = await cluster.node()
    const n2 = await cluster.node()
    const a = member('a')
    const b = member('b')
    await n1.addConnection(a)
    await n2.addConnection(b)
    await n1.join(a, 'shared')
    if (!t.equal(await n2.exists('shared'), true, 'exists on the other node')) t.comment(`backend stats: ${JSON.stringify({ n1: n1.backendStats(), n2: n2.backendStats() })}`)
    t.same(await n2.members('shared'), [a.id])
    t.ok((await n2.list()).includes('shared'))
    t.equal(n2.localRoomCount(), 0, 'not counted locally elsewhere')
    t.same((await n2.connections()).sort(), [a.id, b.id].sort())
    await n2.join(b, 'shared')
    t.same((await n1.members('shared')).sort(), [a.id, b.id].sort())
    await n1.leave(a, 'shared')
    t.equal(await n1.exists('shared'), true, 'still exists through the other node')
    t.same(await n1.members('shared'), [b.id])
    b.open = false
    await n2.removeConnection(b)
    t.equal(await n1.exists('shared'), false, 'gone when empty everywhere')
    t.notOk((await n1.list()).includes('shared'))
    t.same(await n1.connections(), [a.id])
  })

  t.test('cross-node: broadcast, except, emitAll, toConnection', { skip: crossNode }, async (t) => {
    const cluster = await factory(t)
    const n1 = await cluster.node()
    const n2 = await cluster.node()
    const a = member('a')
    const b = member('b')
    const c = member('c')
    await n1.addConnection(a)
    await n2.addConnection(b)
    await n2.addConnection(c)
    await n2.join(b, 'r')
    await n2.join(c, 'r')
    t.equal(await n1.broadcast('r', 'hello'), 0, 'no local member on n1, yet the room exists')
    t.equal(await b.next(), 'hello')
    t.equal(await c.next(), 'hello')
    await n1.broadcast('r', 'not-for-b', [b.id])
    await n1.broadcast('r', 'second')
    t.equal(await c.next(), 'not-for-b')
    t.equal(await b.next(), 'second', 'except applies on the other node')
    t.equal(await c.next(), 'second')

    await n1.join(a, 'r')
    await n2.broadcast('r', 'from-n2', [c.id])
    t.equal(await a.next(), 'from-n2')
    t.equal(await b.next(), 'from-n2')

    const odd = 'a\nroom, with\nnewlines'
    await n2.join(b, odd)
    await n1.broadcast(odd, '{"x":"line\\nbreak"}\n', [a.id, c.id])
    t.equal(await b.next(), '{"x":"line\\nbreak"}\n', 'room names and frames survive the encoding')

    t.equal(await n1.emitAll('everyone'), 1)
    t.equal(await a.next(), 'everyone')
    t.equal(await b.next(), 'everyone')
    t.equal(await c.next(), 'everyone')

    t.equal(await n1.toConnection(c.id, 'just-c'), false, 'not local')
    await n1.toConnection(b.id, 'just-b')
    t.equal(await c.next(), 'just-c')
    t.equal(await b.next(), 'just-b')
    t.equal(a.frames.length, 2, 'the sender node did not deliver its own publications twice')
  })
}

t.test('memory backend', async (t) => {
  roomMatrix(t, async (t) => makeCluster(t, memoryBackend), false)
})

t.test('redis backend', async (t) => {
  const redis = await startRedis(t)
  if (redis === null) return
  let prefixes = 0
  roomMatrix(t, async (t) => {
    const keyPrefix = `rooms-test-${++prefixes}:`
    // commandTimeout well above the default 2 s: nothing here is about timeouts, and a test process
    // starved of CPU for that long (a full parallel run on 2 cores) runs ioredis's timers before it
    // reads the replies already waiting: a spurious timeout drops the connection, and the write of
    // the moment (a join's membership) waits for the next resync.
    return makeCluster(t, () => redisBackend({ url: redis.url, keyPrefix, commandTimeout: 10_000 }))
  }, true)
})

// Room patterns (lib/room-pattern.ts): the {param} syntax of room guards.
t.test('literal pattern matches only itself', async (t) => {
  const p = compileRoomPattern('lobby')
  t.same(p.params, [])
  t.same(p.match('lobby'), {})
  t.equal(p.match('lobby2'), null)
  t.equal(p.match('xlobby'), null)
})

t.test('params capture one segment, the last one the rest', async (t) => {
  const p = compileRoomPattern('chat:{room}')
  t.equal(p.source, 'chat:{room}')
  t.same(p.params, ['room'])
  t.same(p.match('chat:general'), { room: 'general' })
  t.same(p.match('chat:a:b'), { room: 'a:b' }, 'a trailing param covers nested segments (guards cannot be bypassed)')
  t.equal(p.match('chat:'), null, 'a param needs at least one character')
  t.equal(p.match('chats:x'), null)
  t.equal(p.match('x:chat:y'), null, 'anchored at the start')

  const two = compileRoomPattern('admin:{section}:{id}')
  t.same(two.match('admin:billing:42'), { section: 'billing', id: '42' })
  t.same(two.match('admin:billing:42:x'), { section: 'billing', id: '42:x' })
  t.equal(two.match('admin:billing'), null)

  const middle = compileRoomPattern('{team}:chat')
  t.same(middle.match('red:chat'), { team: 'red' })
  t.equal(middle.match('red:blue:chat'), null, 'an inner param does not cross ":"')
})

t.test('a whole-room param matches every room', async (t) => {
  const p = compileRoomPattern('{any}')
  t.same(p.match('x'), { any: 'x' })
  t.same(p.match('a:b:c'), { any: 'a:b:c' })
  t.same(p.match('line\nbreak'), { any: 'line\nbreak' })
  t.equal(p.match(''), null)
})

t.test('literal parts are escaped', async (t) => {
  const p = compileRoomPattern('a.b+(c)*[d]?^$|\\/-{x}')
  t.same(p.match('a.b+(c)*[d]?^$|\\/-1'), { x: '1' })
  t.equal(p.match('aXb+(c)*[d]?^$|\\/-1'), null)
  t.same(compileRoomPattern('v{n}.x').match('v1.x'), { n: '1' })
  t.equal(compileRoomPattern('v{n}.x').match('v1.y'), null)
})

t.test('bad patterns throw FST_SOCKETSPEC_INVALID_ROOM_PATTERN', async (t) => {
  const bad: unknown[] = ['', 'a{b', 'a}b', '{a}}', '{{a}}', '{a', 'a{}', '{1a}', '{a-b}', '{a}:{a}', '{a}{b}', '{__proto__}', null, 42]
  for (const pattern of bad) {
    t.throws(() => compileRoomPattern(pattern as string), { code: 'FST_SOCKETSPEC_INVALID_ROOM_PATTERN' }, `rejects ${JSON.stringify(pattern)}`)
  }
  t.throws(() => compileRoomPattern('{a}:{a}'), { message: /duplicate param 'a'/ }, 'the message says why')
  t.throws(() => compileRoomPattern('{a}{b}'), { message: /separated by literal text/ })
})
