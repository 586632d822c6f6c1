import t from 'tap'
import { FakeClock, clockOption } from './helpers/clock.js'
import { build, client } from './helpers/build.js'
import { MAX_TIMEOUT_MS } from '../lib/clock.js'
import { SessionScheduler, type SessionTimers } from '../lib/session.js'

const START = 1_700_000_000_000

/** Stands for a connection's SessionTimers: records when it was woken, then asks for `next`. */
class Entry {
  dueAt = Infinity
  heapIndex = -1
  woken: number[] = []
  next: number[] = []
  constructor (readonly name: string, readonly scheduler: SessionScheduler, readonly clock: FakeClock, readonly log: string[]) {}
  fire (): void {
    this.woken.push(this.clock.now())
    this.log.push(this.name)
    const at = this.next.shift()
    if (at !== undefined) this.scheduler.set(this as unknown as SessionTimers, at)
  }
}

t.test('SessionScheduler: one clock timer, entries woken in due order, never early', async (t) => {
  const clock = new FakeClock(START)
  const scheduler = new SessionScheduler(clock)
  const log: string[] = []
  const entries = Array.from({ length: 50 }, (_, i) => new Entry(`e${i}`, scheduler, clock, log))
  // due times in a scrambled order
  const due = entries.map((_, i) => START + 10 + ((i * 37) % 50) * 3)
  entries.forEach((e, i) => scheduler.set(e as unknown as SessionTimers, due[i]))
  t.equal(clock.pending, 1, 'one clock timer for every entry')
  t.equal(scheduler.size, 50)
  await clock.tick(200)
  const expected = entries.map((e, i) => [e.name, due[i]] as const).sort((a, b) => a[1] - b[1]).map(([n]) => n)
  t.same(log, expected, 'due order')
  entries.forEach((e, i) => t.same(e.woken, [due[i]], `${e.name} woken once, at its due time`))
  t.equal(clock.pending, 0, 'nothing armed once the heap is empty')
  t.equal(scheduler.size, 0)
})

t.test('SessionScheduler: earlier, later and removed due times; a wake finding nothing due re-arms', async (t) => {
  const clock = new FakeClock(START)
  const scheduler = new SessionScheduler(clock)
  const log: string[] = []
  const [a, b, c] = ['a', 'b', 'c'].map(n => new Entry(n, scheduler, clock, log))
  const set = (e: Entry, at: number): void => scheduler.set(e as unknown as SessionTimers, at)
  set(a, START + 100)
  set(b, START + 200)
  set(c, START + 300)
  set(c, START + 50) // earlier
  set(a, START + 250) // later: the timer armed for 50 stays
  set(b, Infinity) // removed
  t.equal(scheduler.size, 2)
  c.next.push(START + 60) // c asks to be woken again
  await clock.tick(59)
  t.same(log, ['c'])
  await clock.tick(1)
  t.same(log, ['c', 'c'])
  await clock.tick(189)
  t.same(log, ['c', 'c'], 'a is not woken early')
  await clock.tick(1)
  t.same(log, ['c', 'c', 'a'])
  t.same(b.woken, [], 'a removed entry is never woken')
  t.equal(clock.pending, 0)
})

t.test('SessionScheduler: a due time set at or before now waits for the next turn; long delays are chained', async (t) => {
  const clock = new FakeClock(START)
  const scheduler = new SessionScheduler(clock)
  const log: string[] = []
  const a = new Entry('a', scheduler, clock, log)
  a.next.push(START) // in the past once woken
  scheduler.set(a as unknown as SessionTimers, START + 10)
  await clock.tick(10)
  t.same(a.woken, [START + 10, START + 10], 'woken again at once, not twice in one turn of the loop')
  const far = START + 10 + MAX_TIMEOUT_MS * 2 + 5
  scheduler.set(a as unknown as SessionTimers, far)
  await clock.tick(MAX_TIMEOUT_MS)
  await clock.tick(MAX_TIMEOUT_MS)
  t.equal(a.woken.length, 2, 'not before its time')
  t.ok(clock.maxDelay <= MAX_TIMEOUT_MS, 'no delay above Node\'s limit')
  await clock.tick(5)
  t.same(a.woken.at(-1), far)
})

t.test('many connections share one session timer; none is left once they close', async (t) => {
  const clock = new FakeClock()
  const app = await build(t, { ...clockOption(clock), session: { heartbeatInterval: 1, heartbeatTimeout: 0.5, idleTimeout: 60, maxDuration: 3600 } })
  await app.ready()
  const before = clock.pending
  const c = client(t, app)
  const conns = await Promise.all(Array.from({ length: 5 }, async () => await c.connect()))
  t.equal(clock.pending - before, 1, 'one clock timer for five connections\' heartbeat, idle and lifetime deadlines')
  // TestClient answers __ping__ itself: without the pongs the connections would close 4006 here
  await clock.tick(1000)
  await clock.tick(1000)
  await clock.tick(1000)
  for (const conn of conns) t.ok(conn.server.open, 'pinged, answered, still open')
  await c.close()
  t.equal(clock.pending, before, 'the session timer is cleared with the last connection')
})
