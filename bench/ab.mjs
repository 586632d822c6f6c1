#!/usr/bin/env node
// Paired, concurrent A/B of two socketspec peers (issue 14: the cost of metrics: true and of
// @opentelemetry/api without an SDK), precise enough to resolve a few per cent on a shared VM.
//
// usage: node bench/ab.mjs [--pair A:B,...] [--dist DIR] [--base-dist DIR] [--segments N] [--windows N]
//                          [--window S] [--warmup S] [--connections N] [--inflight N] [--payload B]
//                          [--boot N] [--seed N] [--no-pin] [--out file.json] [--cpu-prof DIR]
//
//   --pair A:B,...   the comparisons, each B against A (default:
//                    socketspec:socketspec,socketspec:socketspec-metrics,socketspec:socketspec-otelapi; the
//                    first is the A/A check of the method). Peers: the socketspec ones of bench/lib/peers.mjs.
//   --dist DIR       the build the socketspec peers load (like bench/run.mjs --dist; default ./dist): a frozen
//                    copy (git archive HEAD, tsc -p tsconfig.build.json) keeps the run on one build.
//   --base-dist DIR  the build of peer socketspec-base.
//   --segments N     fresh server pairs per comparison (default 10, even). Segments of the comparisons are
//                    interleaved; the two servers swap places (start order, load process) every segment.
//   --windows N      measured windows per segment (default 4), each --window S seconds (default 2), after
//                    --warmup S seconds of load (default 3).
//   --connections N, --inflight N, --payload B: the echo load per server (default 50 × 16, 64 B: echo-64).
//   --boot N         bootstrap resamples (default 5000), --seed N its seed (default 1).
//   --out FILE       write every window's numbers and the summary as JSON.
//   --cpu-prof DIR   run the servers with node --cpu-prof (start-up and warm-up included): each server's
//                    profiles (one per thread) in DIR/<A>-<B>-s<segment>-<slot>-<peer>/; compare the two peers'
//                    self time with node bench/profile-summary.mjs (profiling costs both servers alike).
//
// Method. Both servers of a pair run at the same time, pinned to CPU 0 (two loads pinned to CPU 1),
// each driven by its own closed-loop echo load of the same shape started at the same moment. Every
// window, the harness reads each server's own CPU time and its count of handled echoes in one control
// `report` (bench/servers/control.mjs), so CPU µs per message needs no shared clock. The window's
// ratio B ÷ A of CPU µs per message cancels what hits both servers in that window (steal, other
// processes, frequency). Result: the median over all windows, with a 95 % interval from a two-level
// bootstrap (segments, then windows within them), so differences between server processes (JIT, heap
// layout) widen the interval instead of hiding in it. Every loop is bounded in count and time; servers
// listen on 127.0.0.1 and every process started is stopped by PID (bench/lib/proc.mjs).
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { cpuBusy, cpuTimes } from './lib/cpu-stat.mjs'
import { PEER_DEFS, peerEnv } from './lib/peers.mjs'
import { hasTaskset, start } from './lib/proc.mjs'

const here = (p) => fileURLToPath(new URL(p, import.meta.url))
const DEFAULT_PAIRS = 'socketspec:socketspec,socketspec:socketspec-metrics,socketspec:socketspec-otelapi'

const { values: opts } = parseArgs({
  options: {
    pair: { type: 'string', default: DEFAULT_PAIRS },
    dist: { type: 'string' },
    'base-dist': { type: 'string' },
    segments: { type: 'string', default: '10' },
    windows: { type: 'string', default: '4' },
    window: { type: 'string', default: '2' },
    warmup: { type: 'string', default: '3' },
    connections: { type: 'string', default: '50' },
    inflight: { type: 'string', default: '16' },
    payload: { type: 'string', default: '64' },
    boot: { type: 'string', default: '5000' },
    seed: { type: 'string', default: '1' },
    'no-pin': { type: 'boolean', default: false },
    out: { type: 'string' },
    'cpu-prof': { type: 'string' },
    help: { type: 'boolean', default: false }
  }
})

function fail (msg) {
  console.error(`bench/ab.mjs: ${msg}`)
  process.exit(2)
}

