import t from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import socketspec, { redisBackend } from '../lib/index.js'
import { ADMIN_TOKEN, DOCS_TOKEN, buildAdminApp } from './fixtures/admin/app.js'
import { connectedClient, listen, requestReply } from './helpers/ws-client.js'
import { FakeClock, clockOption } from './helpers/clock.js'
import { startRedis, type RedisServer } from './helpers/redis.js'

type Test = Parameters<Parameters<typeof t.test>[0]>[0]

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` }
const ADMIN = ADMIN_TOKEN
const DOCS = DOCS_TOKEN

interface Built { app: FastifyInstance, url: string }

async function build (t: Test, extra: Record<string, unknown> = {}): Promise<Built> {
  const app = await buildAdminApp(t, extra)
  const url = await listen(t, app)
  return { app, url }
}

const withToken = (url: string, token: string): string => `${url}?token=${token}`

t.test('401 without the admin token, with a wrong one, with the docs token; 200 with it', async (t) => {
  const { app } = await build(t)
  const routes: Array<[string, string]> = [
    ['GET', '/docs/admin/state'], ['GET', '/docs/admin/connections'], ['GET', '/docs/admin/rooms'], ['GET', '/docs/admin/rates'],
    ['POST', '/docs/admin/connections/x/disconnect'], ['POST', '/docs/admin/broadcast']
  ]
  for (const [method, url] of routes) {
    for (const headers of [{}, { authorization: `Bearer ${DOCS}` }, { authorization: 'Bearer nope' }, { authorization: ADMIN }]) {
      const res = await app.inject({ method: method as 'GET', url, headers })
      t.equal(res.statusCode, 401, `${method} ${url} ${JSON.stringify(headers)}`)
      t.match(res.headers['www-authenticate'], /realm="socketspec-admin"/)
    }
    const cookie = await app.inject({ method: 'GET', url: `/docs/?token=${DOCS}` })
    const docsCookie = String(cookie.headers['set-cookie']).split(';')[0]
    const viaCookie = await app.inject({ method: method as 'GET', url, headers: { cookie: docsCookie } })
    t.equal(viaCookie.statusCode, 401, 'the docs cookie does not open it either')
    const viaQuery = await app.inject({ method: method as 'GET', url: `${url}?token=${ADMIN}` })
    t.equal(viaQuery.statusCode, 401, 'the admin token is read from the Authorization header only')
  }
  const ok = await app.inject({ method: 'GET', url: '/docs/admin/state', headers: admin })
  t.equal(ok.statusCode, 200)
  t.equal(ok.headers['cache-control'], 'no-store')
  const docs = await app.inject({ method: 'GET', url: '/docs/asyncapi.json', headers: { authorization: `Bearer ${ADMIN}` } })
  t.equal(docs.statusCode, 401, 'and the admin token does not open the docs')
})

t.test('state: connections, rooms with members, per-event rates', async (t) => {
  const clock = new FakeClock()
  const { app, url } = await build(t, clockOption(clock))
  const alice = await connectedClient(t, withToken(url, 'alice'))
  const bob = await connectedClient(t, withToken(url, 'bob'))
  await requestReply(alice, 'join', { room: 'chat' }, 'joined')
  await requestReply(bob, 'join', { room: 'chat' }, 'joined')
  await requestReply(alice, 'join', { room: 'solo' }, 'joined')
  for (let i = 0; i < 3; i++) alice.send('say', { room: 'chat', text: `m${i}` })
  for (let i = 0; i < 3; i++) await bob.next('said')
  await clock.tick(1000)

  const res = await app.inject({ method: 'GET', url: '/docs/admin/state', headers: admin })
  t.equal(res.statusCode, 200)
  const state = res.json()
  t.equal(state.namespace, '/')
  t.equal(state.nodes.length, 1)
  t.same(state.nodes[0], { nodeId: state.node, at: clock.now(), connections: 2, self: true })
  t.equal(state.connections.total, 2)
  t.equal(state.connections.truncated, false)
  const byUser = Object.fromEntries(state.connections.items.map((c: any) => [c.userId, c]))
  t.match(byUser.alice, { id: alice.id, node: state.node, userId: 'alice', role: 'admin', eventsIn: 5, eventsOut: 2 })
  t.same(byUser.alice.rooms.sort(), ['chat', 'solo'])
  t.match(byUser.bob, { id: bob.id, userId: 'bob', rooms: ['chat'], eventsIn: 1, eventsOut: 4 }, 'bob: one join in; one reply and three broadcasts out')
  t.type(byUser.alice.connectedAt, 'number')

  t.same(state.rooms, {
    total: 3,
    truncated: false,
    items: [
      { name: 'chat', static: false, memberCount: 2, members: [alice.id, bob.id].sort() },
      { name: 'lobby', static: true, memberCount: 0, members: [] },
      { name: 'solo', static: false, memberCount: 1, members: [alice.id] }
    ]
  })
  const rates = Object.fromEntries(state.rates.map((r: any) => [r.event, r]))
  t.same(rates.say, { event: 'say', inPerSec: 3, outPerSec: 0, totalIn: 3, totalOut: 0 })
  t.same(rates.said, { event: 'said', inPerSec: 0, outPerSec: 3, totalIn: 0, totalOut: 3 })
  t.same(rates.join, { event: 'join', inPerSec: 3, outPerSec: 0, totalIn: 3, totalOut: 0 })
  t.same(rates.joined, { event: 'joined', inPerSec: 0, outPerSec: 3, totalIn: 0, totalOut: 3 })
  t.equal(state.rates[0].event, 'join', 'busiest first (ties by total, then name)')

  await clock.tick(1000)
  const later = (await app.inject({ method: 'GET', url: '/docs/admin/rates', headers: admin })).json()
  const say = later.rates.find((r: any) => r.event === 'say')
  t.same(say, { event: 'say', inPerSec: 0, outPerSec: 0, totalIn: 3, totalOut: 0 }, 'a quiet second brings the rate to 0, totals stay')

  const conns = (await app.inject({ method: 'GET', url: '/docs/admin/connections', headers: admin })).json()
  t.equal(conns.items.length, 2)
  const rooms = (await app.inject({ method: 'GET', url: '/docs/admin/rooms', headers: admin })).json()
  t.equal(rooms.items.length, 3)
})

t.test('disconnect closes the right socket with 1000 admin_disconnect; 404 for an unknown id', async (t) => {
  const { app, url } = await build(t)
  const alice = await connectedClient(t, withToken(url, 'alice'))
  const bob = await connectedClient(t, withToken(url, 'bob'))
  const res = await app.inject({ method: 'POST', url: `/docs/admin/connections/${bob.id}/disconnect`, headers: admin })
  t.equal(res.statusCode, 200)
  t.match(res.json(), { disconnected: true, connection: bob.id, code: 1000, reason: 'admin_disconnect' })
  t.same((await bob.next('__disconnect__')).payload, { code: 1000, reason: 'admin_disconnect' })
  t.same(await bob.closed, { code: 1000, reason: 'admin_disconnect' })
  t.equal(app.socket.connection(alice.id)?.open, true, 'the other connection stays')

  const custom = await app.inject({ method: 'POST', url: `/docs/admin/connections/${alice.id}/disconnect`, headers: admin, payload: { reason: 'maintenance' } })
  t.equal(custom.statusCode, 200)
  t.same(await alice.closed, { code: 1000, reason: 'maintenance' })

  const again = await app.inject({ method: 'POST', url: `/docs/admin/connections/${bob.id}/disconnect`, headers: admin })
  t.equal(again.statusCode, 404)
  const bad = await app.inject({ method: 'POST', url: '/docs/admin/connections/x/disconnect', headers: admin, payload: { reason: 'x'.repeat(65) } })
  t.equal(bad.statusCode, 400)
})

t.test('broadcast to a room: validated like the publish API', async (t) => {
  const { app, url } = await build(t)
  const alice = await connectedClient(t, withToken(url, 'alice'))
  await requestReply(alice, 'join', { room: 'chat' }, 'joined')
  let res = await app.inject({ method: 'POST', url: '/docs/admin/broadcast', headers: admin, payload: { room: 'chat', event: 'said', payload: { text: 'hello', from: 'ops' } } })
  t.equal(res.statusCode, 202)
  t.match(res.json(), { published: true, target: 'room', room: 'chat', event: 'said' })
  t.same((await alice.next('said')).payload, { text: 'hello', from: 'ops' })
  res = await app.inject({ method: 'POST', url: '/docs/admin/broadcast', headers: admin, payload: { room: 'chat', event: 'said', payload: { text: 1, from: 'x' } } })
  t.equal(res.statusCode, 400)
  t.equal(res.json().code, 'VALIDATION_ERROR')
  t.same(res.json().details.errors, [{ path: '/text', message: 'must be string', keyword: 'type' }])
  res = await app.inject({ method: 'POST', url: '/docs/admin/broadcast', headers: admin, payload: { room: 'ghost', event: 'said', payload: { text: 'a', from: 'b' } } })
  t.equal(res.statusCode, 404)
  res = await app.inject({ method: 'POST', url: '/docs/admin/broadcast', headers: admin, payload: { event: 'said', payload: {} } })
  t.equal(res.statusCode, 400, 'the room is required')
  res = await app.inject({ method: 'POST', url: '/docs/admin/broadcast', headers: admin, payload: { room: 'chat', event: 'nope' } })
  t.equal(res.statusCode, 404)
  t.equal(res.json().code, 'UNKNOWN_EVENT')
})

t.test('options: a short token, the docs token reused, unknown keys', async (t) => {
  const cases: Array<[Record<string, unknown>, string]> = [
    [{ admin: { token: 'short' } }, 'admin.token'],
    [{ admin: {} }, 'admin.token'],
    [{ admin: { token: ADMIN, extra: 1 } }, 'admin.extra'],
    [{ admin: { token: DOCS }, docsAccessToken: DOCS }, 'admin.token']
  ]
  for (const [opts, name] of cases) {
    const app = Fastify({ logger: false })
    await t.rejects(async () => { await app.register(socketspec, opts) }, { code: 'FST_SOCKETSPEC_INVALID_OPTION', message: new RegExp(`'${name.replace('.', '\\.')}'`) })
    await app.close()
  }
  // Without docs the JSON routes still answer (for scripts), under docsUrl.
  const app = Fastify({ logger: false })
  let hidden: unknown
  app.addHook('onRoute', (route) => { if (route.url === '/socket-docs/admin/state') hidden = (route.schema as { hide?: boolean } | undefined)?.hide })
  await app.register(socketspec, { admin: { token: ADMIN } })
  t.teardown(() => app.close())
  t.equal((await app.inject({ method: 'GET', url: '/socket-docs/admin/state', headers: admin })).statusCode, 200)
  t.equal(hidden, true, 'admin routes are hidden from OpenAPI generators')
})

/** One node on Redis with the admin view. */
async function redisNode (t: Test, redis: RedisServer, keyPrefix: string): Promise<Built> {
  return await build(t, { backend: redisBackend({ url: redis.url, keyPrefix }), session: { heartbeatInterval: 0.5, heartbeatTimeout: 5 } })
}

/** Poll the state of `app` until `ok` holds (bounded: 50 tries, 100 ms apart). */
async function stateUntil (app: FastifyInstance, ok: (state: any) => boolean): Promise<any> {
  let state: any
  for (let i = 0; i < 50; i++) {
    state = (await app.inject({ method: 'GET', url: '/docs/admin/state', headers: admin })).json()
    if (ok(state)) return state
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return state
}

t.test('two nodes on Redis: node A lists node B\'s connections and disconnects one of them', async (t) => {
  const redis = await startRedis(t)
  if (redis === null) return
  const a = await redisNode(t, redis, 'admin-1:')
  const b = await redisNode(t, redis, 'admin-1:')
  const alice = await connectedClient(t, withToken(a.url, 'alice'))
  const bob = await connectedClient(t, withToken(b.url, 'bob'))
  const carol = await connectedClient(t, withToken(b.url, 'carol'))
  await requestReply(alice, 'join', { room: 'chat' }, 'joined')
  await requestReply(bob, 'join', { room: 'chat' }, 'joined')
  bob.send('say', { room: 'chat', text: 'from b' })
  await alice.next('said')

  const state = await stateUntil(a.app, (s) => s.connections.total === 3 && s.connections.items.some((c: any) => c.userId === 'bob' && c.eventsIn === 2))
  t.equal(state.nodes.length, 2, 'both nodes are listed')
  t.equal(state.nodes.filter((n: any) => n.self).length, 1)
  const byUser = Object.fromEntries(state.connections.items.map((c: any) => [c.userId, c]))
  const nodeB = state.nodes.find((n: any) => !n.self).nodeId
  t.match(byUser.bob, { id: bob.id, node: nodeB, rooms: ['chat'], eventsIn: 2, eventsOut: 1 })
  t.match(byUser.carol, { id: carol.id, node: nodeB, rooms: [] })
  t.match(byUser.alice, { id: alice.id, node: state.node })
  const chat = state.rooms.items.find((r: any) => r.name === 'chat')
  t.same(chat.members, [alice.id, bob.id].sort(), 'room members of both nodes')
  t.ok(state.rates.some((r: any) => r.event === 'say' && r.totalIn === 1), 'node B\'s per-event counters are summed in')

  const res = await a.app.inject({ method: 'POST', url: `/docs/admin/connections/${carol.id}/disconnect`, headers: admin })
  t.equal(res.statusCode, 202, 'sent to node B')
  t.match(res.json(), { disconnected: 'requested', connection: carol.id, node: nodeB })
  t.same(await carol.closed, { code: 1000, reason: 'admin_disconnect' }, 'node B closed it with the conn.disconnect() code')
  t.equal(b.app.socket.connection(bob.id)?.open, true, 'bob stays')
  const after = await stateUntil(a.app, (s) => s.connections.total === 2)
  t.notOk(after.connections.items.some((c: any) => c.id === carol.id), 'gone from the listing')
  const gone = await a.app.inject({ method: 'POST', url: `/docs/admin/connections/${carol.id}/disconnect`, headers: admin })
  t.equal(gone.statusCode, 404)

  // A broadcast from node A's admin view reaches node B's member.
  const sent = await a.app.inject({ method: 'POST', url: '/docs/admin/broadcast', headers: admin, payload: { room: 'chat', event: 'said', payload: { text: 'ops', from: 'admin' } } })
  t.equal(sent.statusCode, 202)
  t.same((await bob.next('said')).payload, { text: 'ops', from: 'admin' })

  await b.app.close()
  const alone = await stateUntil(a.app, (s) => s.nodes.length === 1)
  t.equal(alone.nodes.length, 1, 'a stopped node removes its snapshot')
})

t.test('the admin token never reaches a log line', async (t) => {
  const lines: string[] = []
  const app = Fastify({ logger: { level: 'trace', stream: { write: (l: string) => { lines.push(l) } } } })
  await app.register(socketspec, { admin: { token: ADMIN } })
  t.teardown(() => app.close())
  const url = await listen(t, app)
  const c = await connectedClient(t, url)
  await app.inject({ method: 'GET', url: '/socket-docs/admin/state', headers: admin })
  await app.inject({ method: 'GET', url: `/socket-docs/admin/state?token=${ADMIN}` })
  await app.inject({ method: 'POST', url: `/socket-docs/admin/connections/${c.id}/disconnect`, headers: admin })
  await c.closed
  t.ok(lines.some((l) => l.includes('admin view disconnects a connection')), 'the disconnect is logged')
  t.notOk(lines.some((l) => l.includes(ADMIN)), 'no line carries the token')
})
