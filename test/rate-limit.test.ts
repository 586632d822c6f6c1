import t from 'tap'
import { TokenBucket } from '../lib/rate-limit.js'
import { build, client, sleep } from './helpers/build.js'

const T0 = 1_000_000

t.test('a new bucket is full: capacity takes pass at once, the next waits 1/rate seconds', async (t) => {
  const b = new TokenBucket(2, 3, T0)
  t.equal(b.take(T0), 0)
  t.equal(b.take(T0), 0)
  t.equal(b.take(T0), 0)
  t.equal(b.take(T0), 500, 'empty: one token every 500 ms at rate 2')
  t.equal(b.take(T0), 500, 'a refused take does not consume anything')
})

t.test('refill is proportional to elapsed time and the wait shrinks with it', async (t) => {
  const b = new TokenBucket(2, 3, T0)
  for (let i = 0; i < 3; i++) b.take(T0)
  t.equal(b.take(T0 + 100), 400, '0.2 token refilled: 400 ms left')
  const almost = b.take(T0 + 499)
  t.ok(almost >= 1 && almost <= 2, `just short of a token: ${almost} ms (at least 1, float rounding aside)`)
  t.equal(b.take(T0 + 500), 0, 'a whole token after 500 ms')
  t.equal(b.take(T0 + 500), 500)
  t.equal(b.take(T0 + 1500), 0, 'two tokens after another second')
  t.equal(b.take(T0 + 1500), 0)
  t.equal(b.take(T0 + 1500), 500)
})

t.test('the bucket never holds more than capacity, however long it idles', async (t) => {
  const b = new TokenBucket(10, 2, T0)
  b.take(T0)
  const later = T0 + 3_600_000
  t.equal(b.take(later), 0)
  t.equal(b.take(later), 0)
  t.equal(b.take(later), 100, 'only capacity (2) tokens after an hour')
})

t.test('fractional rates and capacities', async (t) => {
  const slow = new TokenBucket(0.5, 1, T0)
  t.equal(slow.take(T0), 0)
  t.equal(slow.take(T0), 2000, 'rate 0.5/s: 2 s per token')
  t.ok(slow.take(T0 + 1999) >= 1)
  t.equal(slow.take(T0 + 2000), 0)

  const odd = new TokenBucket(3, 1, T0)
  odd.take(T0)
  const wait = odd.take(T0)
  t.equal(wait, 334, 'ceil(1000 / 3)')
  t.equal(odd.take(T0 + wait), 0, 'retrying after exactly retry_after_ms succeeds')

  const half = new TokenBucket(1, 1.5, T0)
  t.equal(half.take(T0), 0)
  t.equal(half.take(T0), 500, '0.5 token left: 500 ms to the next whole one')
})

t.test('a clock going backwards neither adds tokens nor breaks the bucket', async (t) => {
  const b = new TokenBucket(1, 1, T0)
  t.equal(b.take(T0), 0)
  t.equal(b.take(T0 - 10_000), 1000, 'no refill from a past timestamp')
  t.equal(b.take(T0 + 1000), 0, 'refill resumes from the last seen time')
})

t.test('the default start time is now', async (t) => {
  const b = new TokenBucket(1, 1)
  t.equal(b.take(Date.now()), 0)
  t.ok(b.take(Date.now()) > 0)
  t.equal(b.rate, 1)
  t.equal(b.capacity, 1)
})

t.test('over the wire: connection bucket refuses with retry_after_ms and accepts again after it', async (t) => {
  const app = await build(t, { rateLimit: { rate: 20, capacity: 2 } })
  let ran = 0
  app.socket.on('hit', { reply: { event: 'hit_ok' } }, () => { ran++; return {} })
  const conn = await client(t, app).connect()
  await conn.request('hit')
  await conn.request('hit')
  const err = await conn.request('hit').catch(e => e)
  t.equal(err.code, 'RATE_LIMIT_ERROR')
  t.equal(err.details.scope, 'connection')
  t.ok(err.details.retry_after_ms > 0 && err.details.retry_after_ms <= 50, `retry_after_ms ${err.details.retry_after_ms} <= 1000/rate`)
  t.equal(ran, 2, 'a refused frame never reaches the handler')
  await sleep(err.details.retry_after_ms + 5)
  t.same((await conn.request('hit')).event, 'hit_ok', 'accepted again after retry_after_ms')
})

t.test('over the wire: unknown events spend connection tokens; malformed frames are refused before the bucket', async (t) => {
  const app = await build(t, { rateLimit: { rate: 0.001, capacity: 2 } })
  app.socket.on('hit', { reply: { event: 'hit_ok' } }, () => ({}))
  const conn = await client(t, app).connect()
  await conn.sendRaw('{broken')
  t.equal((await conn.receive()).payload.code, 'VALIDATION_ERROR')
  await t.rejects(conn.request('nope'), { code: 'UNKNOWN_EVENT' })
  await conn.request('hit')
  await t.rejects(conn.request('hit'), { code: 'RATE_LIMIT_ERROR' }, 'the unknown event used a token, the bad JSON did not')
})

t.test('over the wire: per-event buckets are per connection and per event', async (t) => {
  const app = await build(t)
  app.socket.on('limited', { rateLimit: { rate: 0.001, capacity: 1 }, reply: { event: 'ok' } }, () => ({}))
  app.socket.on('other', { rateLimit: { rate: 0.001, capacity: 1 }, reply: { event: 'ok' } }, () => ({}))
  app.socket.on('free', { reply: { event: 'ok' } }, () => ({}))
  const tc = client(t, app)
  const a = await tc.connect()
  const b = await tc.connect()
  await a.request('limited')
  const err = await a.request('limited', {}, { id: 'r2' }).catch(e => e)
  t.match(err, { code: 'RATE_LIMIT_ERROR', details: { scope: 'event', event: 'limited' } })
  t.ok(err.details.retry_after_ms > 0)
  await a.request('other')
  await a.request('free')
  await a.request('free')
  await b.request('limited')
  t.pass('another event, an unlimited event and another connection each have their own budget')
  t.equal(app.socket.stats().errors.RATE_LIMIT_ERROR, 1)
})