if (opts.help) {
  console.log('usage: node bench/ab.mjs [--pair A:B,...] [--dist DIR] [--base-dist DIR] [--segments N] [--windows N]\n' +
    '                         [--window S] [--warmup S] [--connections N] [--inflight N] [--payload B]\n' +
    '                         [--boot N] [--seed N] [--no-pin] [--out file.json] [--cpu-prof DIR]\n' +
    `default pairs: ${DEFAULT_PAIRS} (B against A; the first is the A/A check). See the header of bench/ab.mjs.`)
  process.exit(0)
}

/** A positive integer (or number, with `real`) option within [min, max]. */
function num (name, { min, max, real = false }) {
  const v = Number(opts[name])
  if (!Number.isFinite(v) || v < min || v > max || (!real && !Number.isInteger(v))) fail(`--${name} ${opts[name]}: expected ${real ? 'a number' : 'an integer'} in [${min}, ${max}]`)
  return v
}

const segments = num('segments', { min: 2, max: 40 })
if (segments % 2 !== 0) fail('--segments must be even (half the segments in each placement)')
const windows = num('windows', { min: 1, max: 60 })
const windowMs = num('window', { min: 0.2, max: 30, real: true }) * 1000
const warmupMs = num('warmup', { min: 0.5, max: 60, real: true }) * 1000
const connections = num('connections', { min: 1, max: 2000 })
const inflight = num('inflight', { min: 1, max: 256 })
const payloadBytes = num('payload', { min: 16, max: 65536 })
const boot = num('boot', { min: 100, max: 100_000 })
const seed = num('seed', { min: 0, max: 2 ** 31 })
const pin = !opts['no-pin'] && hasTaskset
const distDir = opts.dist ? resolve(opts.dist) : null
const baseDist = opts['base-dist'] ? resolve(opts['base-dist']) : null
const cpuProfDir = opts['cpu-prof'] ? resolve(opts['cpu-prof']) : null
if (cpuProfDir !== null) mkdirSync(cpuProfDir, { recursive: true })
if (distDir !== null && !existsSync(`${distDir}/lib/index.js`)) fail(`--dist ${distDir}: no lib/index.js there (build it with tsc -p tsconfig.build.json)`)
if (baseDist !== null && !existsSync(`${baseDist}/lib/index.js`)) fail(`--base-dist ${baseDist}: no lib/index.js there`)

const pairs = opts.pair.split(',').map((s) => s.trim()).filter(Boolean).map((s) => {
  const [a, b, extra] = s.split(':')
  if (extra !== undefined || !a || !b) fail(`--pair ${s}: expected A:B`)
  for (const p of [a, b]) {
    if (PEER_DEFS[p]?.server !== 'socketspec') fail(`--pair ${s}: ${p} is not a socketspec peer (${Object.keys(PEER_DEFS).filter((n) => PEER_DEFS[n].server === 'socketspec').join(', ')})`)
    if (PEER_DEFS[p].needsBase && baseDist === null) fail(`--pair ${s}: ${p} needs --base-dist DIR`)
  }
  return { a, b, label: `${b} ÷ ${a}` }
})
if (pairs.length === 0) fail('no --pair given')

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)))
const log = (...a) => console.error(...a)

// ---------------------------------------------------------------------------------------------
// One segment: a fresh pair of servers, two loads, `windows` paired windows.

function serverEnv (peer) {
  return { ...peerEnv(peer, { baseDist, dist: distDir }), PORT: '0', NODE_ENV: 'production', BENCH_AUTH: '', BENCH_REDIS_URL: '', BENCH_REDIS_CLUSTER: '' }
}

/**
 * Run one segment of `pair`: `slots[0]` is started first and driven by the first load process.
 * Returns the segment's windows: per window, each peer's CPU µs and handled messages.
 */
