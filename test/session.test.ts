import t from 'tap'
import { build, client, sleep } from './helpers/build.js'
import { listen, open } from './helpers/ws-client.js'
import type { AuthBackend } from '../lib/index.js'

t.test('heartbeat: __ping__ every interval; no __pong__ → __disconnect__ then close 4006', async (t) => {
  const app = await build(t, { session: { heartbeatInterval: 0.05, heartbeatTimeout: 0.08 } })
  const reasons: Array<[string, number]> = []
  app.socket.onDisconnect((_c, reason, code) => { reasons.push([reason, code]) })
  const url = await listen(t, app)
  const c = await open(t, url)
  t.equal((await c.next()).event, '__connect__')
  const ping = await c.next('__ping__')
  t.ok(Math.abs(ping.payload.ts - Date.now()) < 1000, 'ts is epoch ms')
  const bye = await c.next('__disconnect__')
  t.same(bye.payload, { code: 4006, reason: 'heartbeat_timeout' })
  t.equal((await c.closed).code, 4006)
  await sleep(20)
  t.same(reasons, [['heartbeat_timeout', 4006]])
})

t.test('heartbeat: a client that answers stays connected', async (t) => {
  const app = await build(t, { session: { heartbeatInterval: 0.04, heartbeatTimeout: 0.06 } })
  const url = await listen(t, app)
  const c = await open(t, url, { answerPings: true })
  await sleep(400)
  t.ok(c.frames.filter(f => f.event === '__ping__').length >= 4, 'several pings answered')
  t.equal(c.ws.readyState, 1, 'still open')
  t.equal(c.frames.find(f => f.event === '__disconnect__'), undefined)
})

t.test('idle: __idle_warning__ once, then IDLE_TIMEOUT and close 4005; application events postpone it, pongs do not', async (t) => {
  const app = await build(t, { session: { idleTimeout: 0.3, heartbeatInterval: 0.05 } })
  app.socket.on('work', {}, () => {})
  const conn = await client(t, app).connect()
  const started = Date.now()
  await sleep(150)
  await conn.send('work', {})
  const warning = await conn.receiveEvent('__idle_warning__', { timeout: 1000 })
  const warnedAfter = Date.now() - started
  t.ok(warnedAfter >= 150 + 250, `warning came after the postponed deadline (${warnedAfter} ms)`)
  t.ok(warning.payload.seconds_left > 0 && warning.payload.seconds_left <= 0.031, 'lead is min(30 s, 10 % of idleTimeout)')
  const err = await conn.receiveEvent('__error__', { timeout: 1000 })
  t.equal(err.payload.code, 'IDLE_TIMEOUT')
  t.same((await conn.receiveEvent('__disconnect__')).payload, { code: 4005, reason: 'idle_timeout' })
  t.equal((await conn.closed).code, 4005)
})

t.test('max duration: __session_expiring__ then SESSION_EXPIRED and close 4004', async (t) => {
  const app = await build(t, { session: { maxDuration: 0.3 } })
  const conn = await client(t, app).connect()
  const expiresAt = conn.server.session.expiresAt as number
  const warn = await conn.receiveEvent('__session_expiring__', { timeout: 1000 })
  t.equal(warn.payload.expires_at, expiresAt)
  t.ok(warn.payload.seconds_left <= 0.031)
  t.equal((await conn.receiveEvent('__error__', { timeout: 1000 })).payload.code, 'SESSION_EXPIRED')
  t.same((await conn.receiveEvent('__disconnect__')).payload, { code: 4004, reason: 'session_expired' })
  t.equal((await conn.closed).code, 4004)
})

function expiringAuth (): AuthBackend & { lifetimes: Record<string, number> } {
  const lifetimes: Record<string, number> = { first: 400, fresh: 5000, short: 250 }
  return {
    kind: 'test',
    lifetimes,
    authenticate: ({ token }) => token !== null && token in lifetimes
      ? { userId: 'u-' + token, role: 'user', tokenExpiresAt: Date.now() + lifetimes[token] }
      : null
  }
}

