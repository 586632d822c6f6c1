// Connection workloads: idle memory (hold N authenticated members of one room)
// and the connect storm (handshakes/s with JWT verification).
import { Histogram } from '../lib/stats.mjs'
import { connect } from '../lib/wire.mjs'
import { joinMembers } from './broadcast.mjs'
import { measureWindow } from './echo.mjs'
import { noHooks, waitUntil } from './hooks.mjs'

/**
 * Open `connections` clients that join one room, let the harness read the
 * server's memory, then close them. With `holdMs`, the clients stay idle that
 * long inside a measured window first (heartbeats answered), for the server's
 * steady-state CPU.
 */
export async function idle ({ peer, port, connections = 10_000, tokens = null, concurrency = 100, localAddresses = null, holdMs = 0, timeoutMs = 120_000, capped = false }, hooks = noHooks) {
  const t0 = performance.now()
  const members = await joinMembers({ peer, ports: [port], count: connections, tokens, concurrency, localAddresses, timeoutMs })
  const connectMs = performance.now() - t0
  // Heartbeats and late frames are still answered while the harness measures.
  for (const c of members) c.onMessage = null
  let steady = null
  if (holdMs > 0) {
    const cpu0 = process.cpuUsage()
    const w0 = performance.now()
    await hooks.windowStart()
    await new Promise((resolve) => setTimeout(resolve, holdMs))
    const reports = await hooks.windowEnd()
    const elapsedMs = performance.now() - w0
    const c = process.cpuUsage(cpu0)
    steady = { elapsedMs, server: reports, clientCpuPct: ((c.user + c.system) / 1000 / elapsedMs) * 100 }
  }
  const server = await hooks.loaded()
  const errors = members.reduce((n, c) => n + c.errors, 0)
  const lastError = members.find((c) => c.lastError !== null)?.lastError ?? null
  const closed = members.filter((c) => c.closed).length
  const addresses = {}
  for (const c of members) {
    const a = c.sock?.localAddress ?? 'unknown'
    addresses[a] = (addresses[a] ?? 0) + 1
  }
  for (const c of members) c.terminate()
  return { connections: members.length, connectMs, rate: members.length / (connectMs / 1000), server, steady, closed, addresses, capped, errors, lastError }
}

/** Keep `concurrency` handshakes in flight: connect, wait until established, close, repeat. */
export async function storm ({ peer, port, concurrency = 50, tokens = null, warmupMs = 1000, windowMs = 3000, maxHandshakes = Infinity }, hooks = noHooks) {
  const hist = new Histogram()
  let done = 0
  let started = 0
  let failures = 0
  let lastError = null
  let running = true
  let active = 0
  async function loop () {
    active++
    while (started < maxHandshakes) {
      if (!running) break
      const token = tokens === null ? null : tokens[started % tokens.length]
      started++
      const t = performance.now()
      try {
        const conn = await connect(peer, port, { token, timeoutMs: 10_000 })
        hist.recordMs(performance.now() - t)
        done++
        conn.close()
      } catch (err) {
        failures++
        lastError ??= err.message
        if (failures > 100 && failures > done) break
      }
    }
    active--
  }
  for (let i = 0; i < concurrency; i++) loop()
  const result = await measureWindow({ warmupMs, windowMs, hooks, hist, counter: () => done, stopWhen: () => active === 0 })
  running = false
  await waitUntil(() => active === 0, 10_000)
  result.total = done
  result.failures = failures
  result.errors = failures
  result.lastError = lastError
  return result
}
