import t from 'tap'
import { MAX_TIMEOUT_MS, Timer, systemClock, type Clock, type TimerHandle } from '../lib/clock.js'
import { kClock } from '../lib/symbols.js'
import { FakeClock, clockOption } from './helpers/clock.js'

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