async function runSegment (pair, segment) {
  const swapped = segment % 2 === 1
  const slots = swapped ? [pair.b, pair.a] : [pair.a, pair.b]
  const servers = []
  const loads = []
  try {
    for (const [i, peer] of slots.entries()) {
      // a directory per server: node writes one profile per thread (the main one is the largest; the
      // module-hooks thread of bench/servers/socketspec.mjs has its own)
      const prof = cpuProfDir === null ? [] : ['--cpu-prof', `--cpu-prof-dir=${cpuProfDir}/${pair.a}-${pair.b}-s${segment + 1}-${i}-${peer}`]
      servers.push(start(process.execPath, ['--expose-gc', ...prof, here('./servers/socketspec.mjs')], { cpu: 0, pin, env: serverEnv(peer), label: `${peer} server` }))
    }
    const readies = await Promise.all(servers.map((s) => s.waitFor(['ready', 'unavailable'], 30_000)))
    const un = readies.find((r) => r.type === 'unavailable')
    if (un) throw new Error(`unavailable: ${un.reason}`)
    for (let i = 0; i < 2; i++) loads.push(start(process.execPath, [here('./load/client.mjs')], { cpu: 1, pin, label: `load ${i}` }))
    await Promise.all(loads.map((l) => l.waitFor(['ready'], 15_000)))

    // Both loads ask for 'window-start' after their warm-up: answered together, once both asked, so the
    // loads' windows coincide; the harness reads the servers itself during them.
    let started = 0
    let releaseStart
    const bothStarted = new Promise((resolve) => { releaseStart = resolve })
    const loadWindowMs = windows * windowMs + 1000
    loads.forEach((load) => {
      load.onOther = (msg) => {
        if (msg?.type !== 'request') return
        const reply = (result) => load.send({ type: 'response', id: msg.id, ok: true, result })
        if (msg.name === 'window-start') {
          if (++started === 2) releaseStart()
          bothStarted.then(() => reply(null))
        } else {
          reply(null)
        }
      }
    })
    const results = loads.map((l) => l.waitFor(['result'], warmupMs + loadWindowMs + 60_000))
    for (const r of results) r.catch(() => {})
    loads.forEach((load, i) => load.send({
      type: 'job',
      job: { workload: 'closedLoop', params: { peer: PEER_DEFS[slots[i]].wire, port: readies[i].port, connections, inflight, payloadBytes, warmupMs, windowMs: loadWindowMs } }
    }))
    const startLimit = sleep(warmupMs + 45_000).then(() => { throw new Error('the loads did not start their windows in time') })
    await Promise.race([bothStarted, startLimit])
    await Promise.all(servers.map((s) => s.request('mark')))
    await sleep(100)

    // Snapshots at t0 + k × window, each server's CPU and count from one report; the order alternates.
    const snap = async (k) => {
      const order = k % 2 === 0 ? [0, 1] : [1, 0]
      const got = []
      await Promise.all(order.map(async (i) => { got[i] = await servers[i].request('report', undefined, 10_000) }))
      return { reports: got, stat: cpuTimes() }
    }
    const t0 = performance.now()
    let prev = await snap(0)
    const out = []
    for (let k = 1; k <= windows; k++) {
      await sleep(t0 + k * windowMs - performance.now())
      const cur = await snap(k)
      const d = [0, 1].map((i) => ({
        cpuUs: cur.reports[i].cpuUs - prev.reports[i].cpuUs,
        msgs: cur.reports[i].handled - prev.reports[i].handled,
        wallUs: cur.reports[i].wallUs - prev.reports[i].wallUs
      }))
      const machine = cpuBusy(prev.stat, cur.stat)
      const [ia, ib] = swapped ? [1, 0] : [0, 1]
      out.push({
        segment,
        swapped,
        window: k,
        a: d[ia],
        b: d[ib],
        machineBusyPct: machine?.busyPct ?? null,
        stealPct: machine?.stealPct ?? null
      })
      prev = cur
    }
    const res = await Promise.all(results)
    const loadErrors = res.map((r) => r.ok ? (r.result.errors ?? 0) + (r.result.lost ?? 0) : `failed: ${r.error}`)
    const clientCpuPct = res.map((r) => r.ok ? r.result.clientCpuPct : null)
    return { windows: out, loadErrors, clientCpuPct }
  } finally {
    await Promise.all(loads.map((l) => l.stop()))
    await Promise.all(servers.map((s) => s.stop(cpuProfDir === null ? 2000 : 10_000)))
  }
}

// ---------------------------------------------------------------------------------------------
// Statistics: per-window ratio, median, two-level bootstrap.

function median (xs) {
  if (xs.length === 0) return null
  const s = [...xs].sort((x, y) => x - y)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2
}

function quantile (sorted, q) {
  const i = (sorted.length - 1) * q
  const lo = Math.floor(i)
  const hi = Math.ceil(i)
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (i - lo)
}

