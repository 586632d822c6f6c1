import t from 'tap'
import { MemoryHistory, positionedFrame } from '../lib/history.js'
import { Recovery } from '../lib/recovery.js'
import { FakeClock } from './helpers/clock.js'

t.test('positionedFrame splices room, offset and epoch at the top level', async (t) => {
  const f = positionedFrame('{"event":"said","payload":{"a":1}}', 'r"1', 7, 'E')
  t.same(JSON.parse(f), { event: 'said', payload: { a: 1 }, room: 'r"1', offset: 7, epoch: 'E' })
})

t.test('MemoryHistory: offsets +1, a ring of historySize, since() and its refusals, sweep', async (t) => {
  const clock = new FakeClock(0)
  const h = new MemoryHistory({ ttl: 10, historySize: 3 }, clock)
  const start = h.position('r')
  t.equal(start.offset, 0)
  t.match(start.epoch, /^[\w-]{8}$/)
  t.same(h.since('r', start), [], 'nothing missed yet')
  t.same(h.since('never', { offset: 0, epoch: 'x' }), [], 'a room without history, from 0')
  t.equal(h.since('never', { offset: 2, epoch: 'x' }), null, 'a room without history cannot replay offset 2')
  for (let i = 1; i <= 5; i++) {
    const r = h.record('r', `{"event":"e","payload":${i}}`)
    t.equal(r.offset, i)
    t.equal(r.epoch, start.epoch)
  }
  const text = (frames: string[] | null): unknown => frames?.map(f => JSON.parse(f).payload)
  t.same(text(h.since('r', { offset: 2, epoch: start.epoch })), [3, 4, 5], 'exactly the last 3')
  t.same(text(h.since('r', { offset: 4, epoch: start.epoch })), [5])
  t.equal(h.since('r', { offset: 1, epoch: start.epoch }), null, 'overflowed: 4 missed, 3 kept')
  t.equal(h.since('r', { offset: 4, epoch: 'other' }), null, 'another epoch')
  t.equal(h.since('r', { offset: 9, epoch: start.epoch }), null, 'ahead of the room')
  t.equal(h.since('r', { offset: -1, epoch: start.epoch }), null)

  await clock.tick(11_000)
  t.equal(h.sweep(() => true), 0, 'in use: kept')
  t.equal(h.sweep(() => false), 1, 'silent for ttl and unused: dropped')
  t.equal(h.size, 0)
  t.not(h.position('r').epoch, start.epoch, 'a new epoch after the history was lost')
})

t.test('Recovery: sessions are single use, expire after ttl and hold their rooms meanwhile', async (t) => {
  const clock = new FakeClock(0)
  const r = new Recovery({ ttl: 5, historySize: 10 }, clock)
  r.start(() => false)
  t.teardown(() => r.stop())
  t.ok(r.resumable(1006, false))
  t.notOk(r.resumable(1000, false), 'a client 1000 close')
  t.ok(r.resumable(1001, true), 'a server shutdown')
  for (const code of [1000, 1008, 4001, 4002, 4004, 4005]) t.notOk(r.resumable(code, true), `${code} is on purpose`)
  const token = r.newToken()
  t.match(token, /^[\w-]{32}$/)
  r.save(token, 'p', null, ['a', 'b'])
  r.save('t2', 'q', null, ['a'])
  t.equal(r.sessions, 2)
  t.same([...r.held()].sort(), ['a', 'b'])
  t.match(await r.take(token), { previousId: 'p', userId: null, rooms: new Map([['a', { offset: 0 }], ['b', { offset: 0 }]]) })
  t.equal(await r.take(token), null, 'single use')
  t.ok(r.holds('a'), 'still held by the other session')
  t.notOk(r.holds('b'))
  await clock.tick(5_001)
  t.equal(r.sessions, 0, 'expired')
  t.notOk(r.holds('a'))
})

t.test('admit: at most 32 resumes in flight, FIFO, a freed slot handed on in a later turn of the event loop', async (t) => {
  const r = new Recovery({ ttl: 5, historySize: 10 }, new FakeClock())
  const first = await Promise.all(Array.from({ length: 32 }, () => r.admit()))
  const order: number[] = []
  const waiting = Array.from({ length: 3 }, (_, i) => r.admit().then((release) => { order.push(i); return release }))
  await new Promise((resolve) => setImmediate(resolve))
  t.same(order, [], 'the 33rd waits while 32 are in flight')
  first[0]()
  first[0]()
  t.same(order, [], 'not in the same turn (and a second release of the same slot frees nothing more)')
  await new Promise((resolve) => setImmediate(resolve))
  await new Promise((resolve) => setImmediate(resolve))
  t.same(order, [0], 'the first waiter got the freed slot, and only it')
  first[1]()
  first[2]()
  const released = await Promise.all(waiting)
  t.same(order, [0, 1, 2], 'in arrival order')
  for (const release of [...released, ...first.slice(3)]) release()
  const again = await Promise.all(Array.from({ length: 32 }, () => r.admit()))
  t.equal(again.length, 32, 'every slot is free again')
})
