// The client SDK's reconnect policy, queue and fault handling (SPEC §11), over
// real sockets: a server process killed and restarted, a TCP proxy that cuts,
// delays and drops, and a scripted `ws` server for close codes on demand.
import t from 'tap'
import { createSigner } from 'fast-jwt'
import { connect, SocketError } from '../../lib/client/index.js'
import { kClientClock } from '../../lib/client/core.js'
import { jwtAuth } from '../../lib/index.js'
import { buildClientTestApp } from '../fixtures/client/app.js'
import type { TestContract } from '../fixtures/client/events.js'
import { client, portOf, scriptedServer, sendConnect, serverProcess, StateLog } from '../helpers/client.js'
import { FaultProxy } from '../helpers/fault-proxy.js'
import { freePort } from '../helpers/redis.js'
import { waitFor } from '../helpers/rooms.js'
import { listen } from '../helpers/ws-client.js'

const FAST = { minDelay: 20, maxDelay: 200, factor: 2, jitter: 0.5 }

t.test('a server process killed and restarted on the same port: reconnect, new id, queued frames in order', async (t) => {
  const server = await serverProcess(t)
  const c = client<TestContract>(t, server.url, { reconnect: FAST })
  const states = new StateLog(c)
  await c.ready
  const firstId = c.connectionId
  c.send('note', { text: 'before' })
  t.same(await c.request('notes', {}), { texts: ['before'] })

  const slow = c.request('slow', { ms: 5000 }).catch((e: unknown) => e)
  await server.kill()
  const down = await states.next('reconnecting')
  t.equal(down.info.code, 1006, 'a killed server: 1006, no close frame')
  t.equal(down.info.attempt, 1)
  t.match(await slow, { code: 'DISCONNECTED' }, 'a request in flight rejects with DISCONNECTED')

  // sent while the server is down: queued, then delivered in order
  for (let i = 0; i < 5; i++) c.send('note', { text: `queued ${i}` })
  // (its timeout covers the restart of a process on a loaded machine: what is checked is the order)
  const answer = c.request('notes', {}, { timeout: 60_000 })
  await server.start()
  const up = await states.next('open', 60_000)
  t.not(c.connectionId, firstId, 'a new connection id')
  t.equal(up.info.connectionId, c.connectionId)
  t.same(await answer, { texts: ['queued 0', 'queued 1', 'queued 2', 'queued 3', 'queued 4'] }, 'the new process got the queued frames, in order, before the queued request')
  t.equal(c.state, 'open')
  t.same(states.states.filter((s, i, a) => s !== a[i - 1]).slice(0, 3), ['open', 'reconnecting', 'open'])
})

t.test('no reconnect after close(), a server 1000, or 1008', async (t) => {
  const app = await buildClientTestApp()
  t.teardown(() => app.close())
  const url = await listen(t, app)

  const a = connect<TestContract>(url, { reconnect: FAST })
  const aStates = new StateLog(a)
  await a.ready
  const pending = a.request('slow', { ms: 2000 })
  a.close()
  await t.rejects(pending, { code: 'DISCONNECTED' })
  t.same(aStates.states, ['open', 'closed'])
  t.throws(() => a.send('note', { text: 'x' }), { code: 'DISCONNECTED' }, 'send after close() throws')
  await t.rejects(a.request('notes', {}), { code: 'DISCONNECTED' })

  const b = client<TestContract>(t, url, { reconnect: FAST })
  const bStates = new StateLog(b)
  await b.ready
  app.socket.connection(b.connectionId!)!.disconnect('bye')
  const closed = await bStates.next('closed')
  t.match(closed.info, { code: 1000, reason: 'bye' })
  await new Promise(resolve => setTimeout(resolve, 300))
  t.same(bStates.states, ['open', 'closed'], 'still closed after several backoff periods')

  const scripted = await scriptedServer(t, (ws) => { sendConnect(ws); ws.close(1008, 'policy') })
  const c = client(t, scripted.url, { reconnect: FAST })
  const cStates = new StateLog(c)
  t.match((await cStates.next('closed')).info, { code: 1008 })
  await new Promise(resolve => setTimeout(resolve, 300))
  t.equal(scripted.connections, 1, '1008: no second attempt')
})

