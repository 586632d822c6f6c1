import t from 'tap'
import type { Test } from 'tap'
import { once } from 'node:events'
import { setImmediate as turn } from 'node:timers/promises'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { createSigner } from 'fast-jwt'
import type { FastifyInstance } from 'fastify'
import type { WebSocket } from 'ws'
import { Redis } from 'ioredis'
import { Type, jwtAuth, redisBackend, type Connection } from '../../lib/index.js'
import { build, sleep, startupError } from '../helpers/build.js'
import { clientFrame, listen, nonReadingClient, open, type Frame, type WsClient } from '../helpers/ws-client.js'
import { FakeClock, clockOption } from '../helpers/clock.js'
import { startRedis } from '../helpers/redis.js'

const MiB = 1024 * 1024

/** A private field of a socketspec object, found by its symbol's description (so this file also runs against older code). */
function priv<T> (obj: object, description: string): T {
  const s = Object.getOwnPropertySymbols(obj).find(k => k.description === description)
  return (s === undefined ? undefined : (obj as any)[s]) as T
}

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

/** Live bytes of the process after a full GC: JS heap plus external memory (Buffers). */
function heldBytes (): number {
  gc()
  const m = process.memoryUsage()
  return m.heapUsed + m.external
}

const mb = (n: number): string => (n / MiB).toFixed(1) + ' MiB'
const DAY = 86_400
const MAX_TIMEOUT = 2 ** 31 - 1
const secret = 'hardening-secret-of-enough-length-0123456789'
const signer = (expiresIn: number) => createSigner({ key: secret, algorithm: 'HS256', expiresIn })

/** `promise`, or a rejection naming `what` after `ms` of real time. */
function within<T> (promise: Promise<T>, what: string, ms = 3000): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(new Error('timed out waiting for ' + what)), ms) })
  ])
}

/** The server-side connections of `app`, in connect order. */
function track (app: FastifyInstance): Connection[] {
  const conns: Connection[] = []
  app.socket.onConnect((conn) => { conns.push(conn) })
  return conns
}

/** The server side of the only WebSocket `app` holds. */
function serverSocket (app: FastifyInstance): WebSocket {
  const [ws] = [...app.websocketServer.clients]
  return ws
}

/** A client past its `__connect__`. */
async function connected (t: Test, url: string, options: Parameters<typeof open>[2] = {}): Promise<WsClient> {
  const c = await open(t, url, options)
  await c.next('__connect__')
  return c
}

let syncs = 0
/** Round trip through the `sync` event (reply `synced`): every frame the server sent before is then in `c.frames`. */
async function sync (c: WsClient): Promise<void> {
  const id = 'sync-' + String(++syncs)
  c.send('sync', {}, id)
  const f = await c.next('synced')
  if (f.id !== id) throw new Error('out of order sync ' + String(f.id))
}

/** Events `c` received, `__ping__` excepted. */
const events = (c: WsClient): string[] => c.frames.filter(f => f.event !== '__ping__').map(f => f.event)