/** mulberry32: a small seeded generator, so a summary can be recomputed from the JSON. */
function rng (s) {
  let a = s >>> 0
  return () => {
    a = (a + 0x6D2B79F5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** 95 % interval of the median of `groups` (arrays of window ratios): resample groups, then windows within each. */
function bootstrap (groups, n, rand) {
  const meds = new Float64Array(n)
  const pooled = []
  for (let i = 0; i < n; i++) {
    pooled.length = 0
    for (let g = 0; g < groups.length; g++) {
      const grp = groups[Math.floor(rand() * groups.length)]
      for (let w = 0; w < grp.length; w++) pooled.push(grp[Math.floor(rand() * grp.length)])
    }
    meds[i] = median(pooled)
  }
  meds.sort()
  return [quantile(meds, 0.025), quantile(meds, 0.975)]
}

const ratioOf = (w) => (w.b.cpuUs / w.b.msgs) / (w.a.cpuUs / w.a.msgs)
const usPerMsg = (side) => side.cpuUs / side.msgs

function summarize (pair, segs, rand) {
  const all = segs.flatMap((s) => s.windows).filter((w) => w.a.msgs > 0 && w.b.msgs > 0)
  const groups = segs.map((s) => s.windows.filter((w) => w.a.msgs > 0 && w.b.msgs > 0).map(ratioOf)).filter((g) => g.length > 0)
  const ratios = all.map(ratioOf)
  const [lo, hi] = ratios.length > 0 ? bootstrap(groups, boot, rand) : [null, null]
  const [wlo, whi] = ratios.length > 0 ? bootstrap([ratios], boot, rand) : [null, null]
  const sum = (sel) => all.reduce((n, w) => n + sel(w), 0)
  return {
    pair: pair.label,
    a: pair.a,
    b: pair.b,
    windows: ratios.length,
    segments: groups.length,
    median: median(ratios),
    ci95: [lo, hi],
    // the interval a plain bootstrap over windows would give (ignores the process-to-process spread)
    ci95WindowsOnly: [wlo, whi],
    ratioOfTotals: (sum((w) => w.b.cpuUs) / sum((w) => w.b.msgs)) / (sum((w) => w.a.cpuUs) / sum((w) => w.a.msgs)),
    medianInPlace: median(all.filter((w) => !w.swapped).map(ratioOf)),
    medianSwapped: median(all.filter((w) => w.swapped).map(ratioOf)),
    segmentMedians: groups.map(median),
    windowMin: Math.min(...ratios),
    windowMax: Math.max(...ratios),
    aUsPerMsg: median(all.map((w) => usPerMsg(w.a))),
    bUsPerMsg: median(all.map((w) => usPerMsg(w.b))),
    aRate: median(all.map((w) => w.a.msgs / (w.a.wallUs / 1e6))),
    bRate: median(all.map((w) => w.b.msgs / (w.b.wallUs / 1e6))),
    aCpuPct: median(all.map((w) => 100 * w.a.cpuUs / w.a.wallUs)),
    bCpuPct: median(all.map((w) => 100 * w.b.cpuUs / w.b.wallUs)),
    stealMaxPct: Math.max(0, ...all.map((w) => w.stealPct ?? 0)),
    stealMedianPct: median(all.map((w) => w.stealPct ?? 0)),
    // both cores, in % of one core (200 = both busy): the servers, the loads and everything else
    machineBusyMedianPct: median(all.map((w) => w.machineBusyPct ?? 0)),
    loadErrors: segs.flatMap((s) => s.loadErrors).filter((e) => e !== 0)
  }
}

const f2 = (x) => x === null ? '—' : x.toFixed(2)
const f3 = (x) => x === null ? '—' : x.toFixed(3)
const int = (x) => x === null ? '—' : Math.round(x).toLocaleString('en-US')

function markdownOf (summaries, meta) {
  const lines = [
    `Paired concurrent A/B (\`${meta.command}\`): ${meta.segments} segments × ${meta.windows} windows of ${meta.windowS} s per comparison, ` +
      `echo ${meta.payloadBytes} B, ${meta.connections} connections × ${meta.inflight} in flight per server; build ${meta.build}.`,
    '',
    '| B ÷ A, server CPU µs / msg | windows | median | 95 % interval | A in place / swapped | window min–max | A µs/msg | B µs/msg | msg/s A / B | steal median (max) % |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|'
  ]
  for (const s of summaries) {
    lines.push(`| ${s.pair} | ${s.windows} | ${f3(s.median)} | ${f3(s.ci95[0])}–${f3(s.ci95[1])} | ${f3(s.medianInPlace)} / ${f3(s.medianSwapped)} | ` +
      `${f2(s.windowMin)}–${f2(s.windowMax)} | ${f2(s.aUsPerMsg)} | ${f2(s.bUsPerMsg)} | ${int(s.aRate)} / ${int(s.bRate)} | ${f2(s.stealMedianPct)} (${f2(s.stealMaxPct)}) |`)
  }
  return lines.join('\n')
}

// ---------------------------------------------------------------------------------------------

const t0 = Date.now()
const segsOf = pairs.map(() => [])
const failures = []
log(`bench/ab.mjs: ${pairs.map((p) => p.label).join(', ')}; ${segments} segments × ${windows} × ${windowMs / 1000} s, warm-up ${warmupMs / 1000} s; ` +
  `${pin ? 'servers on CPU 0, loads on CPU 1' : 'NOT pinned'}; build ${distDir ?? './dist'}`)
for (let s = 0; s < segments; s++) {
  for (let p = 0; p < pairs.length; p++) {
    try {
      const seg = await runSegment(pairs[p], s)
      segsOf[p].push(seg)
      const r = seg.windows.filter((w) => w.a.msgs > 0 && w.b.msgs > 0).map(ratioOf)
      log(`  segment ${s + 1}/${segments} ${pairs[p].label}${s % 2 === 1 ? ' (swapped)' : ''}: median ${f3(median(r))} ` +
        `[${r.map(f3).join(' ')}]; ${int(median(seg.windows.map((w) => w.a.msgs / (w.a.wallUs / 1e6))))} / ${int(median(seg.windows.map((w) => w.b.msgs / (w.b.wallUs / 1e6))))} msg/s` +
        `${seg.loadErrors.some((e) => e !== 0) ? `; load errors ${seg.loadErrors.join(', ')}` : ''}`)
    } catch (err) {
      failures.push({ pair: pairs[p].label, segment: s, error: err.message.split('\n')[0].slice(0, 300) })
      log(`  segment ${s + 1}/${segments} ${pairs[p].label}: FAILED ${err.message.split('\n')[0].slice(0, 300)}`)
    }
  }
}

const rand = rng(seed)
const summaries = pairs.map((p, i) => summarize(p, segsOf[i], rand))
const meta = {
  // the frozen build's path is of no use to a reader: shown as <frozen dist>
  command: `node bench/ab.mjs ${process.argv.slice(2).map((a, i, all) => all[i - 1] === '--dist' && a !== './dist' ? '<frozen dist>' : a).join(' ')}`.trim(),
  segments,
  windows,
  windowS: windowMs / 1000,
  warmupS: warmupMs / 1000,
  connections,
  inflight,
  payloadBytes,
  pinned: pin,
  build: distDir ?? './dist',
  boot,
  seed,
  minutes: (Date.now() - t0) / 60_000
}
const md = markdownOf(summaries, meta)
console.log(md)
for (const s of summaries) {
  console.log(`\n${s.pair}: median ${f3(s.median)}, 95 % ${f3(s.ci95[0])}–${f3(s.ci95[1])} (windows only: ${f3(s.ci95WindowsOnly[0])}–${f3(s.ci95WindowsOnly[1])}), ` +
    `ratio of totals ${f3(s.ratioOfTotals)}; segment medians ${s.segmentMedians.map(f3).join(' ')}`)
}
if (failures.length > 0) console.log(`\nfailed segments: ${failures.map((f) => `${f.pair} #${f.segment + 1} (${f.error})`).join('; ')}`)
console.log(`\n${meta.minutes.toFixed(1)} min`)
if (opts.out) {
  writeFileSync(opts.out, JSON.stringify({ meta, summaries, failures, segments: pairs.map((p, i) => ({ pair: p.label, segments: segsOf[i] })), markdown: md }, null, 2))
  log(`wrote ${opts.out}`)
}
process.exit(failures.length > 0 && summaries.every((s) => s.windows === 0) ? 1 : 0)
