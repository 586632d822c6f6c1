#!/usr/bin/env node
// Benchmark harness of issue 7: socketspec against raw @fastify/websocket and
// Socket.IO. Server pinned to CPU 0, load generator to CPU 1, peers alternated
// within each round, medians and spreads over the rounds. See BENCHMARKS.md.
import { mkdirSync, readdirSync, statSync, writeFileSync, existsSync } from 'node:fs'
import { availableParallelism, cpus } from 'node:os'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { cpuBusy, cpuTimes } from './lib/cpu-stat.mjs'
import { freePort, hasBinary, hasTaskset, killAll, start } from './lib/proc.mjs'
import { markdown, summarize } from './lib/report.mjs'
import { SCENARIOS, timings } from './lib/scenarios.mjs'
import { median } from './lib/stats.mjs'
import { JWT_SECRET } from './lib/tokens.mjs'
import { PEERS } from './lib/wire.mjs'

const debug = process.env.BENCH_DEBUG ? (...a) => console.error('[debug]', ...a) : () => {}
const here = (p) => fileURLToPath(new URL(p, import.meta.url))

const { values: opts } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    scenario: { type: 'string' },
    peer: { type: 'string' },
    window: { type: 'string' },
    warmup: { type: 'string' },
    'no-pin': { type: 'boolean', default: false },
    'no-write': { type: 'boolean', default: false },
    out: { type: 'string' },
    list: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false }
  }
})

if (opts.help || opts.list) {
  console.log('usage: node bench/run.mjs [--quick] [--rounds N] [--scenario a,b] [--peer raw,socketio,socketspec]\n' +
    '                         [--window S] [--warmup S] [--no-pin] [--no-write] [--out file.json]\n\nscenarios:')
  for (const sc of SCENARIOS) console.log(`  ${sc.id.padEnd(16)} ${sc.title}`)
  process.exit(0)
}

const list = (v) => (v ? v.split(',').map((x) => x.trim()).filter(Boolean) : null)
const wantScenarios = list(opts.scenario)
const wantPeers = list(opts.peer) ?? PEERS
for (const id of wantScenarios ?? []) if (!SCENARIOS.some((s) => s.id === id)) fail(`unknown scenario ${id} (see --list)`)
for (const p of wantPeers) if (!PEERS.includes(p)) fail(`unknown peer ${p} (${PEERS.join(', ')})`)
const scenarios = SCENARIOS.filter((s) => wantScenarios === null || wantScenarios.includes(s.id))
const t = timings({ quick: opts.quick, windowS: opts.window && Number(opts.window), warmupS: opts.warmup && Number(opts.warmup) })
if (opts.rounds) t.rounds = Math.max(1, Number(opts.rounds))
const pin = !opts['no-pin'] && hasTaskset
const redisAvailable = hasBinary('redis-server')

function fail (msg) {
  console.error(`bench: ${msg}`)
  process.exit(2)
}

const warnings = []
if (!hasTaskset && !opts['no-pin']) warnings.push('taskset not found: server and load generator are NOT pinned; ratios are less reliable')
if (availableParallelism() < 2) warnings.push(`only ${availableParallelism()} CPU: server and load generator share it`)
if (!redisAvailable) warnings.push('redis-server not found: the Redis scenario is skipped')
warnings.push(...distWarnings())

/** Warn when dist/ is missing or older than the TypeScript sources it is built from. */
function distWarnings () {
  const dist = here('../dist/lib/index.js')
  if (!existsSync(dist)) return ['dist/lib/index.js missing: socketspec rows will read "not available" (run npm run build:ts)']
  const built = statSync(dist).mtimeMs
  const newest = (dir) => {
    let m = 0
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = `${dir}/${e.name}`
      if (e.isDirectory()) m = Math.max(m, newest(p))
      else if (e.name.endsWith('.ts')) m = Math.max(m, statSync(p).mtimeMs)
    }
    return m
  }
  const src = Math.max(...['../lib', '../plugins', '../schemas'].map((d) => (existsSync(here(d)) ? newest(here(d)) : 0)))
  return src > built ? ['dist/ is older than lib/ plugins/ schemas/: run npm run build:ts to bench the current code'] : []
}

const runs = []
const calibrations = new Map()

function serverEnv (sc, i, redisUrl) {
  return {
    PORT: '0',
    NODE_ENV: 'production',
    BENCH_AUTH: sc.server?.auth ? 'jwt' : '',
    BENCH_JWT_SECRET: JWT_SECRET,
    BENCH_REDIS_URL: redisUrl ?? '',
    BENCH_NODE: String.fromCharCode(97 + i)
  }
}