t.test('error frames bypass maxBufferedBytes', async (t) => {
  const app = await build(t)
  const conns = track(app)
  const disconnects = new Map<string, [string, number]>()
  app.socket.onDisconnect((conn, reason, code) => { disconnects.set(conn.id, [reason, code]) })
  const url = await listen(t, app)

  // the size of the error frame one 1-byte junk frame costs the server
  const probe = await open(t, url)
  await probe.next('__connect__')
  probe.ws.send('x')
  const errorFrameBytes = Buffer.byteLength(JSON.stringify(await probe.next('__error__'))) + 2
  probe.ws.close()
  await probe.closed

  const raw = await nonReadingClient(t, url)
  for (let i = 0; i < 200 && conns.length < 2; i++) await sleep(10)
  const server = conns[1]
  t.ok(server, 'the server side of the non-reading client is registered')
  const serverWs = priv<{ bufferedAmount: number }>(server, 'socketspec.socket')
  const junk = Buffer.concat(Array.from({ length: 1000 }, () => clientFrame('x')))
  const MAX_FRAMES = 200_000
  const before = heldBytes()
  const rssBefore = process.memoryUsage().rss
  const started = Date.now()
  let sent = 0
  let peakBuffered = 0
  while (sent < MAX_FRAMES && !server.closed && Date.now() - started < 20_000 && !raw.destroyed) {
    if (!raw.write(junk)) await Promise.race([once(raw, 'drain'), sleep(200)])
    sent += 1000
    await turn()
    peakBuffered = Math.max(peakBuffered, serverWs.bufferedAmount)
  }
  const elapsed = Date.now() - started
  const grown = heldBytes() - before
  const rssGrown = process.memoryUsage().rss - rssBefore
  const wouldQueue = sent * errorFrameBytes
  t.comment(`junk frames sent: ${sent} in ${elapsed} ms; each costs a ${errorFrameBytes}-byte error frame`)
  t.comment(`error frames that would have been queued: ${mb(wouldQueue)} (all ${MAX_FRAMES}: ${mb(MAX_FRAMES * errorFrameBytes)})`)
  t.comment(`server memory growth: heap+external ${mb(grown)}, rss ${mb(rssGrown)}; peak server bufferedAmount ${mb(peakBuffered)}`)
  t.ok(server.closed, `the server gave up on the client before ${MAX_FRAMES} junk frames`)
  for (let i = 0; i < 100 && !disconnects.has(server.id); i++) await sleep(100)
  t.same(disconnects.get(server.id), ['slow_consumer', 4009], 'closed 4009 (slow_consumer), seen from the server')
  t.ok(grown < 32 * MiB, `memory growth bounded (${mb(grown)})`)
})

t.test('fast readers are not slow consumers', async (t) => {
  t.test('1,100 frames of 1 KB in one tick to a reading client', async (t) => {
    const app = await build(t)
    const kb = 'k'.repeat(1000)
    app.socket.on('burst', {}, (conn) => { for (let i = 0; i < 1100; i++) conn.emit('chunk', { i, kb }) })
    const url = await listen(t, app)
    const c = await open(t, url)
    await c.next('__connect__')
    c.send('burst')
    let got = 0
    for (; got < 1100; got++) {
      const f = await c.next(undefined, 5000).catch(() => null)
      if (f === null || f.event !== 'chunk' || f.payload.i !== got) break
    }
    if (c.ws.readyState !== 1) t.comment(`received ${got} chunks, then closed ${(await c.closed).code}`)
    t.equal(got, 1100, 'every frame arrived, in order')
    t.equal(c.ws.readyState, 1, 'not closed')
  })
  t.test('4,000 frames of 1 KB in one tick to a reading client (more than the kernel takes at once)', async (t) => {
    const app = await build(t)
    const kb = 'k'.repeat(1000)
    app.socket.on('burst', {}, (conn) => { for (let i = 0; i < 4000; i++) conn.emit('chunk', { i, kb }) })
    app.socket.on('sync', { reply: { event: 'synced' } }, () => ({}))
    const url = await listen(t, app)
    const c = await connected(t, url)
    c.send('burst')
    let got = 0
    for (; got < 4000; got++) {
      const f = await c.next(undefined, 5000).catch(() => null)
      if (f === null || f.event !== 'chunk' || f.payload.i !== got) break
    }
    t.equal(got, 4000, 'every frame arrived, in order')
    await sync(c).catch(() => {})
    if (c.ws.readyState !== 1) t.comment(`received ${got} chunks, then closed ${(await c.closed).code}`)
    t.equal(c.ws.readyState, 1, 'not closed')
  })

  t.test('one reply just over 1 MiB', async (t) => {
    const app = await build(t, { maxPayloadSize: 2 * MiB })
    app.socket.on('echo', { reply: { event: 'echoed' } }, (_conn, p) => p)
    const url = await listen(t, app)
    const c = await open(t, url)
    await c.next('__connect__')
    const s = 'm'.repeat(1_048_600)
    c.send('echo', { s }, 'big')
    const f = await c.next(undefined, 5000).catch((e: Error) => ({ event: e.message, payload: null }))
    t.equal(f.event, 'echoed', 'the reply arrived')
    t.equal(f.payload?.s?.length, 1_048_600)
    await sleep(50)
    if (c.ws.readyState !== 1) t.comment(`closed ${(await c.closed).code} after the reply`)
    t.equal(c.ws.readyState, 1, 'not closed')
  })
})

