import t from 'tap'
import type { Test } from 'tap'
import { once } from 'node:events'
import type { WebSocket } from 'ws'
import { build, client, sleep } from './helpers/build.js'
import { listen, open } from './helpers/ws-client.js'
import { FakeClock, clockOption } from './helpers/clock.js'
import type { FastifyInstance } from 'fastify'
import type { AuthBackend } from '../lib/index.js'
import type { TestConnection } from '../lib/testing.js'
import { MAX_TIMEOUT_MS, Timer, systemClock, type Clock, type TimerHandle } from '../lib/clock.js'
import { kClock } from '../lib/symbols.js'

let barriers = 0

/**
 * Resolves once the server has processed everything this client sent before
 * and the client holds every frame the server sent before: a frame with a
 * forbidden `__proto__` key is answered (VALIDATION_ERROR, with the id) before
 * it could count as activity, so idle and lifetime timers ignore it.
 */
async function barrier (t: Test, conn: TestConnection): Promise<void> {
  const id = 'barrier-' + String(++barriers)
  await conn.sendRaw(`{"__proto__":{},"event":"barrier","id":"${id}"}`)
  const answer = await conn.receiveEvent('__error__')
  t.equal(answer.id, id, 'nothing but the barrier\'s own answer arrived')
}

/** Assert that `event` has not arrived (call after a barrier). */
async function notYet (t: Test, conn: TestConnection, event: string, label: string): Promise<void> {
  await t.rejects(conn.receiveEvent(event, { timeout: 0 }), label)
}

/** The server side of the only WebSocket `app` holds. */
function serverSocket (app: FastifyInstance): WebSocket {
  const [ws] = [...app.websocketServer.clients]
  return ws
}

t.test('heartbeat: __ping__ every interval; no __pong__ → __disconnect__ then close 4006', async (t) => {
  const app = await build(t, { session: { heartbeatInterval: 0.05, heartbeatTimeout: 0.08 } })
  const disconnected = new Promise<[string, number]>(resolve => app.socket.onDisconnect((_c, reason, code) => resolve([reason, code])))
  const url = await listen(t, app)
  // autoPong: false — a client that does not even answer ping control frames (frozen)
  const c = await open(t, url, { autoPong: false })
  t.equal((await c.next()).event, '__connect__')
  const ping = await c.next('__ping__')
  t.ok(Math.abs(ping.payload.ts - Date.now()) < 1000, 'ts is epoch ms')
  const bye = await c.next('__disconnect__')
  t.same(bye.payload, { code: 4006, reason: 'heartbeat_timeout' })
  t.equal((await c.closed).code, 4006)
  t.same(await disconnected, ['heartbeat_timeout', 4006])
})

t.test('heartbeat: a client that answers stays connected', async (t) => {
  const clock = new FakeClock()
  const app = await build(t, { ...clockOption(clock), session: { heartbeatInterval: 0.04, heartbeatTimeout: 0.06 } })
  const url = await listen(t, app)
  // only __pong__ proves life here: ping control frames are not answered
  const c = await open(t, url, { answerPings: true, autoPong: false })
  await c.next('__connect__')
  const server = serverSocket(app)
  for (let i = 0; i < 10; i++) {
    const pong = once(server, 'message')
    await clock.tick(40)
    await pong
  }
  await clock.tick(60)
  t.equal(c.frames.filter(f => f.event === '__ping__').length, 11, 'a ping every interval, each answered')
  t.equal(c.ws.readyState, 1, 'still open')
  t.equal(c.frames.find(f => f.event === '__disconnect__'), undefined)
})

