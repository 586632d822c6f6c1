import t from 'tap'
import { Writable } from 'node:stream'
import { createSigner } from 'fast-jwt'
import Fastify from 'fastify'
import socketspec, { jwtAuth, apiKeyAuth } from '../../lib/index.js'
import { build, sleep } from '../helpers/build.js'
import { listen, open } from '../helpers/ws-client.js'

const secret = 'test-secret-of-enough-length-1234567890'
const sign = createSigner({ key: secret, algorithm: 'HS256', expiresIn: 60_000 })

function whoami (app: any): void {
  app.socket.on('whoami', { reply: { event: 'me' } }, (conn: any) => ({ userId: conn.identity.userId, role: conn.identity.role }))
}

t.test('jwtAuth: the token from Authorization, the bearer subprotocol and ?token=', async (t) => {
  const app = await build(t, { auth: jwtAuth({ secret, algorithm: 'HS256' }) })
  whoami(app)
  const url = await listen(t, app)
  const token = sign({ sub: 'alice', role: 'admin' })

  const viaHeader = await open(t, url, { headers: { authorization: 'Bearer ' + token } })
  t.equal((await viaHeader.next()).event, '__connect__')
  viaHeader.send('whoami', {}, '1')
  t.same((await viaHeader.next('me')).payload, { userId: 'alice', role: 'admin' })

  const viaProtocol = await open(t, url, { protocols: ['socketspec', 'bearer.' + token] })
  t.equal(viaProtocol.ws.protocol, 'socketspec', 'the server selects socketspec, never the token')
  t.equal((await viaProtocol.next()).event, '__connect__')

  const viaQuery = await open(t, url + '?token=' + encodeURIComponent(token))
  t.equal((await viaQuery.next()).event, '__connect__')
  viaQuery.send('whoami')
  t.equal((await viaQuery.next('me')).payload.userId, 'alice')
})

t.test('refused tokens: __error__ AUTH_ERROR, __disconnect__, close 4001', async (t) => {
  const app = await build(t, { auth: jwtAuth({ secret, algorithm: 'HS256' }) })
  const refusals: string[] = []
  app.socket.onDisconnect((_c, reason) => { refusals.push(reason) })
  const url = await listen(t, app)
  const expired = createSigner({ key: secret, algorithm: 'HS256' })({ sub: 'x', exp: Math.floor(Date.now() / 1000) - 60 })
  const wrongKey = createSigner({ key: 'another-secret-of-enough-length-000000', algorithm: 'HS256' })({ sub: 'x' })
  const none = Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url') + '.' + Buffer.from('{"sub":"x"}').toString('base64url') + '.'
  for (const [label, headers] of [['missing', {}], ['expired', { authorization: 'Bearer ' + expired }], ['bad signature', { authorization: 'Bearer ' + wrongKey }], ['alg none', { authorization: 'Bearer ' + none }]] as const) {
    const c = await open(t, url, { headers })
    const err = await c.next()
    t.equal(err.event, '__error__', label)
    t.equal(err.payload.code, 'AUTH_ERROR', label)
    t.same((await c.next()).payload, { code: 4001, reason: 'auth_error' }, label + ': __disconnect__')
    t.equal((await c.closed).code, 4001, label + ': close 4001')
  }
  t.same(refusals, [], 'onDisconnect only runs for connections that connected')
  t.equal(app.socket.stats().errors.AUTH_ERROR, 4)
})

t.test('apiKeyAuth and a custom backend', async (t) => {
  const keyed = await build(t, { auth: apiKeyAuth({ validKeys: new Set(['k-1']) }) })
  whoami(keyed)
  const url = await listen(t, keyed)
  const ok = await open(t, url, { headers: { 'x-api-key': 'k-1' } })
  t.equal((await ok.next()).event, '__connect__')
  const viaQuery = await open(t, url + '?api_key=k-1')
  t.equal((await viaQuery.next()).event, '__connect__')
  const bad = await open(t, url, { headers: { 'x-api-key': 'nope' } })
  t.equal((await bad.next()).payload.code, 'AUTH_ERROR')

  const custom = await build(t, {
    auth: { authenticate: async ({ headers, token }) => token === 'magic' ? { userId: String(headers['x-user']), extra: { plan: 'pro' } } : null }
  })
  custom.socket.on('plan', { reply: { event: 'plan' } }, (conn) => ({ plan: conn.identity.extra.plan, user: conn.identity.userId }))
  const url2 = await listen(t, custom)
  const c = await open(t, url2 + '?token=magic', { headers: { 'x-user': 'bob' } })
  await c.next('__connect__')
  c.send('plan', {}, 'p')
  t.same((await c.next('plan')).payload, { plan: 'pro', user: 'bob' })
})

t.test('frames sent while authentication runs are queued, not lost, and run after onConnect', async (t) => {
  const order: string[] = []
  const app = await build(t, {
    auth: { authenticate: async () => { await sleep(100); return { userId: 'slow' } } }
  })
  app.socket.onConnect(async () => { await sleep(20); order.push('onConnect') })
  app.socket.on('n', { reply: { event: 'n' } }, (_c, p: any) => { order.push('n' + p.i); return p })
  const url = await listen(t, app)
  const c = await open(t, url)
  for (let i = 0; i < 5; i++) c.send('n', { i }, String(i))
  t.equal((await c.next()).event, '__connect__', '__connect__ comes first')
  const got = []
  for (let i = 0; i < 5; i++) got.push((await c.next('n')).payload.i)
  t.same(got, [0, 1, 2, 3, 4])
  t.same(order, ['onConnect', 'n0', 'n1', 'n2', 'n3', 'n4'])
})

t.test('no token ever reaches a log line (Fastify request log included)', async (t) => {
  const lines: string[] = []
  const stream = new Writable({ write (chunk, _enc, cb) { lines.push(chunk.toString()); cb() } })
  const app = Fastify({ logger: { level: 'trace', stream } })
  await app.register(socketspec, { auth: jwtAuth({ secret, algorithm: 'HS256' }) })
  app.socket.on('boom', {}, () => { throw new Error('fail') })
  t.teardown(() => app.close())
  const url = await listen(t, app)
  const token = sign({ sub: 'carol' })
  const c = await open(t, url + '?token=' + token + '&other=1')
  await c.next('__connect__')
  c.send('boom')
  await c.next('__error__')
  const bad = await open(t, url + '?token=not-a-valid-token-SECRETSECRET')
  await bad.next('__error__')
  const viaKey = await open(t, url + '?api_key=SECRETKEY123')
  await viaKey.next('__error__')
  const viaProtocol = await open(t, url, { protocols: ['socketspec', 'bearer.' + token] })
  await viaProtocol.next('__connect__')
  await app.close()
  const all = lines.join('')
  t.ok(all.includes('incoming request'), 'the request log was captured')
  t.ok(all.includes('[REDACTED]'), 'the query value is redacted')
  t.notOk(all.includes(token), 'the JWT never appears')
  t.notOk(all.includes(token.split('.')[2]), 'not even its signature')
  t.notOk(all.includes('SECRETSECRET'), 'nor an invalid token')
  t.notOk(all.includes('SECRETKEY123'), 'nor an api key')
})