t.test('timers overflow', async (t) => {
  const overflows: string[] = []
  const onWarning = (w: Error): void => { if (w.name === 'TimeoutOverflowWarning') overflows.push(w.message) }
  process.on('warning', onWarning)
  t.teardown(() => { process.off('warning', onWarning) })

  t.test('a JWT valid for 30 days or a year keeps its connection, also after a refresh', async (t) => {
    const app = await build(t, { auth: jwtAuth({ secret, algorithm: 'HS256' }) })
    app.socket.on('sync', { reply: { event: 'synced' } }, () => ({}))
    const url = await listen(t, app)
    const month = await open(t, url, { headers: { authorization: 'Bearer ' + signer(30 * DAY * 1000)({ sub: 'alice' }) } })
    const year = await open(t, url, { headers: { authorization: 'Bearer ' + signer(365 * DAY * 1000)({ sub: 'alice' }) } })
    const hour = await open(t, url, { headers: { authorization: 'Bearer ' + signer(3600 * 1000)({ sub: 'alice' }) } })
    await Promise.all([month, year, hour].map(c => c.next('__connect__')))
    for (const [label, c] of [['1-hour token', hour], ['1-year token', year]] as const) {
      c.send('__refresh_auth__', { token: signer(365 * DAY * 1000)({ sub: 'alice', n: label }) }, 'r1')
      const refreshed = await c.next('__auth_refreshed__').catch((e: Error) => ({ event: e.message, payload: null }) as Frame)
      t.equal(refreshed.event, '__auth_refreshed__', `${label}: refreshed with a new 1-year token`)
      t.ok(refreshed.payload?.expires_at > Date.now() + 364 * DAY * 1000, 'expires_at a year ahead')
    }
    await sleep(300)
    for (const [label, c] of [['30-day token', month], ['1-year token, refreshed', year], ['1-hour token refreshed to a 1-year one', hour]] as const) {
      if (c.ws.readyState === 1) await sync(c)
      else t.comment(`${label}: closed ${(await c.closed).code}; frames ${JSON.stringify(events(c))}`)
      t.equal(c.ws.readyState, 1, `${label}: open after 300 ms`)
      t.same(events(c).filter(e => e !== 'synced' && e !== '__auth_refreshed__'), ['__connect__'], `${label}: no __auth_expiring__, AUTH_EXPIRED or __disconnect__`)
    }
  })

  t.test('maxDuration of 30 days is not reached at once', async (t) => {
    const app = await build(t, { session: { maxDuration: 30 * DAY } })
    app.socket.on('sync', { reply: { event: 'synced' } }, () => ({}))
    const url = await listen(t, app)
    const c = await open(t, url)
    const hello = await c.next('__connect__')
    t.ok(hello.payload.session_expires_at > Date.now() + 29 * DAY * 1000, 'session_expires_at 30 days ahead')
    await sleep(300)
    if (c.ws.readyState === 1) await sync(c)
    else t.comment(`closed ${(await c.closed).code}; frames ${JSON.stringify(events(c))}`)
    t.equal(c.ws.readyState, 1, 'open after 300 ms')
    t.same(events(c), ['__connect__', 'synced'], 'no __session_expiring__, SESSION_EXPIRED or __disconnect__')
  })

  t.test('idleTimeout and heartbeatInterval of 30 days: no ping storm', async (t) => {
    const app = await build(t, { session: { idleTimeout: 30 * DAY, heartbeatInterval: 30 * DAY } })
    const url = await listen(t, app)
    const c = await open(t, url)
    await c.next('__connect__')
    await sleep(300)
    t.comment(`frames in 300 ms: ${c.frames.length} (${c.frames.filter(f => f.event === '__ping__').length} __ping__)`)
    t.equal(c.frames.length, 1, 'one frame in 300 ms')
    t.equal(c.frames[0]?.event, '__connect__', 'the __connect__')
    t.equal(c.ws.readyState, 1)
  })

  t.test('FakeClock: maxDuration of 30 days warns 60 s ahead and closes 4004 exactly at the end', async (t) => {
    const clock = new FakeClock()
    const app = await build(t, { ...clockOption(clock), session: { maxDuration: 30 * DAY, heartbeatInterval: 40 * DAY } })
    app.socket.on('sync', { reply: { event: 'synced' } }, () => ({}))
    const url = await listen(t, app)
    const c = await open(t, url)
    const expiresAt = (await c.next('__connect__')).payload.session_expires_at
    t.equal(expiresAt, clock.now() + 30 * DAY * 1000)
    await clock.tick(30 * DAY * 1000 - 60_000 - 1)
    await sync(c)
    t.same(events(c), ['__connect__', 'synced'], 'nothing 60 s + 1 ms before the end')
    await clock.tick(1)
    t.same((await within(c.next('__session_expiring__'), '__session_expiring__')).payload, { expires_at: expiresAt, seconds_left: 60 })
    await clock.tick(60_000 - 1)
    await sync(c)
    t.equal(c.ws.readyState, 1, 'open 1 ms before the end')
    t.notOk(events(c).includes('__error__'))
    await clock.tick(1)
    t.equal((await within(c.next('__error__'), 'SESSION_EXPIRED')).payload.code, 'SESSION_EXPIRED')
    t.same((await within(c.next('__disconnect__'), '__disconnect__')).payload, { code: 4004, reason: 'session_expired' })
    t.equal((await c.closed).code, 4004)
    t.ok(clock.maxDelay <= MAX_TIMEOUT, `no timer asked for more than 2^31-1 ms (largest: ${clock.maxDelay})`)
  })

  t.test('no TimeoutOverflowWarning', async (t) => {
    if (overflows.length > 0) t.comment(`${overflows.length} TimeoutOverflowWarning, e.g. ${overflows[0].split('\n')[0]}`)
    t.equal(overflows.length, 0, 'Node never had to clamp a delay')
  })

  t.test('redisBackend with a heartbeatInterval of 120 days does not tick Redis every millisecond', async (t) => {
    const redis = await startRedis(t)
    if (redis === null) return
    const app = await build(t, { backend: redisBackend({ url: redis.url }), session: { heartbeatInterval: 120 * DAY } })
    await app.ready()
    const probe = new Redis(redis.url)
    t.teardown(() => { probe.disconnect() })
    const commands = async (): Promise<number> => Number(/total_commands_processed:(\d+)/.exec(await probe.info('stats'))?.[1])
    const before = await commands()
    await sleep(500)
    const sent = await commands() - before - 1
    t.comment(`Redis commands in 500 ms: ${sent}`)
    t.ok(sent < 20, 'at most a few commands (one liveness tick per 30 days)')
  })
})