t.test('idle: __idle_warning__ once, then IDLE_TIMEOUT and close 4005; application events postpone it, pongs do not', async (t) => {
  const clock = new FakeClock()
  const app = await build(t, { ...clockOption(clock), session: { idleTimeout: 0.3, heartbeatInterval: 0.05 } })
  app.socket.on('work', { reply: { event: 'worked' } }, () => ({}))
  const conn = await client(t, app).connect()
  await clock.tick(150)
  await conn.request('work', {})
  // the deadline moved to 150 + 300 ms; pings every 50 ms are answered with __pong__ all along
  await clock.tick(120)
  await barrier(t, conn)
  await notYet(t, conn, '__idle_warning__', 'no warning at the first deadline (300 − 30 ms): the application event postponed it')
  await clock.tick(149)
  await barrier(t, conn)
  await notYet(t, conn, '__idle_warning__', 'nor 1 ms before the postponed one (150 + 300 − 30 ms)')
  await clock.tick(1)
  const warning = await conn.receiveEvent('__idle_warning__')
  t.equal(warning.payload.seconds_left, 0.03, 'lead is min(30 s, 10 % of idleTimeout)')
  await clock.tick(29)
  await barrier(t, conn)
  await notYet(t, conn, '__error__', 'open until the deadline; __pong__ answers did not postpone it')
  await clock.tick(1)
  const err = await conn.receiveEvent('__error__')
  t.equal(err.payload.code, 'IDLE_TIMEOUT')
  t.same((await conn.receiveEvent('__disconnect__')).payload, { code: 4005, reason: 'idle_timeout' })
  t.equal((await conn.closed).code, 4005)
})

t.test('max duration: __session_expiring__ then SESSION_EXPIRED and close 4004', async (t) => {
  const clock = new FakeClock()
  const app = await build(t, { ...clockOption(clock), session: { maxDuration: 0.3 } })
  const conn = await client(t, app).connect()
  const expiresAt = conn.server.session.expiresAt as number
  t.equal(expiresAt, clock.now() + 300)
  await clock.tick(269)
  await barrier(t, conn)
  await notYet(t, conn, '__session_expiring__', 'no notice before min(60 s, 10 %) ahead')
  await clock.tick(1)
  const warn = await conn.receiveEvent('__session_expiring__')
  t.equal(warn.payload.expires_at, expiresAt)
  t.equal(warn.payload.seconds_left, 0.03)
  await clock.tick(29)
  await barrier(t, conn)
  await notYet(t, conn, '__error__', 'still open 1 ms before the end')
  await clock.tick(1)
  t.equal((await conn.receiveEvent('__error__')).payload.code, 'SESSION_EXPIRED')
  t.same((await conn.receiveEvent('__disconnect__')).payload, { code: 4004, reason: 'session_expired' })
  t.equal((await conn.closed).code, 4004)
})

function expiringAuth (clock: FakeClock): AuthBackend & { lifetimes: Record<string, number> } {
  const lifetimes: Record<string, number> = { first: 400, fresh: 5000, short: 250 }
  return {
    kind: 'test',
    lifetimes,
    authenticate: ({ token }) => token !== null && token in lifetimes
      ? { userId: 'u-1', role: 'r-' + token, tokenExpiresAt: clock.now() + lifetimes[token] }
      : null
  }
}

t.test('token expiry: __auth_expiring__ once before exp, then AUTH_EXPIRED and close 4002', async (t) => {
  const clock = new FakeClock()
  const app = await build(t, { ...clockOption(clock), auth: expiringAuth(clock), session: { tokenRefreshWindow: 0.2 } })
  const conn = await client(t, app).connect({ token: 'first' })
  const exp = conn.server.identity.tokenExpiresAt as number
  t.equal(exp, clock.now() + 400)
  t.equal(conn.server.session.tokenExpiresAt, exp)
  await clock.tick(199)
  await barrier(t, conn)
  await notYet(t, conn, '__auth_expiring__', 'no notice before tokenRefreshWindow ahead')
  await clock.tick(1)
  const warn = await conn.receiveEvent('__auth_expiring__')
  t.equal(warn.payload.expires_at, exp)
  t.equal(warn.payload.seconds_left, 0.2)
  await clock.tick(199)
  await barrier(t, conn)
  await notYet(t, conn, '__auth_expiring__', 'the notice is sent once')
  await notYet(t, conn, '__error__', 'still open 1 ms before exp')
  await clock.tick(1)
  t.equal((await conn.receiveEvent('__error__')).payload.code, 'AUTH_EXPIRED')
  t.same((await conn.receiveEvent('__disconnect__')).payload, { code: 4002, reason: 'auth_expired' })
  t.equal((await conn.closed).code, 4002)
})