async function startRedis () {
  const port = await freePort()
  const redis = start('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { cpu: 0, pin, ipc: false, label: 'redis-server' })
  const until = Date.now() + 10_000
  while (!/Ready to accept connections/.test(redis.stdout)) {
    if (redis.exitCode !== null || Date.now() > until) {
      await redis.stop()
      throw new Error(`redis-server did not start: ${redis.tail() || redis.stdout.slice(-300)}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  return { redis, url: `redis://127.0.0.1:${port}` }
}

/** The open-loop rate for `peer`: a fraction of a closed-loop echo-64 max measured in this run (or calibrated now). */
async function rateFor (sc, peer) {
  const base = sc.rateFrom.base === 'self' ? peer : sc.rateFrom.base
  let max = median(runs.filter((r) => r.scenario === 'echo-64' && r.peer === base && r.status === 'ok').map((r) => r.rate))
  if (max === null) {
    if (!calibrations.has(base)) {
      const echo = SCENARIOS.find((s) => s.id === 'echo-64')
      const row = await runOne(echo, base, -1, { warmupMs: 500, windowMs: 1500 })
      calibrations.set(base, row.status === 'ok' ? row.rate : null)
      if (row.status !== 'ok') throw new Error(`calibrating ${base}'s max failed: ${row.reason}`)
    }
    max = calibrations.get(base)
  }
  if (!max) throw new Error(`no echo-64 max for ${base}`)
  return Math.round(max * sc.rateFrom.fraction)
}

/** One scenario, one peer, one round: servers and load generator started, measured, stopped. */
async function runOne (sc, peer, round, timing = t) {
  const row = { scenario: sc.id, peer, round, status: 'ok', flags: [] }
  if (sc.redis && !redisAvailable) return { ...row, status: 'unavailable', reason: 'redis-server not installed' }
  let redis = null
  const servers = []
  let client = null
  let machineLoad = null
  try {
    if (sc.redis) redis = await startRedis()
    for (let i = 0; i < (sc.nodes ?? 1); i++) {
      servers.push(start(process.execPath, ['--expose-gc', here(`./servers/${peer}.mjs`)], {
        cpu: 0, pin, env: serverEnv(sc, i, redis?.url), nofile: sc.server?.nofile ?? 0, label: `${peer} server`
      }))
    }
    debug('servers started', servers.map((s) => s.pid))
    const readies = await Promise.all(servers.map((s) => s.waitFor(['ready', 'unavailable'], 30_000)))
    const un = readies.find((r) => r.type === 'unavailable')
    if (un) return { ...row, status: 'unavailable', reason: un.reason }
    const missing = (sc.requires ?? []).filter((f) => readies[0].features?.[f] === false)
    if (missing.length > 0) return { ...row, status: 'unavailable', reason: `${peer} has no ${missing.join(', ')} support yet` }
    const ports = readies.map((r) => r.port)
    const base = sc.kind === 'idle' ? await servers[0].request('memory') : null
    const rate = sc.rateFrom ? await rateFor(sc, peer) : undefined

    client = start(process.execPath, [here('./load/client.mjs')], { cpu: 1, pin, nofile: sc.client?.nofile ?? 0, label: 'load generator' })
    await client.waitFor(['ready'], 15_000)
    debug('client ready', ports)
    client.onOther = (msg) => {
      if (msg?.type !== 'request') return
      debug('client asks', msg.name)
      handle(msg.name).then(
        (result) => client.send({ type: 'response', id: msg.id, ok: true, result }),
        (err) => client.send({ type: 'response', id: msg.id, ok: false, error: err.message })
      )
    }
    let stat0 = null
    async function handle (name) {
      if (name === 'window-start') {
        stat0 = cpuTimes()
        return Promise.all(servers.map((s) => s.request('mark')))
      }
      if (name === 'window-end') {
        machineLoad = cpuBusy(stat0, cpuTimes())
        return Promise.all(servers.map((s) => s.request('report')))
      }
      if (name === 'loaded') {
        await new Promise((resolve) => setTimeout(resolve, 1000))
        return servers[0].request('memory')
      }
      throw new Error(`unknown request ${name}`)
    }
    const job = { ...sc.job({ port: ports[0], ports, t: timing, rate }), jwtSecret: JWT_SECRET }
    job.params.peer = peer
    client.send({ type: 'job', job })
    const limit = (timing.warmupMs + timing.windowMs) + 180_000
    const res = await client.waitFor(['result'], limit)
    if (!res.ok) return { ...row, status: 'failed', reason: res.error }
    return { ...row, ...metrics(sc, res.result, base, machineLoad), offeredRate: rate }
  } catch (err) {
    return { ...row, status: 'failed', reason: err.message.split('\n')[0].slice(0, 300) }
  } finally {
    await client?.stop()
    await Promise.all(servers.map((s) => s.stop()))
    await redis?.redis.stop()
  }
}

/** The numbers of one run from the load generator's result and the servers' reports. */
function metrics (sc, r, base, load) {
  const flags = []
  if (r.errors > 0) flags.push(`errors ${r.errors}${r.lastError ? ` (${r.lastError.slice(0, 80)})` : ''}`)
  if (r.lost > 0) flags.push(`unanswered ${r.lost}`)
  if (r.overruns > 0) flags.push(`overruns ${r.overruns}`)
  if (r.stalled) flags.push('stalled')
  if (sc.kind === 'idle') {
    const perConn = (r.server.rss - base.rss) / r.connections / 1024
    return {
      perConnKB: perConn,
      heapPerConnKB: (r.server.heapUsed + r.server.external - base.heapUsed - base.external) / r.connections / 1024,
      rssMB: r.server.rss / 1048576,
      connectRate: r.rate,
      flags
    }
  }
  const reports = r.server ?? []
  const cpuFraction = reports.reduce((n, s) => n + s.cpuPct / 100, 0)
  const serverCpuPct = cpuFraction * 100
  const cpuUsPerOp = r.count > 0 ? (cpuFraction * r.elapsedMs * 1000) / r.count : null
  // CPU time on the two cores that neither the server(s) nor the load generator used: other processes.
  const otherPct = load === null ? null : Math.max(0, load.busyPct - serverCpuPct - r.clientCpuPct)
  if (otherPct !== null && otherPct > 15) flags.push('contended')
  else if (['throughput', 'broadcast', 'storm'].includes(sc.kind) && serverCpuPct < 90) flags.push('client-bound')
  // The generator's own event-loop stalls are added to every latency it records.
  if (['open', 'latency'].includes(sc.kind) && r.clientLoopDelayP99Ms > 5) flags.push('generator stalls')
  return {
    otherCpuPct: otherPct,
    stealPct: load?.stealPct ?? null,
    rate: r.rate,
    count: r.count,
    cpuUsPerOp,
    serverCpuPct,
    clientCpuPct: r.clientCpuPct,
    p50: r.latency.p50,
    p99: r.latency.p99,
    allP99: r.allDelivered?.p99 ?? null,
    serverLoopDelayP99Ms: Math.max(...reports.map((s) => s.loopDelayP99Ms ?? 0)),
    serverLoopDelayMaxMs: Math.max(...reports.map((s) => s.loopDelayMaxMs ?? 0)),
    clientLoopDelayP99Ms: r.clientLoopDelayP99Ms,
    clientLoopDelayMaxMs: r.clientLoopDelayMaxMs,
    rssMB: Math.max(...reports.map((s) => s.rss)) / 1048576,
    flags,
    latency: r.latency
  }
}

function machine () {
  return {
    nproc: availableParallelism(),
    cpu: cpus()[0]?.model ?? 'unknown',
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    pinned: pin
  }
}

async function main () {
  const m = machine()
  const header = [
    `## socketspec benchmarks (${new Date().toISOString()})`,
    '',
    `Machine: ${m.nproc} CPU (${m.cpu}), Node ${m.node}, ${m.platform}; ${pin ? 'server on CPU 0, load generator on CPU 1 (taskset)' : 'NOT pinned'}. ` +
      `${t.rounds} round(s), warm-up ${t.warmupMs / 1000} s, window ${t.windowMs / 1000} s. ` +
      'Medians over rounds; ±x % is half the range (max − min) over the median.',
    ''
  ]
  for (const w of warnings) {
    header.push(`> warning: ${w}`)
    console.error(`warning: ${w}`)
  }
  if (warnings.length > 0) header.push('')
  const t0 = Date.now()
  for (const sc of scenarios) {
    for (let round = 0; round < t.rounds; round++) {
      for (const peer of sc.peers.filter((p) => wantPeers.includes(p))) {
        const row = await runOne(sc, peer, round)
        runs.push(row)
        const what = row.status !== 'ok'
          ? `${row.status}: ${row.reason}`
          : sc.kind === 'idle'
            ? `${row.perConnKB.toFixed(2)} KB/conn`
            : `${Math.round(row.rate)} ${sc.unit}, cpu ${row.serverCpuPct.toFixed(0)} %, p99 ${row.p99?.toFixed(2)} ms${row.flags.length ? ` [${row.flags.join('; ')}]` : ''}`
        console.error(`[${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${sc.id} round ${round + 1}/${t.rounds} ${peer}: ${what}`)
      }
    }
  }
  const summary = summarize(runs, scenarios)
  if (summary.some((s) => s.flags?.some((f) => f.startsWith('client-bound')))) {
    header.push('> client-bound: the server used < 90 % of its core in these runs, so one Node load-generator process could not saturate it; the rate is a lower bound for that server and CPU µs per message stays the comparable number.', '')
  }
  if (summary.some((s) => s.flags?.some((f) => f.startsWith('generator stalls')))) {
    header.push('> generator stalls: the load generator\'s event loop was blocked for more than 5 ms at its p99, which inflates the latencies it measured.', '')
  }
  if (summary.some((s) => s.flags?.some((f) => f.startsWith('contended')))) {
    header.push('> contended: other processes used more than 15 % of a core during these windows (from /proc/stat, minus the server and the load generator); their numbers are not reliable: rerun on a quiet machine.', '')
  }
  const md = markdown(summary, scenarios, { header })
  console.log(md)
  if (!opts['no-write']) {
    const file = opts.out ?? here(`./results/${new Date().toISOString().replace(/[:.]/g, '-')}.json`)
    mkdirSync(here('./results'), { recursive: true })
    writeFileSync(file, JSON.stringify({ machine: m, timing: t, warnings, runs, summary, markdown: md }, null, 2))
    console.error(`results written to ${file}`)
  }
}

main().then(() => {
  killAll()
  process.exit(0)
}, (err) => {
  console.error(err)
  killAll()
  process.exit(1)
})