t.test('pre-auth queue byte cap', async (t) => {
  const FRAME = 60_000
  const frameOf = (id: string): string => {
    const base = JSON.stringify({ event: 'add', payload: { a: 1, b: 1, pad: '' }, id })
    return JSON.stringify({ event: 'add', payload: { a: 1, b: 1, pad: 'p'.repeat(FRAME - base.length) }, id })
  }

  t.test('a client that floods frames while auth runs is closed 1008 past maxPayloadSize × 16 bytes', async (t) => {
    let admit: (v: { userId: string }) => void = () => {}
    const app = await build(t, { auth: { authenticate: () => new Promise(resolve => { admit = resolve }) } })
    app.socket.on('add', { reply: { event: 'sum' } }, (_c, p: any) => ({ sum: p.a + p.b }))
    // the engine's queue, observed from the server side after each frame
    const engine = priv<any>(app.socket, 'socketspec.engine')
    const cap = 16 * 65536
    let maxQueued = 0
    let framesQueued = 0
    const enqueue = engine.enqueue.bind(engine)
    engine.enqueue = (conn: object, data: Buffer, isBinary: boolean) => {
      enqueue(conn, data, isBinary)
      const bytes = priv<number | undefined>(conn, 'socketspec.queueBytes') ?? 0
      const queue = priv<unknown[] | null>(conn, 'socketspec.queue')
      if (queue !== null) framesQueued = queue.length
      maxQueued = Math.max(maxQueued, bytes)
    }
    const url = await listen(t, app)
    const c = await open(t, url)
    t.equal(frameOf('q0').length, FRAME)
    for (let i = 0; i < 40; i++) c.ws.send(frameOf('q' + String(i)))
    const closed = await Promise.race([c.closed, sleep(5000).then(() => null)])
    admit({ userId: 'u' })
    const info = closed ?? await Promise.race([c.closed, sleep(2000).then(() => ({ code: -1, reason: 'still open' }))])
    t.comment(`sent 40 × ${FRAME} B = ${mb(40 * FRAME)}; cap ${mb(cap)}; queued at most ${maxQueued} B in ${framesQueued} frames; close ${info.code}; frames ${JSON.stringify(c.frames.map(f => f.event).slice(0, 5))}${c.frames.length > 5 ? '…' : ''}`)
    t.equal(closed?.code, 1008, 'closed 1008 while auth was still running')
    t.same(c.frames.map(f => f.event === '__disconnect__' ? f.payload : f.event), [{ code: 1008, reason: 'too_many_frames_before_connect' }], 'only __disconnect__ reached the client')
    t.ok(maxQueued <= cap, `the queue never held more than the cap (${maxQueued} ≤ ${cap})`)
    t.ok(maxQueued > cap - FRAME, 'closed only when the next frame would have passed it')
  })

  t.test('frames below the cap are processed in order after __connect__', async (t) => {
    let admit: (v: { userId: string }) => void = () => {}
    const app = await build(t, { auth: { authenticate: () => new Promise(resolve => { admit = resolve }) } })
    app.socket.on('add', { reply: { event: 'sum' } }, (_c, p: any) => ({ sum: p.a + p.b }))
    const url = await listen(t, app)
    const c = await open(t, url)
    for (let i = 0; i < 16; i++) c.ws.send(frameOf('q' + String(i)))
    c.send('add', { a: 2, b: 3 }, 'last')
    await sleep(100)
    admit({ userId: 'u' })
    t.equal((await c.next()).event, '__connect__', '__connect__ first')
    const ids: Array<string | undefined> = []
    for (let i = 0; i < 17; i++) ids.push((await c.next('sum')).id)
    t.same(ids, [...Array.from({ length: 16 }, (_, i) => 'q' + String(i)), 'last'], 'every queued frame answered, in arrival order')
  })
})

