// Session recovery (SPEC §12) on the memory backend, over real sockets: a
// plain `ws` client speaking the protocol by hand, and the client SDK behind a
// TCP proxy that cuts the connection without a close frame.
import t, { type Test } from 'tap'
import { createSigner } from 'fast-jwt'
import { jwtAuth } from '../../lib/index.js'
import { buildClientTestApp } from '../fixtures/client/app.js'
import type { TestContract } from '../fixtures/client/events.js'
import { client, portOf, StateLog } from '../helpers/client.js'
import { FaultProxy } from '../helpers/fault-proxy.js'
import { waitFor } from '../helpers/rooms.js'
import { listen, open, type WsClient, type Frame } from '../helpers/ws-client.js'

const RECOVERY = { ttl: 30, historySize: 50 }

async function connected (t: Test, url: string, headers: Record<string, string> = {}): Promise<{ ws: WsClient, connect: Frame }> {
  const ws = await open(t, url, { protocols: ['socketspec'], answerPings: true, headers })
  return { ws, connect: await ws.next('__connect__') }
}

let syncs = 0
/** Send `say` frames (no reply), then a request: when it is answered, the broadcasts are out. */
async function say (ws: WsClient, room: string, ...texts: string[]): Promise<void> {
  for (const text of texts) ws.ws.send(JSON.stringify({ event: 'say', payload: { room, text } }))
  await request(ws, 'notes', {}, `sync-${++syncs}`)
}

async function request (ws: WsClient, event: string, payload: unknown, id: string): Promise<Frame> {
  ws.ws.send(JSON.stringify({ event, payload, id }))
  for (;;) {
    const f = await ws.next()
    if (f.id === id) return f
  }
}

t.test('a plain client: __joined__, offsets, drop, __resume__ replays exactly the missed broadcasts, then live ones', async (t) => {
  const app = await buildClientTestApp({ recovery: RECOVERY })
  t.teardown(() => app.close())
  const url = await listen(t, app)
  const a = await connected(t, url)
  t.match(a.connect.payload.resume_token, /^[\w-]{32}$/, '__connect__ carries a resume token')
  t.equal((await request(a.ws, 'join', { room: 'r' }, 'j1')).event, 'joined')
  const joined = a.ws.frames.find(f => f.event === '__joined__')!
  t.match(joined.payload, { room: 'r', offset: 0, epoch: /^[\w-]+$/ })
  const epoch = joined.payload.epoch

  const b = await connected(t, url)
  for (let i = 1; i <= 3; i++) b.ws.ws.send(JSON.stringify({ event: 'say', payload: { room: 'r', text: String(i) } }))
  const got: Frame[] = []
  for (let i = 0; i < 3; i++) got.push(await a.ws.next('said'))
  t.same(got.map(f => [f.payload.text, f.room, f.offset, f.epoch]), [['1', 'r', 1, epoch], ['2', 'r', 2, epoch], ['3', 'r', 3, epoch]], 'top-level room, offset (+1 each), epoch')

  // the connection drops without a close frame; 4 more broadcasts happen meanwhile
  a.ws.ws.terminate()
  await waitFor(() => app.socket.connection(a.connect.payload.connection_id) === undefined, 2000)
  t.ok(await app.socket.rooms.exists('r'), 'b is not in r: the held session keeps it existing')
  for (let i = 4; i <= 7; i++) b.ws.ws.send(JSON.stringify({ event: 'say', payload: { room: 'r', text: String(i) } }))
  await request(b.ws, 'notes', {}, 'sync')

  const c = await connected(t, url)
  c.ws.ws.send(JSON.stringify({ event: '__resume__', id: 'res', payload: { token: a.connect.payload.resume_token, rooms: { r: { offset: 3, epoch } } } }))
  const replay: Frame[] = []
  for (;;) {
    const f = await c.ws.next()
    if (f.event === '__resumed__') {
      t.same(f.payload, { recovered: true, previous_id: a.connect.payload.connection_id, rooms: { r: { recovered: true, missed: 4 } } })
      t.equal(f.id, 'res')
      break
    }
    if (f.event === 'said') replay.push(f)
  }
  t.same(replay.map(f => [f.payload.text, f.offset]), [['4', 4], ['5', 5], ['6', 6], ['7', 7]], 'every missed broadcast, in order, as its original frame')
  t.ok(app.socket.connection(c.connect.payload.connection_id)!.rooms.has('r'), 're-joined')
  await say(b.ws, 'r', '8')
  t.match(await c.ws.next('said'), { payload: { text: '8' }, offset: 8 }, 'live broadcasts follow with no gap')

  // single use
  const d = await connected(t, url)
  d.ws.ws.send(JSON.stringify({ event: '__resume__', payload: { token: a.connect.payload.resume_token, rooms: {} } }))
  t.match((await d.ws.next('__resumed__')).payload, { recovered: false, reason: 'unknown_token', rooms: {} })
})