t.test('token refresh: identity replaced, __auth_refreshed__, timers rescheduled', async (t) => {
  const clock = new FakeClock()
  const app = await build(t, { ...clockOption(clock), auth: expiringAuth(clock), session: { tokenRefreshWindow: 0.2 } })
  const conn = await client(t, app).connect({ token: 'first' })
  const t0 = clock.now()
  await clock.tick(200)
  await conn.receiveEvent('__auth_expiring__')
  const refreshed = await conn.request('__refresh_auth__', { token: 'fresh' })
  t.equal(refreshed.event, '__auth_refreshed__')
  t.equal(refreshed.payload.expires_at, t0 + 200 + 5000)
  t.equal(refreshed.payload.expires_at, conn.server.identity.tokenExpiresAt)
  t.equal(conn.server.identity.role, 'r-fresh')
  await clock.tick(400)
  await barrier(t, conn)
  await notYet(t, conn, '__error__', 'no AUTH_EXPIRED at the old expiry')
  t.equal(conn.server.identity.role, 'r-fresh', 'still connected after the old expiry')
  await clock.tick(4399)
  await barrier(t, conn)
  await notYet(t, conn, '__auth_expiring__', 'the new notice is not early')
  await clock.tick(1)
  t.same((await conn.receiveEvent('__auth_expiring__')).payload, { expires_at: t0 + 5200, seconds_left: 0.2 }, 'the notice was rescheduled for the new token')
})