t.test('__refresh_auth__ rules', async (t) => {
  t.test("another user's valid token: AUTH_ERROR user_mismatch, identity unchanged, still open", async (t) => {
    const app = await build(t, { auth: jwtAuth({ secret, algorithm: 'HS256' }) })
    const conns = track(app)
    app.socket.on('whoami', { reply: { event: 'me' } }, (conn) => ({ userId: conn.identity.userId }))
    const url = await listen(t, app)
    const c = await connected(t, url, { headers: { authorization: 'Bearer ' + signer(3600_000)({ sub: 'alice' }) } })
    c.send('__refresh_auth__', { token: signer(3600_000)({ sub: 'mallory' }) }, 'r1')
    const answer = await c.next()
    t.equal(answer.event, '__error__', `an __error__ (got ${answer.event})`)
    t.equal(answer.id, 'r1')
    t.match(answer.payload, { code: 'AUTH_ERROR', request_id: 'r1', details: { reason: 'user_mismatch' } })
    t.equal(conns[0].identity.userId, 'alice', 'conn.identity.userId unchanged')
    c.send('whoami', {}, 'w')
    t.same((await c.next('me')).payload, { userId: 'alice' }, 'still open, still alice')
  })

  t.test('at most 5 refreshes per connection per 60 s, without rateLimit configured', async (t) => {
    const clock = new FakeClock()
    const app = await build(t, { ...clockOption(clock), auth: jwtAuth({ secret, algorithm: 'HS256' }), session: { heartbeatInterval: 3600 } })
    const url = await listen(t, app)
    const token = signer(3600_000)({ sub: 'alice' })
    const c = await connected(t, url, { headers: { authorization: 'Bearer ' + token } })
    const refresh = async (id: string): Promise<Frame> => {
      c.send('__refresh_auth__', { token }, id)
      return await c.next()
    }
    for (let i = 1; i <= 5; i++) t.equal((await refresh('ok' + String(i))).event, '__auth_refreshed__', `refresh ${i} accepted`)
    const sixth = await refresh('no6')
    t.equal(sixth.event, '__error__', `the 6th is refused (got ${sixth.event})`)
    t.equal(sixth.id, 'no6')
    t.match(sixth.payload, { code: 'RATE_LIMIT_ERROR', details: { retry_after_ms: 60_000, scope: 'refresh' } })
    await clock.tick(59_999)
    t.match((await refresh('no7')).payload, { code: 'RATE_LIMIT_ERROR', details: { retry_after_ms: 1 } }, 'still refused 1 ms before the window ends')
    await clock.tick(1)
    t.equal((await refresh('ok6')).event, '__auth_refreshed__', 'allowed again 60 s after the first')
    t.equal(c.ws.readyState, 1)
  })
})