t.test('__resume__ sent again while one runs: refused at once with already_resuming; one resume per connection', async (t) => {
  const app = await buildClientTestApp({ recovery: RECOVERY })
  t.teardown(() => app.close())
  const url = await listen(t, app)
  const a = await connected(t, url)
  await request(a.ws, 'join', { room: 'r' }, 'j')
  a.ws.ws.terminate()
  await waitFor(() => app.socket.connection(a.connect.payload.connection_id) === undefined, 2000)
  const c = await connected(t, url)
  const resume = JSON.stringify({ event: '__resume__', payload: { token: a.connect.payload.resume_token } })
  for (let i = 0; i < 20; i++) c.ws.ws.send(resume)
  const outcomes: any[] = []
  while (outcomes.length < 20) outcomes.push((await c.ws.next('__resumed__')).payload)
  // those read after the first resume ended find its token spent
  t.ok(outcomes.every((o) => o.recovered === true || o.reason === 'already_resuming' || o.reason === 'unknown_token'), 'the others are refused')
  t.ok(outcomes.indexOf(outcomes.find((o) => o.recovered === true)) > 0 && outcomes[0].reason === 'already_resuming', 'one sent while the first ran is answered already_resuming at once, before it')
  t.equal(outcomes.filter((o) => o.recovered === true).length, 1, 'exactly one resumed')
})

t.test('refusals and partial recovery: overflow, other epoch, a 1000 close, another user', async (t) => {
  const secret = 'recovery-test-secret-of-32-bytes'
  const sign = createSigner({ key: secret, algorithm: 'HS256' })
  const app = await buildClientTestApp({ recovery: { ttl: 30, historySize: 3 }, auth: jwtAuth({ secret, algorithm: 'HS256' }) })
  t.teardown(() => app.close())
  const url = await listen(t, app)
  const as = (user: string): Record<string, string> => ({ authorization: `Bearer ${sign({ sub: user })}` })

  const a = await connected(t, url, as('alice'))
  await request(a.ws, 'join', { room: 'r' }, 'j')
  await request(a.ws, 'join', { room: 'q' }, 'k')
  const b = await connected(t, url, as('bob'))
  a.ws.ws.terminate()
  await waitFor(() => app.socket.connection(a.connect.payload.connection_id) === undefined, 2000)
  await say(b.ws, 'r', '1', '2', '3', '4', '5')

  const other = await connected(t, url, as('mallory'))
  other.ws.ws.send(JSON.stringify({ event: '__resume__', payload: { token: a.connect.payload.resume_token } }))
  t.match((await other.ws.next('__resumed__')).payload, { recovered: false, reason: 'user_mismatch' }, 'another user: refused, and the token is spent')

  // a fresh drop, resumed by its own user after the room overflowed
  const a2 = await connected(t, url, as('alice'))
  await request(a2.ws, 'join', { room: 'r' }, 'j')
  await request(a2.ws, 'join', { room: 'q' }, 'k')
  const at = a2.ws.frames.filter(f => f.event === '__joined__').map(f => f.payload)
  a2.ws.ws.terminate()
  await waitFor(() => app.socket.connection(a2.connect.payload.connection_id) === undefined, 2000)
  await say(b.ws, 'r', 'x1', 'x2', 'x3', 'x4')
  await say(b.ws, 'q', 'q1')
  const a3 = await connected(t, url, as('alice'))
  const rooms = Object.fromEntries(at.map((p: any) => [p.room, { offset: p.offset, epoch: p.epoch }]))
  a3.ws.ws.send(JSON.stringify({ event: '__resume__', payload: { token: a2.connect.payload.resume_token, rooms } }))
  const resumed = await a3.ws.next('__resumed__')
  t.same(resumed.payload, { recovered: false, previous_id: a2.connect.payload.connection_id, rooms: { r: { recovered: false, missed: 0 }, q: { recovered: true, missed: 1 } } }, 'r overflowed (4 missed, 3 kept): not recovered; q: recovered')
  t.same(a3.ws.frames.filter(f => f.event === 'said').map(f => f.payload.text), ['q1'])
  t.ok(app.socket.connection(a3.connect.payload.connection_id)!.rooms.has('r'), 'an unrecovered room is still re-joined')

  // an epoch the server never gave
  a3.ws.ws.terminate()
  await waitFor(() => app.socket.connection(a3.connect.payload.connection_id) === undefined, 2000)
  const a4 = await connected(t, url, as('alice'))
  a4.ws.ws.send(JSON.stringify({ event: '__resume__', payload: { token: a3.connect.payload.resume_token, rooms: { q: { offset: 1, epoch: 'not-the-epoch' } } } }))
  t.match((await a4.ws.next('__resumed__')).payload, { recovered: false, rooms: { q: { recovered: false } } })

  // closed with 1000 by the client: nothing to resume
  a4.ws.ws.close(1000)
  await a4.ws.closed
  await waitFor(() => app.socket.connection(a4.connect.payload.connection_id) === undefined, 2000)
  const a5 = await connected(t, url, as('alice'))
  a5.ws.ws.send(JSON.stringify({ event: '__resume__', payload: { token: a4.connect.payload.resume_token } }))
  t.match((await a5.ws.next('__resumed__')).payload, { recovered: false, reason: 'unknown_token' })

  // a session dropped then expired (ttl) can't be resumed either: covered by the unit test on a fake clock
})