t.test('token expiry: __auth_expiring__ once before exp, then AUTH_EXPIRED and close 4002', async (t) => {
  const app = await build(t, { auth: expiringAuth(), session: { tokenRefreshWindow: 0.2 } })
  const conn = await client(t, app).connect({ token: 'first' })
  const exp = conn.server.identity.tokenExpiresAt as number
  t.equal(conn.server.session.tokenExpiresAt, exp)
  const warn = await conn.receiveEvent('__auth_expiring__', { timeout: 1000 })
  t.equal(warn.payload.expires_at, exp)
  t.ok(warn.payload.seconds_left > 0.1 && warn.payload.seconds_left <= 0.2)
  t.equal((await conn.receiveEvent('__error__', { timeout: 1000 })).payload.code, 'AUTH_EXPIRED')
  t.same((await conn.receiveEvent('__disconnect__')).payload, { code: 4002, reason: 'auth_expired' })
  t.equal((await conn.closed).code, 4002)
})

t.test('token refresh: identity replaced, __auth_refreshed__, timers rescheduled', async (t) => {
  const app = await build(t, { auth: expiringAuth(), session: { tokenRefreshWindow: 0.2 } })
  const conn = await client(t, app).connect({ token: 'first' })
  await conn.receiveEvent('__auth_expiring__', { timeout: 1000 })
  const refreshed = await conn.request('__refresh_auth__', { token: 'fresh' })
  t.equal(refreshed.event, '__auth_refreshed__')
  t.equal(refreshed.payload.expires_at, conn.server.identity.tokenExpiresAt)
  t.equal(conn.server.identity.userId, 'u-fresh')
  await sleep(400)
  t.equal(conn.server.identity.userId, 'u-fresh', 'still connected after the old expiry')
})

t.test('token refresh failure: AUTH_ERROR, connection kept until the old expiry, then 4002', async (t) => {
  const app = await build(t, { auth: expiringAuth(), session: { tokenRefreshWindow: 0.1 } })
  const conn = await client(t, app).connect({ token: 'first' })
  const err = await conn.request('__refresh_auth__', { token: 'forged' }).catch(e => e)
  t.equal(err.code, 'AUTH_ERROR')
  t.equal(conn.server.identity.userId, 'u-first', 'identity unchanged')
  const missing = await conn.request('__refresh_auth__', {}).catch(e => e)
  t.equal(missing.code, 'AUTH_ERROR')
  t.equal((await conn.receiveEvent('__error__', { timeout: 1000 })).payload.code, 'AUTH_EXPIRED')
  t.equal((await conn.closed).code, 4002)
})

t.test('refresh without an auth backend is an AUTH_ERROR', async (t) => {
  const app = await build(t)
  const conn = await client(t, app).connect()
  const err = await conn.request('__refresh_auth__', { token: 'x' }).catch(e => e)
  t.equal(err.code, 'AUTH_ERROR')
})

t.test('1,000 connect/close cycles leave no timers, connections or listeners behind', async (t) => {
  const app = await build(t, { session: { idleTimeout: 60, maxDuration: 600 }, auth: { authenticate: () => ({ userId: 'u', tokenExpiresAt: Date.now() + 600_000 }) } })
  app.socket.on('x', {}, () => {})
  const c = client(t, app)
  const warm = await c.connect()
  await warm.close()
  await sleep(20)
  const timersBefore = process.getActiveResourcesInfo().filter(r => r === 'Timeout').length
  for (let i = 0; i < 1000; i++) {
    const conn = await c.connect()
    if (i % 2 === 0) await conn.send('x', {})
    await conn.close()
  }
  await sleep(50)
  const engine = (app.socket as any)[Object.getOwnPropertySymbols(app.socket).find(s => s.description === 'socketspec.engine')!]
  t.equal(engine.connections.size, 0, 'no connection left in the registry')
  t.equal(app.socket.stats().connections, 0)
  const timersAfter = process.getActiveResourcesInfo().filter(r => r === 'Timeout').length
  t.ok(timersAfter <= timersBefore + 2, `timers before ${timersBefore}, after ${timersAfter}`)
  t.equal(app.websocketServer.clients.size, 0, 'ws keeps no client')
  t.ok(app.websocketServer.listenerCount('connection') <= 1, 'no listener added per connection')
})