t.test('ids on early errors', async (t) => {
  const app = await build(t, { maxPayloadSize: 1024 })
  app.socket.on('echo', { reply: { event: 'echoed' } }, (_c, p) => p)
  const url = await listen(t, app)
  const c = await connected(t, url)
  const big = (id: string): string => {
    const base = JSON.stringify({ event: 'echo', payload: { s: '' }, id })
    return JSON.stringify({ event: 'echo', payload: { s: 'x'.repeat(2000 - base.length) }, id })
  }
  const long = 'i'.repeat(65)
  const cases: Array<[string, string | Buffer, string, string | undefined]> = [
    ['a 2,000-byte frame', big('big-1'), 'PAYLOAD_TOO_LARGE', 'big-1'],
    ['__proto__ at the top', '{"__proto__":{"x":1},"event":"echo","id":"p-1"}', 'VALIDATION_ERROR', 'p-1'],
    ['constructor.prototype', '{"constructor":{"prototype":{}},"event":"echo","id":"c-1"}', 'VALIDATION_ERROR', 'c-1'],
    ['a binary frame', Buffer.from('{"event":"echo","id":"bin-1"}'), 'VALIDATION_ERROR', 'bin-1'],
    ['a 2,000-byte frame with a 65-char id', big(long), 'PAYLOAD_TOO_LARGE', undefined],
    ['__proto__ with a 65-char id', `{"__proto__":{},"event":"echo","id":"${long}"}`, 'VALIDATION_ERROR', undefined],
    ['__proto__ with an escaped "id" key', '{"__proto__":{},"event":"echo","\\u0069d":"e-1"}', 'VALIDATION_ERROR', 'e-1'],
    ['__proto__ with a numeric id', '{"__proto__":{},"event":"echo","id":7}', 'VALIDATION_ERROR', undefined],
    ['__proto__ with an id only inside the payload', '{"__proto__":{},"event":"echo","payload":{"id":"inner"}}', 'VALIDATION_ERROR', undefined],
    ['not JSON', '{"id":"n-1", oops', 'VALIDATION_ERROR', undefined],
    ['too large and not JSON', '{"id":"n-2",' + 'x'.repeat(2000), 'PAYLOAD_TOO_LARGE', undefined]
  ]
  t.equal(Buffer.byteLength(big('big-1')), 2000)
  for (const [label, frame, code, id] of cases) {
    c.ws.send(frame)
    const f = await c.next()
    t.equal(f.payload.code, code, `${label}: ${code}`)
    if (id === undefined) {
      t.notOk('id' in f, `${label}: no id`)
      t.not(f.payload.request_id, long)
    } else {
      t.equal(f.id, id, `${label}: top-level id ${id}`)
      t.equal(f.payload.request_id, id, `${label}: request_id ${id}`)
    }
  }
  c.send('echo', { ok: true }, 'after')
  t.same(await c.next(), { event: 'echoed', payload: { ok: true }, id: 'after' }, 'still open')
})

