// Broadcast workload: `members` connections join one room; a separate sender
// connection asks the server to broadcast. Counts deliveries and, per broadcast,
// the time until every member had it ("all delivered").
import { Histogram } from '../lib/stats.mjs'
import { bcastSeq, clientFrame, connect, connectMany, padded, protocol, sendJoin } from '../lib/wire.mjs'
import { measureWindow } from './echo.mjs'
import { noHooks, waitUntil } from './hooks.mjs'

const RING = 1 << 12
const ROOM = 'bench'

/** Connect `count` members spread over `ports` and join them to the room. */
export async function joinMembers ({ peer, ports, count, tokens = null, concurrency = 100, timeoutMs = 120_000, localAddresses = null }) {
  const proto = protocol(peer)
  const deadline = performance.now() + timeoutMs
  const perPort = ports.map((_, i) => Math.floor(count / ports.length) + (i < count % ports.length ? 1 : 0))
  const members = []
  for (let p = 0; p < ports.length; p++) {
    if (perPort[p] === 0) continue
    const conns = await connectMany(peer, ports[p], perPort[p], { tokens, concurrency, deadline, localAddresses })
    members.push(...conns)
  }
  let joined = 0
  for (let i = 0; i < members.length; i++) {
    sendJoin(members[i], clientFrame(proto.join(ROOM, i)), () => { joined++ })
    // Bound the burst of joins in flight like the handshakes.
    if (i % concurrency === concurrency - 1) await waitUntil(() => joined > i - concurrency, Math.max(0, deadline - performance.now()))
  }
  if (!(await waitUntil(() => joined === members.length, Math.max(0, deadline - performance.now())))) {
    const errs = members.find((c) => c.lastError !== null)?.lastError
    for (const c of members) c.terminate()
    throw new Error(`only ${joined}/${members.length} members joined${errs ? `: ${errs}` : ''}`)
  }
  return members
}

/**
 * Closed loop with `inflight` broadcasts outstanding (mode 'closed'), or a
 * fixed schedule of `rate` broadcasts/s (mode 'open', latency per delivery
 * from the scheduled time). The sender connects to `senderPort`.
 */
export async function broadcast ({ peer, ports, senderPort = ports[0], members: count = 1000, mode = 'closed', inflight = 2, rate = 100, dataBytes = 64, warmupMs = 1000, windowMs = 3000, maxBroadcasts = Infinity, tokens = null }, hooks = noHooks) {
  const proto = protocol(peer)
  const members = await joinMembers({ peer, ports, count, tokens })
  const sender = await connect(peer, senderPort, { token: tokens === null ? null : tokens[0] })
  sender.onMessage = (buf) => sender.other(buf)
  const sentAt = new Float64Array(RING)
  const got = new Uint32Array(RING)
  const allHist = new Histogram()
  const deliveryHist = new Histogram()
  const expected = members.length

  let deliveries = 0
  let completed = 0
  let sent = 0
  let running = true
  let lastProgress = performance.now()
  let unmatched = 0

  function sendOne () {
    const s = sent % RING
    got[s] = 0
    sentAt[s] = mode === 'open' ? t0 + sent * (1000 / rate) : performance.now()
    sender.send(clientFrame(proto.broadcast(ROOM, padded(sent, dataBytes))))
    sent++
  }
  for (const conn of members) {
    conn.onMessage = (buf) => {
      const seq = bcastSeq(buf)
      if (seq < 0) {
        unmatched++
        conn.other(buf)
        return
      }
      const s = seq % RING
      deliveries++
      const now = performance.now()
      if (mode === 'open') deliveryHist.recordMs(now - sentAt[s])
      if (++got[s] === expected) {
        completed++
        lastProgress = now
        allHist.recordMs(now - sentAt[s])
        if (mode === 'closed' && running && sent < maxBroadcasts) sendOne()
      }
    }
  }

  const t0 = performance.now()
  let timer = null
  if (mode === 'closed') {
    for (let k = 0; k < inflight && sent < maxBroadcasts; k++) sendOne()
  } else {
    const pump = () => {
      const due = Math.min(Math.floor((performance.now() - t0) * rate / 1000) + 1, maxBroadcasts)
      if (!running) return
      while (sent < due && sent - completed < RING - 1) sendOne()
      if (sent < maxBroadcasts) timer = setTimeout(pump, 1)
    }
    pump()
  }

  const stalled = () => performance.now() - lastProgress > 5000
  const main = mode === 'open' ? deliveryHist : allHist
  const hist = {
    reset () {
      allHist.reset()
      deliveryHist.reset()
    },
    summary: () => main.summary()
  }
  const result = await measureWindow({
    warmupMs,
    windowMs,
    hooks,
    hist,
    counter: () => deliveries,
    stopWhen: () => stalled() || (sent >= maxBroadcasts && completed >= sent)
  })
  running = false
  clearTimeout(timer)
  await waitUntil(() => completed >= sent, 2000)
  result.allDelivered = allHist.summary()
  result.broadcasts = completed
  result.deliveries = deliveries
  result.members = expected
  result.stalled = stalled()
  result.lost = sent - completed
  result.unmatched = unmatched
  result.errors = members.reduce((n, c) => n + c.errors, sender.errors)
  result.lastError = sender.lastError ?? members.find((c) => c.lastError !== null)?.lastError ?? null
  sender.terminate()
  for (const c of members) c.terminate()
  return result
}
