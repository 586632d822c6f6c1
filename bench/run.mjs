#!/usr/bin/env node
// Benchmark harness of issue 7: socketspec against raw @fastify/websocket and
// Socket.IO. Server pinned to CPU 0, load generator to CPU 1, peers alternated
// within each round, medians and spreads over the rounds. Issue 10 adds the
// socketspec variants (outboundValidation 'never'; a baseline build with
// --base-dist) to echo-64, echo-1k and bcast-1k. Issue 12 adds the client SDK
// scenarios (sdk-1, sdk-64: the load generator runs socketspec's client or
// socket.io-client, and its own CPU per request is measured) and --cpu-prof.
// See BENCHMARKS.md.
import { spawnSync } from 'node:child_process'
import { mkdirSync, readdirSync, statSync, writeFileSync, existsSync } from 'node:fs'
import { availableParallelism, cpus } from 'node:os'
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { cpuBusy, cpuTimes } from './lib/cpu-stat.mjs'
import { freePort, hasBinary, hasTaskset, killAll, start } from './lib/proc.mjs'
import { clusterUnavailableReason, startRedisCluster } from './lib/redis-cluster.mjs'
import { DEFAULT_PEERS, PEER_DEFS, PEER_NAMES, peerEnv } from './lib/peers.mjs'
import { markdown, summarize } from './lib/report.mjs'
import { SCENARIOS, timings } from './lib/scenarios.mjs'
import { median } from './lib/stats.mjs'
import { JWT_SECRET } from './lib/tokens.mjs'

const debug = process.env.BENCH_DEBUG ? (...a) => console.error('[debug]', ...a) : () => {}
const here = (p) => fileURLToPath(new URL(p, import.meta.url))

const { values: opts } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    scenario: { type: 'string' },
    peer: { type: 'string' },
    'base-dist': { type: 'string' },
    dist: { type: 'string' },
    'quiet-wait': { type: 'string' },
    'retry-contended': { type: 'string' },
    window: { type: 'string' },
    warmup: { type: 'string' },
    'no-pin': { type: 'boolean', default: false },
    'cpu-prof': { type: 'string' },
    'no-write': { type: 'boolean', default: false },
    out: { type: 'string' },
    list: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false }
  }
})

if (opts.help || opts.list) {
  console.log('usage: node bench/run.mjs [--quick] [--rounds N] [--scenario a,b] [--peer raw,socketio,socketspec,...]\n' +
    '                         [--dist DIR] [--base-dist DIR] [--quiet-wait S] [--retry-contended N] [--window S] [--warmup S] [--no-pin] [--no-write] [--out file.json]\n' +
    '                         [--cpu-prof DIR]\n\n' +
    '--dist DIR:      the build socketspec and socketspec-novalidate load (default: ./dist); a frozen\n' +
    '                 copy keeps a long run on one build while others rebuild dist/\n' +
    '--base-dist DIR: a baseline build\'s dist/ directory (e.g. of a git worktree at an earlier commit),\n' +
    '                 run as peer socketspec-base next to socketspec for a before/after in the same run\n' +
    '--quiet-wait S:  on a shared machine, before each run wait up to S seconds for a second in which\n' +
    '                 other processes use less than 15 % of a core (the run then goes ahead anyway)\n' +
    '--retry-contended N: run a (scenario, peer, round) flagged contended again, up to N more times,\n' +
    '                 and keep the attempt with the least other load\n' +
    '--cpu-prof DIR:  CPU-profile the load generator over each measured window (like node --cpu-prof, without\n' +
    '                 start-up), one .cpuprofile per run into DIR; in the sdk-* scenarios the load generator is\n' +
    '                 the client SDK under test. Summarize with node bench/profile-summary.mjs FILE...\n\nscenarios:')
  for (const sc of SCENARIOS) console.log(`  ${sc.id.padEnd(16)} ${sc.title}${sc.peers.length > 3 ? ` [peers: ${sc.peers.join(', ')}]` : ''}`)
  console.log('\npeers:')
  for (const p of PEER_NAMES) console.log(`  ${p.padEnd(22)} ${PEER_DEFS[p].what}`)
  process.exit(0)
}