t.test('heartbeat that plain clients survive', async (t) => {
  const HB = { heartbeatInterval: 25, heartbeatTimeout: 10 }

  t.test('a plain ws client that never sends __pong__ (auto-answers ping control frames) stays connected', async (t) => {
    const clock = new FakeClock()
    const app = await build(t, { ...clockOption(clock), session: HB })
    const conns = track(app)
    const url = await listen(t, app)
    const c = await connected(t, url)
    const server = serverSocket(app)
    for (let i = 0; i < 20; i++) {
      const ping = once(c.ws, 'ping')
      const pong = once(server, 'pong')
      await clock.tick(25_000)
      await within(ping, `ping control frame ${i + 1}`)
      await within(pong, `pong control frame ${i + 1}`)
    }
    await clock.tick(10_000)
    t.equal(c.frames.filter(f => f.event === '__ping__').length, 20, '20 __ping__ over 500 s, one per interval')
    t.notOk(c.frames.some(f => f.event === '__disconnect__'))
    t.equal(c.ws.readyState, 1)
    t.notOk(conns[0].closed, 'open server-side')
  })

  t.test('a frozen client (autoPong: false, sends nothing) is closed 4006 at heartbeatInterval + heartbeatTimeout', async (t) => {
    const clock = new FakeClock()
    const app = await build(t, { ...clockOption(clock), session: HB })
    const conns = track(app)
    const disconnected = new Promise<[string, number]>(resolve => app.socket.onDisconnect((_c, reason, code) => resolve([reason, code])))
    const url = await listen(t, app)
    const c = await connected(t, url, { autoPong: false })
    await clock.tick(25_000)
    t.equal((await within(c.next('__ping__'), '__ping__')).event, '__ping__')
    await clock.tick(9_999)
    t.notOk(conns[0].closed, 'open 1 ms before the timeout')
    await clock.tick(1)
    t.same((await within(c.next('__disconnect__'), '__disconnect__')).payload, { code: 4006, reason: 'heartbeat_timeout' })
    t.equal((await c.closed).code, 4006)
    t.same(await disconnected, ['heartbeat_timeout', 4006])
  })

  t.test('a client without autoPong that keeps sending application frames stays connected', async (t) => {
    const clock = new FakeClock()
    const app = await build(t, { ...clockOption(clock), session: HB })
    app.socket.on('sync', { reply: { event: 'synced' } }, () => ({}))
    const url = await listen(t, app)
    const c = await connected(t, url, { autoPong: false })
    for (let i = 0; i < 100; i++) {
      await clock.tick(5_000)
      await sync(c)
    }
    t.equal(c.frames.filter(f => f.event === '__ping__').length, 20, '20 __ping__ over 500 s, none answered')
    t.notOk(c.frames.some(f => f.event === '__disconnect__'))
    t.equal(c.ws.readyState, 1)
  })
})

