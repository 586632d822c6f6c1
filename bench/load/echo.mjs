// Echo workloads: closed loop (N connections × K in flight) and open loop
// (fixed send schedule; latency counted from the scheduled send time, so a
// stalled server cannot hide its queueing: no coordinated omission).
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { Histogram } from '../lib/stats.mjs'
import { clientFrame, connectMany, echoSeq, padded, protocol } from '../lib/wire.mjs'
import { noHooks, sleep, waitUntil } from './hooks.mjs'

/**
 * Closed loop: every connection keeps `inflight` echoes outstanding and sends the
 * same pre-built frame again as soon as its reply arrives.
 */
export async function closedLoop ({ peer, port, connections = 50, inflight = 16, payloadBytes = 64, warmupMs = 1000, windowMs = 3000, maxMessages = Infinity, tokens = null }, hooks = noHooks) {
  const proto = protocol(peer)
  const slots = connections * inflight
  const frames = new Array(slots)
  for (let s = 0; s < slots; s++) frames[s] = clientFrame(proto.echo(padded(s, payloadBytes), s))
  const sentAt = new Float64Array(slots)
  const hist = new Histogram()
  const conns = await connectMany(peer, port, connections, { tokens, deadline: performance.now() + 30_000 })

  let running = true
  let completed = 0
  let outstanding = 0
  let unmatched = 0
  for (let c = 0; c < connections; c++) {
    const conn = conns[c]
    conn.onMessage = (buf) => {
      const s = echoSeq(buf)
      if (s < 0 || s >= slots) {
        unmatched++
        conn.other(buf)
        return
      }
      const now = performance.now()
      hist.recordMs(now - sentAt[s])
      completed++
      if (running && completed < maxMessages) {
        sentAt[s] = now
        conn.send(frames[s])
      } else {
        outstanding--
      }
    }
  }
  const t0 = performance.now()
  for (let c = 0; c < connections; c++) {
    for (let k = 0; k < inflight; k++) {
      const s = c * inflight + k
      sentAt[s] = t0
      conns[c].send(frames[s])
    }
  }
  outstanding = slots

  const result = await measureWindow({ warmupMs, windowMs, hooks, hist, counter: () => completed, stopWhen: () => completed >= maxMessages })
  running = false
  await waitUntil(() => outstanding <= 0, 2000)
  result.errors = conns.reduce((n, c) => n + c.errors, 0)
  result.lastError = conns.find((c) => c.lastError !== null)?.lastError ?? null
  result.unmatched = unmatched
  result.total = completed
  result.lost = Math.max(0, outstanding)
  for (const c of conns) c.terminate()
  return result
}

/**
 * Open loop at `rate` messages/s spread round-robin over `connections`;
 * each reply's latency is measured from the time its send was scheduled.
 */
export async function openLoop ({ peer, port, connections = 50, rate, payloadBytes = 64, warmupMs = 1000, windowMs = 3000, maxMessages = Infinity, tokens = null }, hooks = noHooks) {
  if (!(rate > 0)) throw new TypeError('openLoop needs a positive rate')
  const RING = 1 << 16
  const proto = protocol(peer)
  // Built before the clock starts: allocating them on the fly made the generator's own GC show up in the tail.
  const frames = new Array(RING)
  for (let s = 0; s < RING; s++) frames[s] = clientFrame(proto.echo(padded(s, payloadBytes), s))
  const scheduled = new Float64Array(RING)
  const pending = new Uint8Array(RING)
  const hist = new Histogram()
  const conns = await connectMany(peer, port, connections, { tokens, deadline: performance.now() + 30_000 })

  let completed = 0
  let outstanding = 0
  let overruns = 0
  let unmatched = 0
  for (const conn of conns) {
    conn.onMessage = (buf) => {
      const s = echoSeq(buf)
      if (s < 0 || s >= RING || pending[s] === 0) {
        unmatched++
        conn.other(buf)
        return
      }
      pending[s] = 0
      outstanding--
      completed++
      hist.recordMs(performance.now() - scheduled[s])
    }
  }

  const interval = 1000 / rate
  const t0 = performance.now()
  const hardStop = t0 + warmupMs + windowMs + 30_000
  let sent = 0
  let pumping = true
  let budget = maxMessages
  function pump () {
    if (!pumping) return
    const now = performance.now()
    const due = Math.min(Math.floor((now - t0) / interval) + 1, budget)
    let n = 0
    while (sent < due && n < 5000) {
      const s = sent % RING
      if (pending[s] === 1) {
        overruns++
      } else {
        pending[s] = 1
        outstanding++
        scheduled[s] = t0 + sent * interval
        conns[sent % connections].send(frames[s])
      }
      sent++
      n++
    }
    if (now < hardStop && sent < budget) setImmediate(pump)
  }
  setImmediate(pump)

  const result = await measureWindow({ warmupMs, windowMs, hooks, hist, counter: () => completed, stopWhen: () => sent >= budget && outstanding === 0 })
  pumping = false
  budget = sent
  await waitUntil(() => outstanding <= 0, 2000)
  result.offeredRate = rate
  result.overruns = overruns
  result.errors = conns.reduce((n, c) => n + c.errors, 0)
  result.lastError = conns.find((c) => c.lastError !== null)?.lastError ?? null
  result.unmatched = unmatched
  result.total = completed
  result.sent = sent
  result.lost = outstanding
  for (const c of conns) c.terminate()
  return result
}

/**
 * Warm up, tell the harness the window starts (it marks the server's CPU),
 * count for `windowMs`, then tell it the window ended. Returns the window's numbers.
 */
export async function measureWindow ({ warmupMs, windowMs, hooks, hist, counter, stopWhen = () => false }) {
  await sleep(warmupMs, stopWhen)
  await hooks.windowStart()
  const loop = monitorEventLoopDelay({ resolution: 1 })
  loop.enable()
  hist.reset()
  const startCount = counter()
  const cpu0 = process.cpuUsage()
  const w0 = performance.now()
  await sleep(windowMs, stopWhen)
  const elapsedMs = performance.now() - w0
  const cpu = process.cpuUsage(cpu0)
  const count = counter() - startCount
  loop.disable()
  const server = await hooks.windowEnd()
  return {
    // The load generator's own stalls, which would inflate every latency it records.
    clientLoopDelayP99Ms: loop.percentile(99) / 1e6,
    clientLoopDelayMaxMs: loop.max / 1e6,
    count,
    elapsedMs,
    rate: count / (elapsedMs / 1000),
    latency: hist.summary(),
    clientCpuPct: (100 * (cpu.user + cpu.system)) / (elapsedMs * 1000),
    // issue 12: the split, to tell the client's own work (user) from the kernel's (system: syscalls, wake-ups).
    clientUserUs: cpu.user,
    clientSystemUs: cpu.system,
    server
  }
}