t.test('1001 waits at least retry_after_ms of __server_shutdown__', async (t) => {
  const opened: number[] = []
  const scripted = await scriptedServer(t, (ws, n) => {
    opened.push(Date.now())
    sendConnect(ws)
    if (n === 1) {
      ws.send(JSON.stringify({ event: '__server_shutdown__', payload: { retry_after_ms: 400 } }))
      ws.close(1001, 'server_shutdown')
    }
  })
  const c = client(t, scripted.url, { reconnect: FAST })
  const states = new StateLog(c)
  const r = await states.next('reconnecting')
  t.match(r.info, { code: 1001, attempt: 1 })
  t.ok(r.info.delay! >= 400, `delay ${r.info.delay} ≥ retry_after_ms`)
  await states.next('open', 5000)
  t.ok(opened[1] - opened[0] >= 390, `reconnected ${opened[1] - opened[0]} ms later`)

  // a real app's close() sends __server_shutdown__ and 1001
  const app = await buildClientTestApp({ shutdownTimeout: 0.2 })
  const url = await listen(t, app)
  const d = client<TestContract>(t, url, { reconnect: FAST })
  const dStates = new StateLog(d)
  await d.ready
  await app.close()
  const shut = await dStates.next('reconnecting')
  t.match(shut.info, { code: 1001 })
  t.ok(shut.info.delay! >= 1000, 'the app says 1000 ms at least')
})

t.test('auth: 4001 retries with a token function, a second 4001 in a row stops; 4002 reconnects only with a function', async (t) => {
  const secret = 'reconnect-test-secret-32-bytes!!'
  const sign = createSigner({ key: secret, algorithm: 'HS256' })
  const app = await buildClientTestApp({ auth: jwtAuth({ secret, algorithm: 'HS256' }) })
  t.teardown(() => app.close())
  const url = await listen(t, app)

  let calls = 0
  const bad = client(t, url, { reconnect: FAST, token: () => { calls++; return 'bad' } })
  const badStates = new StateLog(bad)
  const closed = await badStates.next('closed')
  t.same(badStates.states, ['reconnecting', 'closed'])
  t.equal(calls, 2, 'the function was called again once')
  t.match(closed.info, { code: 4001, error: { code: 'AUTH_ERROR' } })
  await t.rejects(bad.ready, { code: 'AUTH_ERROR' })

  let n = 0
  const good = client<TestContract>(t, url, { reconnect: FAST, token: () => ++n === 1 ? 'bad' : sign({ sub: 'bob' }) })
  await good.ready
  t.equal((await good.request('whoami', {})).userId, 'bob', 'a 4001 then a good token: connected')

  const expiring = await scriptedServer(t, (ws, k) => { sendConnect(ws); if (k === 1) ws.close(4002, 'auth_expired') })
  const fn = client(t, expiring.url, { reconnect: FAST, token: async () => 't' })
  const fnStates = new StateLog(fn)
  await fnStates.next('reconnecting')
  await fnStates.next('open')
  t.same(fnStates.states, ['open', 'reconnecting', 'open'], '4002 with a token function: reconnect')
  const fixed = await scriptedServer(t, (ws) => { sendConnect(ws); ws.close(4002, 'auth_expired') })
  const st = client(t, fixed.url, { reconnect: FAST, token: 't' })
  const stStates = new StateLog(st)
  await stStates.next('closed')
  t.same(stStates.states, ['open', 'closed'], '4002 with a fixed token: closed')
})

t.test('the reconnect table: which close codes reconnect', async (t) => {
  const reconnects = [1001, 1006, 1011, 1012, 1013, 4004, 4006, 4009]
  for (const code of [...reconnects, 1000, 1008]) {
    const scripted = await scriptedServer(t, (ws, n) => {
      sendConnect(ws)
      if (n === 1) {
        if (code === 1006) ws.terminate()
        else ws.close(code)
      }
    })
    const c = client(t, scripted.url, { reconnect: FAST })
    const states = new StateLog(c)
    const next = await Promise.race([states.next('reconnecting', 3000), states.next('closed', 3000)])
    t.equal(next.state, reconnects.includes(code) ? 'reconnecting' : 'closed', `${code} → ${next.state}`)
    t.equal(next.info.code, code)
    c.close()
  }
})