t.test('token refresh failure: AUTH_ERROR, connection kept until the old expiry, then 4002', async (t) => {
  const clock = new FakeClock()
  const app = await build(t, { ...clockOption(clock), auth: expiringAuth(clock), session: { tokenRefreshWindow: 0.1 } })
  const conn = await client(t, app).connect({ token: 'first' })
  const err = await conn.request('__refresh_auth__', { token: 'forged' }).catch(e => e)
  t.equal(err.code, 'AUTH_ERROR')
  t.equal(conn.server.identity.role, 'r-first', 'identity unchanged')
  const missing = await conn.request('__refresh_auth__', {}).catch(e => e)
  t.equal(missing.code, 'AUTH_ERROR')
  await clock.tick(399)
  await barrier(t, conn)
  await notYet(t, conn, '__error__', 'kept until the old expiry')
  await clock.tick(1)
  t.equal((await conn.receiveEvent('__error__')).payload.code, 'AUTH_EXPIRED')
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

// The clock (lib/clock.ts) the session timers run on.
const DAY_MS = 86_400_000
const START = 1_700_000_000_000

/** A Clock that records every delay asked of it (and forwards to `inner`). */
function recording (inner: Clock): Clock & { delays: number[] } {
  const delays: number[] = []
  return {
    delays,
    now: () => inner.now(),
    setTimeout: (fn: () => void, ms: number): TimerHandle => {
      delays.push(ms)
      return inner.setTimeout(fn, ms)
    },
    clearTimeout: (h: TimerHandle) => inner.clearTimeout(h)
  }
}

t.test('Timer', async (t) => {
  t.equal(MAX_TIMEOUT_MS, 2 ** 31 - 1)

  for (const [label, delay] of [['30 days', 30 * DAY_MS], ['1 year', 365 * DAY_MS]] as const) {
    t.test(`a ${label} delay is chained, never asks for more than 2^31-1 ms, and fires exactly at \`at\``, async (t) => {
      const fake = new FakeClock(START)
      const clock = recording(fake)
      const fired: number[] = []
      const timer = new Timer(clock, delay, () => fired.push(fake.now()))
      t.equal(timer.at, START + delay)
      t.ok(timer.pending)
      await fake.tick(delay - 1)
      t.same(fired, [], 'not fired 1 ms early')
      t.ok(timer.pending)
      await fake.tick(1)
      t.same(fired, [START + delay], 'fired once, exactly at `at`')
      t.notOk(timer.pending)
      t.equal(fake.pending, 0, 'no timer left behind')
      t.ok(Math.max(...clock.delays) <= MAX_TIMEOUT_MS, `largest delay asked: ${Math.max(...clock.delays)}`)
      t.equal(clock.delays.length, Math.ceil(delay / MAX_TIMEOUT_MS), `${clock.delays.length} links`)
      t.equal(clock.delays.reduce((a, b) => a + b, 0), delay, 'the links add up to the delay')
      await fake.tick(delay)
      t.same(fired, [START + delay], 'never fires twice')
    })
  }

  t.test('the one-link boundary: exactly 2^31-1 ms is one timer, one more ms is two', async (t) => {
    const fake = new FakeClock(START)
    const clock = recording(fake)
    new Timer(clock, MAX_TIMEOUT_MS, () => {}) // eslint-disable-line no-new
    t.same(clock.delays, [MAX_TIMEOUT_MS])
    const longer = recording(fake)
    let fired = 0
    new Timer(longer, MAX_TIMEOUT_MS + 1, () => { fired++ }) // eslint-disable-line no-new
    t.same(longer.delays, [MAX_TIMEOUT_MS])
    await fake.tick(MAX_TIMEOUT_MS)
    t.same(longer.delays, [MAX_TIMEOUT_MS, 1])
    t.equal(fired, 0)
    await fake.tick(1)
    t.equal(fired, 1)
  })

  t.test('cancel works before the first link, between links, and is idempotent', async (t) => {
    const clock = new FakeClock(START)
    let fired = 0
    const early = new Timer(clock, 30 * DAY_MS, () => { fired++ })
    early.cancel()
    t.notOk(early.pending)
    t.equal(clock.pending, 0, 'its timer was cleared')
    const mid = new Timer(clock, 30 * DAY_MS, () => { fired++ })
    await clock.tick(MAX_TIMEOUT_MS + 1)
    t.ok(mid.pending, 'pending on its second link')
    t.equal(clock.pending, 1)
    mid.cancel()
    mid.cancel()
    t.notOk(mid.pending)
    t.equal(clock.pending, 0, 'the current link was cleared')
    await clock.tick(60 * DAY_MS)
    t.equal(fired, 0, 'a cancelled timer never fires')
    const done = new Timer(clock, 5, () => { fired++ })
    await clock.tick(5)
    done.cancel()
    t.equal(fired, 1, 'cancel after firing is a no-op')
  })

  t.test('a negative, zero or NaN delay fires at the next turn of the clock, never synchronously', async (t) => {
    const clock = new FakeClock(START)
    const fired: string[] = []
    for (const [label, delay] of [['negative', -5_000], ['zero', 0], ['NaN', Number.NaN]] as const) {
      const timer = new Timer(clock, delay, () => fired.push(label))
      t.equal(timer.at, START, `${label}: due now`)
    }
    t.same(fired, [], 'not synchronously')
    await clock.tick(0)
    t.same(fired, ['negative', 'zero', 'NaN'], 'at the next turn, in order')
  })

  t.test('a coarse clock whose timers run early cannot make it fire before `at`', async (t) => {
    const fake = new FakeClock(START)
    // fires every timer at half its delay (at least 1 ms later)
    const coarse: Clock = {
      now: () => fake.now(),
      setTimeout: (fn, ms) => fake.setTimeout(fn, Math.ceil(ms / 2)),
      clearTimeout: (h) => fake.clearTimeout(h)
    }
    const fired: number[] = []
    new Timer(coarse, 1000, () => fired.push(fake.now())) // eslint-disable-line no-new
    await fake.tick(999)
    t.same(fired, [])
    await fake.tick(1)
    t.same(fired, [START + 1000])
  })

  t.test('systemClock: real time, unref\'d timers', async (t) => {
    const before = Date.now()
    t.ok(systemClock.now() >= before && systemClock.now() <= Date.now())
    const handle = systemClock.setTimeout(() => {}, 60_000) as NodeJS.Timeout
    t.notOk(handle.hasRef(), 'does not keep the process alive')
    systemClock.clearTimeout(handle)
    // the Timer's own handle is unref'd: something else must keep the loop alive while it runs
    const keepAlive = setTimeout(() => {}, 10_000)
    const at = await new Promise<number>(resolve => new Timer(systemClock, 5, () => resolve(Date.now())))
    clearTimeout(keepAlive)
    t.ok(at >= before + 5 - 1, 'a short Timer fires on the system clock')
  })
})

t.test('FakeClock (test helper)', async (t) => {
  t.test('time moves only on tick; now() is the due time inside a callback', async (t) => {
    const clock = new FakeClock(START)
    t.equal(clock.now(), START)
    const seen: Array<[string, number]> = []
    clock.setTimeout(() => seen.push(['b', clock.now()]), 20)
    clock.setTimeout(() => seen.push(['a', clock.now()]), 10)
    clock.setTimeout(() => seen.push(['c', clock.now()]), 20)
    t.equal(clock.pending, 3)
    await clock.tick(15)
    t.same(seen, [['a', START + 10]])
    t.equal(clock.now(), START + 15, 'time ends at start + ms')
    await clock.tick(5)
    t.same(seen, [['a', START + 10], ['b', START + 20], ['c', START + 20]], 'due order, ties in creation order')
    t.equal(clock.pending, 0)
  })

  t.test('a timer set by a callback fires in the same tick when it falls inside the window', async (t) => {
    const clock = new FakeClock(START)
    const seen: number[] = []
    const again = (): void => {
      seen.push(clock.now() - START)
      if (seen.length < 5) clock.setTimeout(again, 10)
    }
    clock.setTimeout(again, 10)
    await clock.tick(35)
    t.same(seen, [10, 20, 30])
    await clock.tick(100)
    t.same(seen, [10, 20, 30, 40, 50])
  })

  t.test('between two timers the event loop turns (promises and I/O started by the first run)', async (t) => {
    const clock = new FakeClock(START)
    const log: string[] = []
    clock.setTimeout(() => {
      log.push('first')
      void Promise.resolve().then(() => log.push('promise'))
      setImmediate(() => log.push('immediate'))
    }, 10)
    clock.setTimeout(() => log.push('second'), 10)
    await clock.tick(10)
    t.same(log, ['first', 'promise', 'immediate', 'second'])
  })

  t.test('clearTimeout, negative delays, maxDelay and the overflow guard', async (t) => {
    const clock = new FakeClock(START)
    let fired = 0
    const h = clock.setTimeout(() => { fired++ }, 10)
    clock.clearTimeout(h)
    clock.clearTimeout(h)
    clock.setTimeout(() => { fired += 10 }, -50)
    await clock.tick(10)
    t.equal(fired, 10, 'the cleared timer never fired; a negative delay fires at once')
    t.equal(clock.now(), START + 10, 'a negative delay does not move time back')
    t.equal(clock.maxDelay, 10)
    clock.setTimeout(() => {}, MAX_TIMEOUT_MS)
    t.equal(clock.maxDelay, MAX_TIMEOUT_MS)
    t.throws(() => clock.setTimeout(() => {}, MAX_TIMEOUT_MS + 1), RangeError, 'like Node, it refuses delays above 2^31-1 ms')
    t.equal(clock.maxDelay, MAX_TIMEOUT_MS, 'a refused delay is not recorded')
  })

  t.test('starts at the real time by default; clockOption puts it under the plugin key', async (t) => {
    const before = Date.now()
    const clock = new FakeClock()
    t.ok(clock.now() >= before && clock.now() <= Date.now())
    const opt = clockOption(clock)
    t.equal(opt[kClock], clock)
    t.equal(kClock, Symbol.for('socketspec.clock'))
    t.same(Object.keys(opt), [], 'a symbol key: invisible to the options schema')
  })
})
