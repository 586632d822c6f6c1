import t from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import socketspec, { Type } from '../lib/index.js'
import { connectedClient, listen, requestReply } from './helpers/ws-client.js'

type Test = Parameters<Parameters<typeof t.test>[0]>[0]

const TOKEN = 'publish-token-0123456789'
const auth = { authorization: `Bearer ${TOKEN}` }

async function build (t: Test, extra: Record<string, unknown> = {}): Promise<{ app: FastifyInstance, url: string }> {
  const app = Fastify({ logger: false })
  await app.register(socketspec, { path: '/ws', publishApi: { path: '/publish', token: TOKEN }, rooms: ['lobby'], ...extra })
  app.socket.on('join', { payload: Type.Object({ room: Type.String() }), reply: { event: 'joined' } }, async (conn, { room }) => {
    await conn.join(room)
    return { room }
  })
  app.socket.on('news', {
    broadcasts: [{ event: 'headline', room: 'news:{topic}', schema: Type.Object({ title: Type.String({ minLength: 1 }), score: Type.Integer() }) }],
    emits: [{ event: 'notice', schema: Type.Object({ text: Type.String() }) }, { event: 'free' }]
  }, async () => {})
  t.teardown(() => app.close())
  const url = await listen(t, app)
  return { app, url }
}

t.test('publish to a room, a connection and the namespace: 202 and the frames arrive', async (t) => {
  const { app, url } = await build(t)
  const a = await connectedClient(t, url)
  const b = await connectedClient(t, url)
  await requestReply(a, 'join', { room: 'news:eu' }, 'joined')

  let res = await app.inject({ method: 'POST', url: '/publish', headers: auth, payload: { room: 'news:eu', event: 'headline', payload: { title: 'Hi', score: 3 } } })
  t.equal(res.statusCode, 202)
  t.same(res.json(), { published: true, target: 'room', room: 'news:eu', event: 'headline', localDeliveries: 1 })
  const headline = await a.next('headline')
  t.same(headline.payload, { title: 'Hi', score: 3 }, 'the room member got the broadcast')

  res = await app.inject({ method: 'POST', url: '/publish', headers: auth, payload: { connection: b.id, event: 'notice', payload: { text: 'just you' } } })
  t.equal(res.statusCode, 202)
  t.equal(res.json().target, 'connection')
  t.same((await b.next('notice')).payload, { text: 'just you' })

  res = await app.inject({ method: 'POST', url: '/publish', headers: auth, payload: { event: 'free', payload: [1, 2] } })
  t.equal(res.statusCode, 202)
  t.same(res.json(), { published: true, target: 'namespace', event: 'free', localDeliveries: 2 })
  t.same((await a.next('free')).payload, [1, 2])
  t.same((await b.next('free')).payload, [1, 2])

  res = await app.inject({ method: 'POST', url: '/publish', headers: auth, payload: { event: 'notice', payload: { text: 'no payload key needed' } } })
  t.equal(res.statusCode, 202)
  t.equal(b.frames.filter((f) => f.event === 'headline').length, 0, 'a non-member got no room broadcast')
})

t.test('401 without the token, with a wrong one, and before the body is read', async (t) => {
  const { app } = await build(t)
  const body = { event: 'free', payload: {} }
  for (const headers of [{}, { authorization: 'Bearer wrong' }, { authorization: `Basic ${TOKEN}` }, { authorization: `Bearer ${TOKEN}x` }]) {
    const res = await app.inject({ method: 'POST', url: '/publish', headers, payload: body })
    t.equal(res.statusCode, 401, JSON.stringify(headers))
    t.match(res.headers['www-authenticate'], /^Bearer realm="socketspec-publish"/)
  }
  const res = await app.inject({ method: 'POST', url: '/publish', headers: { 'content-type': 'application/json' }, payload: '{not json' })
  t.equal(res.statusCode, 401, 'a malformed body without the token is still 401')
  const query = await app.inject({ method: 'POST', url: `/publish?token=${TOKEN}`, payload: body })
  t.equal(query.statusCode, 401, 'the token is only read from the Authorization header')
})