t.test('4005 (idle) does not reconnect by itself; the next send() does', async (t) => {
  const got: string[] = []
  const scripted = await scriptedServer(t, (ws, n) => {
    sendConnect(ws)
    ws.on('message', (m) => got.push(`${n}:${String(m)}`))
    if (n === 1) ws.close(4005, 'idle_timeout')
  })
  const c = client(t, scripted.url, { reconnect: FAST })
  const states = new StateLog(c)
  await states.next('closed')
  await new Promise(resolve => setTimeout(resolve, 200))
  t.equal(scripted.connections, 1, 'no reconnect by itself')
  c.send('hello', { n: 1 })
  await states.next('open', 5000)
  await waitFor(() => got.length > 0, 2000)
  t.same(got, ['2:{"event":"hello","payload":{"n":1}}'], 'the send went out on the new connection')
  t.same(states.states, ['open', 'closed', 'connecting', 'open'])
})

t.test('the queue is bounded: QUEUE_FULL beyond maxQueue', async (t) => {
  const port = await freePort() // nobody listens: every attempt fails
  const c = client(t, `ws://127.0.0.1:${port}/ws`, { reconnect: FAST, maxQueue: 3 })
  c.send('a')
  c.send('b')
  const r = c.request('c', {})
  const full = (() => { try { c.send('d') } catch (err) { return err } })()
  t.ok(full instanceof SocketError, 'a SocketError')
  t.match(full, { code: 'QUEUE_FULL', details: { maxQueue: 3 } })
  await t.rejects(c.request('e', {}), { code: 'QUEUE_FULL' })
  c.close()
  await t.rejects(r, { code: 'DISCONNECTED' }, 'queued requests reject when the client closes')
})

t.test('backoff: exponential with jitter, capped, maxAttempts, reset after a stable connection', async (t) => {
  const port = await freePort()
  const c = client(t, `ws://127.0.0.1:${port}/ws`, { reconnect: { minDelay: 10, maxDelay: 40, factor: 2, jitter: 0.5, maxAttempts: 5 } })
  const states = new StateLog(c)
  await states.next('closed', 5000)
  const delays = states.entries.filter(e => e.state === 'reconnecting').map(e => e.info)
  t.same(delays.map(d => d.attempt), [1, 2, 3, 4, 5])
  const bases = [10, 20, 40, 40, 40]
  delays.forEach((d, i) => t.ok(d.delay! >= bases[i] * 0.5 && d.delay! <= bases[i] * 1.5, `attempt ${i + 1}: ${d.delay} ms within ${bases[i]} ± 50 %`))
  t.match(states.entries.at(-1)!.info, { attempt: 5 })

  // a connection that lasted 10 s (on the client's clock) resets the counter
  let offset = 0
  const clock = { now: () => Date.now() + offset, setTimeout: (fn: () => void, ms: number) => setTimeout(fn, ms), clearTimeout: (h: unknown) => clearTimeout(h as NodeJS.Timeout) }
  const scripted = await scriptedServer(t, (ws) => { sendConnect(ws); if (offset === 0) setTimeout(() => ws.close(1012), 10) })
  const d = client(t, scripted.url, { reconnect: FAST, [kClientClock]: clock } as never)
  const dStates = new StateLog(d)
  const first = await dStates.next('reconnecting')
  t.equal(first.info.attempt, 1)
  await dStates.next('open', 5000)
  offset = 10_000
  for (const ws of scripted.wss.clients) ws.close(1012)
  const again = await dStates.next('reconnecting', 5000)
  t.equal(again.info.attempt, 1, 'counted from 1 again')
})

