// Control channel every benchmark server shares: READY report, and CPU / memory
// measurements on command from the harness over the IPC channel.

import { monitorEventLoopDelay } from 'node:perf_hooks'

let mark = null
let closer = null
// issue 14: the backend's counters (socketspec: backendStats()), reported as a difference over the window
let backendStats = null
let statsMark = null
// How long the server's event loop was blocked (GC, long ticks): explains latency tails.
const loopDelay = monitorEventLoopDelay({ resolution: 1 })
// bench/ab.mjs: messages the server handled (a server calls handledOne() per echo), read in the same
// report as the CPU, so a window's CPU per message needs no clock shared with the load generator.
let handled = 0
let handledMark = 0

/** Count one handled message (bench/ab.mjs reads the count since `mark` in each `report`). */
export function handledOne () {
  handled++
}

function cpuNow () {
  const c = process.cpuUsage()
  return { cpu: c.user + c.system, user: c.user, system: c.system, wall: performance.now() }
}

function memory () {
  if (typeof globalThis.gc === 'function') {
    globalThis.gc()
    globalThis.gc()
  }
  const m = process.memoryUsage()
  return { rss: m.rss, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers }
}

const commands = {
  mark () {
    loopDelay.enable()
    loopDelay.reset()
    mark = cpuNow()
    handledMark = handled
    statsMark = backendStats === null ? null : backendStats()
    return { ok: true }
  },
  report () {
    if (mark === null) throw new Error('report before mark')
    const now = cpuNow()
    const handledSince = handled - handledMark
    const wallUs = (now.wall - mark.wall) * 1000
    return {
      cpuUs: now.cpu - mark.cpu,
      userUs: now.user - mark.user,
      systemUs: now.system - mark.system,
      wallUs,
      cpuPct: wallUs > 0 ? (100 * (now.cpu - mark.cpu)) / wallUs : 0,
      loopDelayP99Ms: loopDelay.percentile(99) / 1e6,
      loopDelayMaxMs: loopDelay.max / 1e6,
      rss: process.memoryUsage.rss(),
      maxRssKb: process.resourceUsage().maxRSS,
      handled: handledSince,
      backend: statsDelta(statsMark, backendStats === null ? null : backendStats())
    }
  },
  memory,
  async exit () {
    setImmediate(shutdown)
    return { ok: true }
  }
}

async function shutdown () {
  const timer = setTimeout(() => process.exit(0), 2000)
  timer.unref()
  try {
    if (closer) await closer()
  } finally {
    process.exit(0)
  }
}

/** Counters that grew between `a` and `b` (numeric keys of b), or null. */
function statsDelta (a, b) {
  if (a === null || b === null || typeof b !== 'object') return null
  const out = {}
  for (const [key, value] of Object.entries(b)) if (typeof value === 'number') out[key] = value - (typeof a[key] === 'number' ? a[key] : 0)
  return out
}

/**
 * Announce readiness (stdout `READY <port>` and IPC), then serve harness commands.
 * `stats`: the server's backend counters (e.g. `{received, published, foreign}`), reported per window.
 */
export function ready ({ port, peer, features = {}, close, stats }) {
  closer = close ?? null
  backendStats = typeof stats === 'function' ? stats : null
  process.stdout.write(`READY ${port}\n`)
  if (typeof process.send !== 'function') return
  process.on('message', async (msg) => {
    if (!msg || typeof msg.cmd !== 'string') return
    try {
      const fn = commands[msg.cmd]
      if (!fn) throw new Error(`unknown command ${msg.cmd}`)
      process.send({ type: 'reply', id: msg.id, ok: true, result: await fn(msg.args) })
    } catch (err) {
      process.send({ type: 'reply', id: msg.id, ok: false, error: err.message })
    }
  })
  // The harness went away: never outlive it.
  process.on('disconnect', () => process.exit(0))
  process.send({ type: 'ready', port, peer, pid: process.pid, features })
}

/** Report that this peer cannot run the requested configuration, then exit. */
export function unavailable (reason) {
  process.stdout.write(`UNAVAILABLE ${reason}\n`)
  if (typeof process.send === 'function') {
    process.send({ type: 'unavailable', reason }, () => process.exit(0))
  } else {
    process.exit(0)
  }
}

/** Server configuration from the environment, shared by every peer. */
export function config () {
  const env = process.env
  return {
    port: Number(env.PORT ?? 0),
    host: '127.0.0.1',
    auth: env.BENCH_AUTH === 'jwt',
    jwtSecret: env.BENCH_JWT_SECRET ?? 'socketspec-bench-secret-0123456789abcdef',
    redisUrl: env.BENCH_REDIS_URL || null,
    nodeName: env.BENCH_NODE || 'a',
    // seconds between heartbeats (idle-100k); 0: the server's default
    heartbeat: Number(env.BENCH_HEARTBEAT || 0)
  }
}