const list = (v) => (v ? v.split(',').map((x) => x.trim()).filter(Boolean) : null)
const wantScenarios = list(opts.scenario)
const baseDist = opts['base-dist'] ? resolve(opts['base-dist']) : null
const distDir = opts.dist ? resolve(opts.dist) : null
const wantPeers = list(opts.peer) ?? (baseDist ? [...DEFAULT_PEERS, 'socketspec-base'] : DEFAULT_PEERS)
for (const id of wantScenarios ?? []) if (!SCENARIOS.some((s) => s.id === id)) fail(`unknown scenario ${id} (see --list)`)
for (const p of wantPeers) if (!PEER_NAMES.includes(p)) fail(`unknown peer ${p} (${PEER_NAMES.join(', ')})`)
if (wantPeers.includes('socketspec-base') && baseDist === null) fail('peer socketspec-base needs --base-dist DIR (the dist/ of a baseline build)')
if (distDir !== null && !existsSync(`${distDir}/lib/index.js`)) fail(`--dist ${distDir}: no lib/index.js there (build it with tsc -p tsconfig.build.json)`)
if (baseDist !== null && !existsSync(`${baseDist}/lib/index.js`)) fail(`--base-dist ${baseDist}: no lib/index.js there (build it with tsc -p tsconfig.build.json)`)
// heavy scenarios (idle-100k: minutes, GBs of RAM) run only when named in --scenario
const scenarios = SCENARIOS.filter((s) => wantScenarios === null ? s.heavy !== true : wantScenarios.includes(s.id))
const t = timings({ quick: opts.quick, windowS: opts.window && Number(opts.window), warmupS: opts.warmup && Number(opts.warmup) })
// The open-files hard limit of this machine's processes: without CAP_SYS_RESOURCE nobody raises it,
// and idle-100k then holds as many connections as it allows (reported with the row).
t.nofileHard = Number(spawnSync('sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).stdout.trim()) || Infinity
if (opts.rounds) t.rounds = Math.max(1, Number(opts.rounds))
const retryContended = opts['retry-contended'] ? Math.max(0, Math.floor(Number(opts['retry-contended']))) : 0
const quietWaitMs = opts['quiet-wait'] ? Math.max(0, Number(opts['quiet-wait'])) * 1000 : 0
const pin = !opts['no-pin'] && hasTaskset
const redisAvailable = hasBinary('redis-server')
const cpuProfDir = opts['cpu-prof'] ? resolve(opts['cpu-prof']) : null
if (cpuProfDir !== null) mkdirSync(cpuProfDir, { recursive: true })

function fail (msg) {
  console.error(`bench: ${msg}`)
  process.exit(2)
}

const warnings = []
if (!hasTaskset && !opts['no-pin']) warnings.push('taskset not found: server and load generator are NOT pinned; ratios are less reliable')
if (availableParallelism() < 2) warnings.push(`only ${availableParallelism()} CPU: server and load generator share it`)
if (!redisAvailable) warnings.push('redis-server not found: the Redis scenario is skipped')
if (distDir === null) warnings.push(...distWarnings())
const baseLabel = baseDist === null ? null : describeBase(baseDist)
const distLabel = distDir === null ? null : describeBase(distDir)

/** "DIR (commit abc1234 subject)" for a build given on the command line, read-only git when DIR's parent is a checkout. */
function describeBase (dir) {
  const git = spawnSync('git', ['-C', resolve(dir, '..'), 'log', '-1', '--format=%h %s'], { encoding: 'utf8' })
  const commit = git.status === 0 ? git.stdout.trim().slice(0, 100) : ''
  return commit ? `${dir} (commit ${commit})` : dir
}

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
const quietWaits = { runs: 0, waitedMs: 0, gaveUp: 0 }

/**
 * --quiet-wait: between runs none of our processes is running, so whatever
 * /proc/stat counts as busy is someone else's. Wait (up to the limit) for a
 * second in which that stays under 15 % of a core; contended windows are
 * still flagged afterwards.
 */
async function waitQuiet () {
  if (quietWaitMs === 0) return
  const t0 = Date.now()
  quietWaits.runs++
  for (;;) {
    const a = cpuTimes()
    await new Promise((resolve) => setTimeout(resolve, 1000))
    const load = cpuBusy(a, cpuTimes())
    if (load === null || load.busyPct < 15) break
    if (Date.now() - t0 >= quietWaitMs) {
      quietWaits.gaveUp++
      break
    }
  }
  quietWaits.waitedMs += Date.now() - t0
}

function serverEnv (sc, peer, i, redisUrl, redisCluster) {
  return {
    ...peerEnv(peer, { baseDist, dist: distDir }),
    PORT: '0',
    NODE_ENV: 'production',
    BENCH_AUTH: sc.server?.auth ? 'jwt' : '',
    BENCH_JWT_SECRET: JWT_SECRET,
    BENCH_REDIS_URL: redisUrl ?? '',
    // issue 14, redis-cluster-cross: the cluster's nodes, host:port,…
    BENCH_REDIS_CLUSTER: redisCluster ?? '',
    BENCH_NODE: String.fromCharCode(97 + i),
    BENCH_HEARTBEAT: sc.server?.heartbeat ? String(sc.server.heartbeat) : ''
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
  const noCluster = sc.redis === 'cluster' ? clusterUnavailableReason() : null
  if (noCluster !== null) return { ...row, status: 'unavailable', reason: noCluster }
  await waitQuiet()
  let redis = null
  const servers = []
  let client = null
  let machineLoad = null
  try {
    if (sc.redis === 'cluster') {
      const cluster = await startRedisCluster({ pin })
      redis = { redis: cluster, url: null, cluster: cluster.nodes }
    } else if (sc.redis) {
      redis = await startRedis()
    }
    for (let i = 0; i < (sc.nodes ?? 1); i++) {
      servers.push(start(process.execPath, ['--expose-gc', here(`./servers/${PEER_DEFS[peer].server}.mjs`)], {
        cpu: 0, pin, env: serverEnv(sc, peer, i, redis?.url, redis?.cluster), nofile: sc.server?.nofile ?? 0, label: `${peer} server`
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

    // --cpu-prof: the load generator profiles its measured window only (node:inspector), not its start-up.
    const profEnv = cpuProfDir === null ? {} : { BENCH_CPU_PROF: `${cpuProfDir}/${sc.id}-${peer}-r${round + 1}-${Date.now()}.cpuprofile` }
    client = start(process.execPath, [here('./load/client.mjs')], { cpu: 1, pin, env: profEnv, nofile: sc.client?.nofile ?? 0, label: 'load generator' })
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
    // The load generator speaks the peer's wire protocol: the socketspec variants speak socketspec's.
    job.params.peer = PEER_DEFS[peer].wire
    // issue 12: the client SDK comes from the same build as the peer's server (--dist, --base-dist, or ./dist).
    if (sc.kind === 'sdk') job.params.clientDist = peerEnv(peer, { baseDist, dist: distDir }).BENCH_SOCKETSPEC_DIST || null
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
  if (r.mismatches > 0) flags.push(`wrong replies ${r.mismatches}`)
  if (sc.kind === 'idle') {
    const perConn = (r.server.rss - base.rss) / r.connections / 1024
    const steady = r.steady === null || r.steady === undefined ? null : r.steady
    if (r.closed > 0) flags.push(`closed by the server while idle ${r.closed}`)
    if (r.capped) flags.push(`capped at ${r.connections} connections: the open-files hard limit here is ${t.nofileHard}`)
    return {
      connections: r.connections,
      connectS: r.connectMs / 1000,
      // the server's CPU while every connection sat idle (heartbeats only), in % of one core
      steadyCpuPct: steady === null ? null : steady.server.reduce((n, s) => n + s.cpuPct, 0),
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
  // issue 12: the sdk scenarios measure the client; a saturated server caps its rate instead.
  else if (sc.kind === 'sdk' && serverCpuPct >= 90) flags.push('server-bound')
  // Time the hypervisor gave our vCPUs to someone else: it goes with more CPU per message (cold caches).
  if (load !== null && load.stealPct > 5) flags.push('steal')
  // The generator's own event-loop stalls are added to every latency it records.
  if (['open', 'latency', 'sharded'].includes(sc.kind) && r.clientLoopDelayP99Ms > 5) flags.push('generator stalls')
  if (sc.kind === 'sharded' && r.lost > 0) flags.push(`undelivered broadcasts ${r.lost}`)
  return {
    ...(sc.kind === 'sharded' ? shardedMetrics(r, reports) : {}),
    otherCpuPct: otherPct,
    stealPct: load?.stealPct ?? null,
    rate: r.rate,
    count: r.count,
    cpuUsPerOp,
    // The load generator's CPU per operation: for the sdk scenarios, the client SDK's cost per request.
    clientCpuUsPerOp: r.count > 0 ? (r.clientCpuPct / 100) * r.elapsedMs * 1000 / r.count : null,
    clientUserUsPerOp: r.count > 0 && r.clientUserUs !== undefined ? r.clientUserUs / r.count : null,
    clientSystemUsPerOp: r.count > 0 && r.clientSystemUs !== undefined ? r.clientSystemUs / r.count : null,
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

/**
 * Issue 14, redis-sharded: per node, the messages it received from Redis over the window and how many were
 * for rooms it does not serve: the backend's own `foreign` counter when it has one (sharded delivery), else
 * what it received beyond the broadcasts to its own rooms sent through other nodes (the single-channel design).
 */
function shardedMetrics (r, reports) {
  const expected = r.expectedPerNode ?? []
  const perNode = reports.map((s, i) => {
    const b = s.backend ?? null
    const received = typeof b?.received === 'number' ? b.received : null
    const counted = typeof b?.foreign === 'number'
    const foreign = counted ? b.foreign : received === null || expected[i] === undefined ? null : Math.max(0, received - expected[i])
    return { received, foreign, counted, ownRoomsViaOthers: expected[i] ?? null }
  })
  const sum = (key) => perNode.some((n) => n[key] === null) ? null : perNode.reduce((n, x) => n + x[key], 0)
  return { perNode, receivedTotal: sum('received'), foreignTotal: sum('foreign') }
}

/** Progress line of an issue-12 client SDK run: the client's CPU per request first. */
function sdkProgress (sc, row) {
  return `${Math.round(row.rate)} ${sc.unit}, client ${row.clientCpuUsPerOp?.toFixed(2)} µs/req (cpu ${row.clientCpuPct.toFixed(0)} %), ` +
    `server ${row.cpuUsPerOp?.toFixed(2)} µs/req (cpu ${row.serverCpuPct.toFixed(0)} %), other load ${row.otherCpuPct?.toFixed(0) ?? '–'} %` +
    `${row.flags.length ? ` [${row.flags.join('; ')}]` : ''}`
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
  if (distLabel !== null) header.push(`Build: socketspec and socketspec-novalidate run ${distLabel}.`, '')
  if (baseLabel !== null) header.push(`Baseline: peer socketspec-base runs ${baseLabel}.`, '')
  for (const w of warnings) {
    header.push(`> warning: ${w}`)
    console.error(`warning: ${w}`)
  }
  if (warnings.length > 0) header.push('')
  const t0 = Date.now()
  for (const sc of scenarios) {
    for (let round = 0; round < t.rounds; round++) {
      for (const peer of sc.peers.filter((p) => wantPeers.includes(p))) {
        let row = await runOne(sc, peer, round)
        for (let retry = 1; retry <= retryContended && row.status === 'ok' && row.flags.includes('contended'); retry++) {
          console.error(`[${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${sc.id} round ${round + 1}/${t.rounds} ${peer}: contended (other load ${row.otherCpuPct?.toFixed(0)} % of a core), retry ${retry}/${retryContended}`)
          const again = await runOne(sc, peer, round)
          const attempts = (row.attempts ?? 1) + 1
          if (again.status === 'ok' && (again.otherCpuPct ?? Infinity) < (row.otherCpuPct ?? Infinity)) row = again
          row.attempts = attempts
        }
        runs.push(row)
        const what = row.status !== 'ok'
          ? `${row.status}: ${row.reason}`
          : sc.kind === 'idle'
            ? `${row.perConnKB.toFixed(2)} KB/conn`
            : sc.kind === 'sdk'
              ? sdkProgress(sc, row)
              : `${Math.round(row.rate)} ${sc.unit}, cpu ${row.serverCpuPct.toFixed(0)} %, p99 ${row.p99?.toFixed(2)} ms` +
                (sc.kind === 'sharded' ? `, ${row.cpuUsPerOp?.toFixed(2)} µs/delivery, received per node ${row.perNode.map((n) => n.received ?? '–').join('/')}, foreign ${row.perNode.map((n) => n.foreign ?? '–').join('/')}` : '') +
                `${row.flags.length ? ` [${row.flags.join('; ')}]` : ''}`
        console.error(`[${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${sc.id} round ${round + 1}/${t.rounds} ${peer}: ${what}`)
      }
    }
  }
  if (quietWaitMs > 0) {
    header.push(`Quiet wait: up to ${quietWaitMs / 1000} s before each of ${quietWaits.runs} runs for other load < 15 % of a core; ` +
      `waited ${(quietWaits.waitedMs / 1000).toFixed(0)} s in all, gave up (ran anyway) ${quietWaits.gaveUp} time(s).`, '')
  }
  if (retryContended > 0) {
    const retried = runs.filter((r) => (r.attempts ?? 1) > 1)
    header.push(`Retries: a run flagged contended was run again up to ${retryContended} time(s), keeping the attempt with the least other load; ` +
      `${retried.length} of ${runs.length} runs were retried (${retried.reduce((n, r) => n + r.attempts - 1, 0)} extra attempts).`, '')
  }
  const summary = summarize(runs, scenarios)
  if (summary.some((s) => s.flags?.some((f) => f.startsWith('client-bound')))) {
    header.push('> client-bound: the server used < 90 % of its core in these runs, so one Node load-generator process could not saturate it; the rate is a lower bound for that server and CPU µs per message stays the comparable number.', '')
  }
  if (summary.some((s) => s.flags?.some((f) => f.startsWith('generator stalls')))) {
    header.push('> generator stalls: the load generator\'s event loop was blocked for more than 5 ms at its p99, which inflates the latencies it measured.', '')
  }
  if (summary.some((s) => s.flags?.some((f) => f.startsWith('steal')))) {
    header.push('> steal: the hypervisor took more than 5 % of a core from this VM during these windows (/proc/stat steal); on the machine of BENCHMARKS.md CPU µs per message rose with it, so compare such rows with care.', '')
  }
  if (summary.some((s) => s.flags?.some((f) => f.startsWith('server-bound')))) {
    header.push('> server-bound: in a client SDK scenario the server used ≥ 90 % of its core, so the server, not the client, capped the rate; client CPU µs per request stays the comparable number.', '')
  }
  if (summary.some((s) => s.flags?.some((f) => f.startsWith('contended')))) {
    header.push('> contended: other processes used more than 15 % of a core during these windows (from /proc/stat, minus the server and the load generator); their numbers are not reliable: rerun on a quiet machine.', '')
  }
  const md = markdown(summary, scenarios, { header, runs })
  console.log(md)
  if (!opts['no-write']) {
    const file = opts.out ?? here(`./results/${new Date().toISOString().replace(/[:.]/g, '-')}.json`)
    mkdirSync(here('./results'), { recursive: true })
    writeFileSync(file, JSON.stringify({ machine: m, timing: t, warnings, dist: distLabel, base: baseLabel, quietWaits, runs, summary, markdown: md }, null, 2))
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