t.test('the client SDK resumes by itself: sequence-numbered broadcasts exactly once, in order, across cuts', async (t) => {
  const app = await buildClientTestApp({ recovery: RECOVERY, session: { heartbeatInterval: 0.3, heartbeatTimeout: 5 } })
  t.teardown(() => app.close())
  await listen(t, app)
  const proxy = await FaultProxy.start(t, portOf(app))
  const sub = client<TestContract>(t, `ws://127.0.0.1:${proxy.port}/ws`, { reconnect: { minDelay: 30, maxDelay: 100 } })
  const states = new StateLog(sub)
  const seen: string[] = []
  sub.on('said', ({ text }) => seen.push(text))
  await sub.request('join', { room: 'seq' })
  const pub = client<TestContract>(t, `ws://127.0.0.1:${portOf(app)}/ws`)
  await pub.ready

  const N = 40
  for (let i = 1; i <= N; i++) {
    pub.send('say', { room: 'seq', text: String(i) })
    if (i % 10 === 5) {
      await pub.request('notes', {}) // the broadcasts so far are out
      proxy.cut()
      await states.next('reconnecting')
    }
    if (i % 10 === 8) {
      const opened = await states.next('open')
      t.equal(opened.info.recovered, true, `resumed after cut at ${i - 3}`)
    }
  }
  await waitFor(() => seen.length >= N, 5000).catch(() => {})
  t.same(seen, Array.from({ length: N }, (_, i) => String(i + 1)), 'every number exactly once, in order')
})

t.test('TestClient: drop() and connect({ resume }) in process; sessions expire after ttl (fake clock)', async (t) => {
  const { TestClient } = await import('../../lib/testing.js')
  const { FakeClock, clockOption } = await import('../helpers/clock.js')
  const clock = new FakeClock()
  const app = await buildClientTestApp({ recovery: { ttl: 10, historySize: 10 }, ...clockOption(clock) })
  t.teardown(() => app.close())
  const tc = new TestClient<TestContract>(app)
  t.teardown(() => tc.close())
  const a = await tc.connect()
  const b = await tc.connect()
  await a.request('join', { room: 'r' })
  await b.send('say', { room: 'r', text: 'one' })
  t.match(await a.receiveEvent('said'), { payload: { text: 'one' }, offset: 1 })
  t.same(a.positions.get('r')?.offset, 1)
  t.match(await a.drop(), { code: 1006 })
  await b.send('say', { room: 'r', text: 'two' })
  await b.request('notes', {})
  const a2 = await tc.connect({ resume: a })
  t.same(a2.resumed, { recovered: true, previous_id: a.id, rooms: { r: { recovered: true, missed: 1 } } })
  t.match(await a2.receiveEvent('said'), { payload: { text: 'two' }, offset: 2 }, 'the replayed broadcast waits in the inbox')
  t.equal(app.socket.onResume(() => {}), app.socket, 'onResume is chainable')

  // a session left for longer than ttl is gone
  await a2.drop()
  await clock.tick(10_001)
  const a3 = await tc.connect({ resume: a2 })
  t.match(a3.resumed, { recovered: false, reason: 'unknown_token' })
  t.notOk(await app.socket.rooms.exists('r'), 'the expired session no longer holds the room')
})

t.test('recovery needs a backend with a history (memory, redis); onResume hooks run', async (t) => {
  const { memoryBackend } = await import('../../lib/index.js')
  // a third-party adapter without history(): refused, naming the option
  const custom = Object.assign(Object.create(memoryBackend()), { name: 'custom' })
  await t.rejects(buildClientTestApp({ recovery: {}, backend: custom }), { code: 'FST_SOCKETSPEC_INVALID_OPTION', message: /recovery/ })
  await t.rejects(buildClientTestApp({ recovery: { ttl: 0 } as never }), { code: 'FST_SOCKETSPEC_INVALID_OPTION', message: /recovery\.ttl/ })
  const app = await buildClientTestApp({ recovery: true as never })
  t.teardown(() => app.close())
  const seen: unknown[] = []
  app.socket.onResume((conn, info) => { seen.push({ id: conn.id, ...info }) })
  const { TestClient } = await import('../../lib/testing.js')
  const tc = new TestClient(app)
  t.teardown(() => tc.close())
  const a = await tc.connect()
  await a.request('join', { room: 'h' })
  await a.drop()
  const a2 = await tc.connect({ resume: a })
  await waitFor(() => seen.length === 1, 2000)
  t.same(seen, [{ id: a2.id, previousId: a.id, recovered: true }])
})