t.test('400: the payload breaks the declared schema, with the validation errors; nothing is sent', async (t) => {
  const { app, url } = await build(t)
  const a = await connectedClient(t, url)
  await requestReply(a, 'join', { room: 'news:eu' }, 'joined')
  let res = await app.inject({ method: 'POST', url: '/publish', headers: auth, payload: { room: 'news:eu', event: 'headline', payload: { title: 'x', score: 1.5 } } })
  t.equal(res.statusCode, 400)
  t.same(res.json(), {
    statusCode: 400,
    error: 'Bad Request',
    code: 'VALIDATION_ERROR',
    message: "Payload of 'headline' does not match its declared schema",
    details: { event: 'headline', errors: [{ path: '/score', message: 'must be integer', keyword: 'type' }] }
  })
  res = await app.inject({ method: 'POST', url: '/publish', headers: auth, payload: { room: 'news:eu', event: 'headline', payload: { score: 1 } } })
  t.equal(res.statusCode, 400)
  t.same(res.json().details.errors, [{ path: '/title', message: "must have required property 'title'", keyword: 'required' }])
  res = await app.inject({ method: 'POST', url: '/publish', headers: auth, payload: { room: 'news:eu', event: 'headline' } })
  t.equal(res.statusCode, 400, 'an omitted payload is {} and is checked too')
  // a frame sent afterwards is the first one the member sees
  await app.inject({ method: 'POST', url: '/publish', headers: auth, payload: { room: 'news:eu', event: 'headline', payload: { title: 'ok', score: 1 } } })
  t.same((await a.next('headline')).payload, { title: 'ok', score: 1 }, 'the refused payloads were never sent')
})

t.test("400 under outboundValidation 'never' too: an HTTP body is input, not the app's own output", async (t) => {
  const { app } = await build(t, { publishApi: { path: '/publish', token: TOKEN }, outboundValidation: 'never' })
  const res = await app.inject({ method: 'POST', url: '/publish', headers: auth, payload: { event: 'headline', payload: { title: 'x', score: 1.5 } } })
  t.equal(res.statusCode, 400)
  t.same(res.json().details.errors, [{ path: '/score', message: 'must be integer', keyword: 'type' }])
})

t.test('400 for a malformed body (route schema, no coercion), 404 for an undeclared event or a missing room, 413 over bodyLimit', async (t) => {
  const { app } = await build(t, { publishApi: { path: '/publish', token: TOKEN, bodyLimit: 256 } })
  const cases: Array<[unknown, number, RegExp | string]> = [
    [{ payload: {} }, 400, /event/],
    [{ event: 42 }, 400, /event/],
    [{ event: 'free', extra: 1 }, 400, /additional/],
    [{ event: 'free', room: 'lobby', connection: 'x' }, 400, /not both/],
    [{ event: 'free', room: '' }, 400, /room/],
    [[], 400, /body must be object/],
    [{ event: 'nope' }, 404, 'UNKNOWN_EVENT'],
    [{ event: 'free', room: 'ghost' }, 404, 'ROOM_NOT_FOUND']
  ]
  for (const [payload, status, match] of cases) {
    const res = await app.inject({ method: 'POST', url: '/publish', headers: auth, payload: payload as object })
    t.equal(res.statusCode, status, JSON.stringify(payload))
    t.match(JSON.stringify(res.json()), match)
  }
  const notJson = await app.inject({ method: 'POST', url: '/publish', headers: { ...auth, 'content-type': 'application/json' }, payload: '{"event":' })
  t.equal(notJson.statusCode, 400, 'invalid JSON')
  const big = await app.inject({ method: 'POST', url: '/publish', headers: auth, payload: { event: 'free', payload: 'x'.repeat(400) } })
  t.equal(big.statusCode, 413, 'over bodyLimit')
  const lobby = await app.inject({ method: 'POST', url: '/publish', headers: auth, payload: { event: 'free', room: 'lobby' } })
  t.equal(lobby.statusCode, 202, 'a static room always exists')
})

t.test('options: validated, hidden from OpenAPI, tokens never logged', async (t) => {
  for (const [publishApi, name] of [[{ path: 'publish', token: TOKEN }, 'publishApi.path'], [{ path: '/p', token: 'short' }, 'publishApi.token'], [{ path: '/p' }, 'publishApi.token'], [{ path: '/p', token: TOKEN, other: 1 }, 'publishApi.other']] as const) {
    const app = Fastify({ logger: false })
    await t.rejects(async () => { await app.register(socketspec, { publishApi: publishApi as any }) }, { code: 'FST_SOCKETSPEC_INVALID_OPTION', message: new RegExp(`'${name.replace('.', '\\.')}'`) })
    await app.close()
  }
  const lines: string[] = []
  const app = Fastify({ logger: { level: 'trace', stream: { write: (l: string) => { lines.push(l) } } } })
  let hidden: unknown
  app.addHook('onRoute', (route) => { if (route.url === '/publish') hidden = (route.schema as { hide?: boolean } | undefined)?.hide })
  await app.register(socketspec, { publishApi: { path: '/publish', token: TOKEN } })
  await app.ready()
  t.teardown(() => app.close())
  t.equal(hidden, true, 'the route is hidden from OpenAPI generators (schema.hide)')
  const route = app.printRoutes({ commonPrefix: false })
  t.match(route, /publish \(POST\)/)
  await app.inject({ method: 'POST', url: '/publish', headers: auth, payload: { event: 'nope' } })
  await app.inject({ method: 'POST', url: `/publish?token=${TOKEN}`, payload: { event: 'nope' } })
  t.ok(lines.length > 0)
  t.notOk(lines.some((l) => l.includes(TOKEN)), 'no log line carries the token')
})