t.test('outbound contract', async (t) => {
  const Echo = Type.Object({ echo: Type.String() })
  const News = Type.Object({ title: Type.String() })

  async function outboundApp (t: Test, options: Record<string, unknown> = {}) {
    const app = await build(t, options)
    const thrown: unknown[] = []
    app.socket.on('bad_emit', {
      emits: [{ event: 'echo_response', schema: Echo }, { event: 'done' }]
    }, (conn) => {
      for (const payload of [{ echo: 123 }, {}]) {
        try {
          conn.emit('echo_response', payload as any)
          thrown.push(null)
        } catch (err) {
          thrown.push(err)
        }
      }
      conn.emit('done', {})
    })
    app.socket.on('check', { reply: { event: 'checked', schema: Type.Object({ ok: Type.Boolean() }) } }, () => ({ ok: 'yes' }) as any)
    app.socket.on('emit_uncaught', { emits: [{ event: 'echo_response', schema: Echo }] }, async (conn) => {
      conn.emit('echo_response', { echo: 123 } as any)
    })
    app.socket.on('join', { broadcasts: [{ event: 'news', room: 'lobby', schema: News }], reply: { event: 'joined' } }, async (conn) => {
      await conn.join('lobby')
      return {}
    })
    app.socket.on('shout', { broadcasts: [{ event: 'news', room: 'lobby', schema: News }] }, async (conn) => {
      await conn.to('lobby').emit('news', { title: 7 } as any)
    })
    const url = await listen(t, app)
    return { app, url, thrown }
  }

  t.test('conn.emit with a wrong or incomplete payload throws OUTBOUND_VALIDATION_ERROR and sends nothing', async (t) => {
    const { url, thrown } = await outboundApp(t)
    const c = await connected(t, url)
    c.send('bad_emit')
    const first = await c.next()
    t.same(first, { event: 'done', payload: {} }, `nothing was sent for the bad payloads (got ${JSON.stringify(first)})`)
    t.equal(thrown.length, 2)
    t.match(thrown[0], { code: 'OUTBOUND_VALIDATION_ERROR', details: { event: 'echo_response', errors: [{ path: '/echo', keyword: 'type' }] } }, '{echo: 123} for {echo: string} throws')
    t.match(thrown[1], { code: 'OUTBOUND_VALIDATION_ERROR', details: { event: 'echo_response', errors: [{ path: '/echo', keyword: 'required' }] } }, 'a missing required field throws')
  })

  t.test("a handler's reply (or uncaught emit) that breaks its schema: the client gets HANDLER_ERROR with its id", async (t) => {
    const { url } = await outboundApp(t)
    const c = await connected(t, url)
    for (const [event, id] of [['check', 'k1'], ['emit_uncaught', 'k2']]) {
      c.send(event, {}, id)
      const f = await c.next()
      t.equal(f.event, '__error__', `${event}: an __error__ (got ${JSON.stringify(f)})`)
      t.equal(f.id, id)
      t.match(f.payload, { code: 'HANDLER_ERROR', request_id: id, details: {} })
      t.notMatch(JSON.stringify(f), /OUTBOUND|must be/, 'the schema errors stay on the server')
    }
  })

  t.test('broadcasts with a bad payload reject and reach no member', async (t) => {
    const { app, url } = await outboundApp(t)
    const members = [await connected(t, url), await connected(t, url)]
    for (const m of members) {
      m.send('join', {}, 'j')
      await m.next('joined')
    }
    await t.rejects(app.socket.to('lobby').emit('news', { title: 5 }), { code: 'OUTBOUND_VALIDATION_ERROR', details: { event: 'news' } }, 'to(room).emit')
    await t.rejects(app.socket.rooms.broadcast('lobby', 'news', {}), { code: 'OUTBOUND_VALIDATION_ERROR', details: { event: 'news' } }, 'rooms.broadcast')
    await t.rejects(app.socket.emit('news', { title: ['x'] }), { code: 'OUTBOUND_VALIDATION_ERROR' }, 'socket.emit')
    const [firstId] = await app.socket.rooms.members('lobby')
    await t.rejects(app.socket.toConnection(firstId).emit('news', { title: null }), { code: 'OUTBOUND_VALIDATION_ERROR' }, 'toConnection(id).emit')
    members[0].send('shout', {}, 's1')
    const shout = await members[0].next()
    t.match(shout, { event: '__error__', id: 's1', payload: { code: 'HANDLER_ERROR' } }, 'conn.to(room).emit inside a handler: the sender gets HANDLER_ERROR')
    await app.socket.to('lobby').emit('news', { title: 'fine' })
    for (const m of members) t.same(await m.next(), { event: 'news', payload: { title: 'fine' } }, 'members got only the valid broadcast')
  })

  t.test("outboundValidation: 'never' sends the serializer's coerced value", async (t) => {
    const { url, thrown } = await outboundApp(t, { outboundValidation: 'never' })
    const c = await connected(t, url)
    c.send('bad_emit')
    t.same(await c.next(), { event: 'echo_response', payload: { echo: '123' } }, 'coerced by fast-json-stringify, as documented')
    t.equal(thrown[0], null, 'nothing thrown')
  })

  t.test('an invalid outboundValidation fails at register, naming the option', async (t) => {
    const err = await startupError({ outboundValidation: 'sometimes' })
    t.equal(err?.code, 'FST_SOCKETSPEC_INVALID_OPTION')
    t.match(err?.message, /outboundValidation/)
  })
})