t.test('contract: a different server hash is reported once as stale', async (t) => {
  const scripted = await scriptedServer(t, (ws, n) => { sendConnect(ws, { contract: 'server-hash' }); if (n === 1) ws.close(1012) })
  const stale = client(t, scripted.url, { reconnect: FAST, contract: 'generated-hash' })
  const states = new StateLog(stale)
  await states.next('reconnecting')
  await states.next('open')
  const opens = states.entries.filter(e => e.state === 'open')
  t.equal(opens[0].info.contract, 'stale')
  t.equal(opens[1].info.contract, undefined, 'once')

  const fresh = client(t, scripted.url, { contract: 'server-hash' })
  const freshStates = new StateLog(fresh)
  await fresh.ready
  t.equal(freshStates.entries[0].info.contract, undefined)

  // the real server's hash: a client generated from the same app is not stale
  const app = await buildClientTestApp()
  t.teardown(() => app.close())
  const url = await listen(t, app)
  const probe = client(t, url, { onFrame: (dir, text) => { if (dir === 'in' && text.includes('__connect__')) hash = JSON.parse(text).payload.contract } })
  let hash = ''
  await probe.ready
  t.match(hash, /^[A-Za-z0-9_-]{22}$/)
  const same = client(t, url, { contract: hash })
  const sameStates = new StateLog(same)
  await same.ready
  t.equal(sameStates.entries[0].info.contract, undefined)
})

t.test('faults through a TCP proxy: cut without a close frame, delay, drop; the client recovers every time', async (t) => {
  const app = await buildClientTestApp({ session: { heartbeatInterval: 0.2, heartbeatTimeout: 5 } })
  t.teardown(() => app.close())
  await listen(t, app)
  const proxy = await FaultProxy.start(t, portOf(app))
  const c = client<TestContract>(t, `ws://127.0.0.1:${proxy.port}/ws`, { reconnect: FAST })
  const states = new StateLog(c)
  await c.ready

  for (let i = 0; i < 5; i++) {
    proxy.cut()
    t.equal((await states.next('reconnecting')).info.code, 1006, `cut ${i + 1}: 1006`)
    await states.next('open')
    t.same(await c.request('add', { a: i, b: 1 }), { sum: i + 1 }, `cut ${i + 1}: requests work again`)
  }

  proxy.delay(150)
  const t0 = Date.now()
  t.same(await c.request('add', { a: 2, b: 2 }), { sum: 4 })
  t.ok(Date.now() - t0 >= 280, 'delayed both ways, still answered')
  proxy.delay(0)

  // packets dropped, sockets up: only the missing heartbeat tells (1.5 × 0.2 s + 1 s)
  const id = c.connectionId
  proxy.blackhole(true)
  const dead = await states.next('reconnecting')
  t.match(dead.info, { code: 1006, reason: 'no frame from the server in time' })
  proxy.blackhole(false)
  await states.next('open')
  t.not(c.connectionId, id)
  t.same(await c.request('add', { a: 40, b: 2 }), { sum: 42 }, 'after the drop: recovered')
})

t.test('info.error names only an error that closes: an old UNKNOWN_EVENT is not the cause of a later drop', async (t) => {
  const scripted = await scriptedServer(t, (ws, n) => {
    sendConnect(ws)
    if (n === 1) {
      ws.send(JSON.stringify({ event: '__error__', payload: { code: 'UNKNOWN_EVENT', message: 'Unknown event', request_id: 'x', details: {} } }))
      setTimeout(() => ws.terminate(), 20)
    }
    if (n === 2) {
      ws.send(JSON.stringify({ event: '__error__', payload: { code: 'SESSION_EXPIRED', message: 'Session expired', request_id: 'y', details: {} } }))
      ws.close(4004, 'session_expired')
    }
  })
  const c = client(t, scripted.url, { reconnect: FAST })
  const states = new StateLog(c)
  const errors: string[] = []
  c.onError((e) => errors.push(e.code))
  const first = await states.next('reconnecting')
  t.equal(first.info.error, undefined, 'UNKNOWN_EVENT went to onError, not to the drop')
  const second = await states.next('reconnecting')
  t.match(second.info, { code: 4004, error: { code: 'SESSION_EXPIRED' } })
  t.same(errors, ['UNKNOWN_EVENT', 'SESSION_EXPIRED'])
})

t.test('4005: a send from the closed listener reconnects', async (t) => {
  const scripted = await scriptedServer(t, (ws, n) => { sendConnect(ws); if (n === 1) ws.close(4005, 'idle_timeout') })
  const c = client(t, scripted.url, { reconnect: FAST })
  const states = new StateLog(c)
  const off = c.onState((state) => { if (state === 'closed') { off(); c.send('wake') } })
  await states.next('closed')
  await states.next('open')
  t.equal(scripted.connections, 2)
})
