// Turns the per-round rows into per-peer medians, markdown tables, the ratios
// against peers and the issues' targets (7: against raw and Socket.IO; 10:
// outbound validation on/off and a baseline build; 12: the client SDK, in report-sdk.mjs).
import { median, spread } from './stats.mjs'
import { issue12Markdown, sdkTable } from './report-sdk.mjs'

const fmt = (v, digits = 0) => (v === null || v === undefined || !Number.isFinite(v) ? '–' : v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }))
const pct = (v) => (v === null ? '' : ` ±${fmt((v * 100) / 2, 1)} %`)
const ms = (v) => fmt(v, v !== null && v !== undefined && v < 10 ? 2 : 1)

/** The primary metric of a scenario kind (what "spread" is computed on). */
function primary (kind) {
  if (kind === 'idle') return 'perConnKB'
  if (kind === 'latency') return 'p99'
  return 'rate'
}

/** Medians and spreads per scenario and peer. */
export function summarize (runs, scenarios) {
  const out = []
  for (const sc of scenarios) {
    const peers = [...new Set(runs.filter((r) => r.scenario === sc.id).map((r) => r.peer))]
    for (const peer of peers) {
      const rows = runs.filter((r) => r.scenario === sc.id && r.peer === peer)
      const ok = rows.filter((r) => r.status === 'ok')
      const s = { scenario: sc.id, kind: sc.kind, unit: sc.unit, peer, rounds: rows.length, ok: ok.length }
      if (ok.length === 0) {
        const r = rows[0]
        s.status = r.status
        s.reason = r.reason
        out.push(s)
        continue
      }
      s.status = 'ok'
      for (const key of ['rate', 'offeredRate', 'cpuUsPerOp', 'serverCpuPct', 'clientCpuPct', 'clientCpuUsPerOp', 'clientUserUsPerOp', 'clientSystemUsPerOp', 'p50', 'p99', 'allP99', 'rssMB', 'otherCpuPct', 'stealPct', 'serverLoopDelayP99Ms', 'serverLoopDelayMaxMs', 'clientLoopDelayP99Ms', 'clientLoopDelayMaxMs', 'perConnKB', 'heapPerConnKB', 'connectRate', 'connectS', 'steadyCpuPct', 'connections', 'receivedTotal', 'foreignTotal']) {
        s[key] = median(ok.map((r) => r[key]))
      }
      // issue 14, redis-sharded: per node, medians over the rounds
      if (ok[0].perNode !== undefined) {
        s.perNode = ok[0].perNode.map((n, i) => ({
          received: median(ok.map((r) => r.perNode[i]?.received)),
          foreign: median(ok.map((r) => r.perNode[i]?.foreign)),
          counted: n.counted
        }))
      }
      s.spread = spread(ok.map((r) => r[primary(sc.kind)]))
      const flags = new Map()
      for (const r of ok) for (const f of r.flags) flags.set(f, (flags.get(f) ?? 0) + 1)
      const maxSteal = Math.max(...ok.filter((r) => r.flags.includes('steal')).map((r) => r.stealPct ?? 0))
      s.flags = [...flags].map(([f, n]) => {
        const what = f === 'contended' ? `contended (other load ${fmt(s.otherCpuPct)} % of a core)` : f === 'steal' ? `steal (up to ${fmt(maxSteal)} % of a core)` : f
        return ok.length > 1 ? `${what} ${n}/${ok.length}` : what
      })
      if (ok.length < rows.length) s.flags.push(`failed ${rows.length - ok.length}/${rows.length}: ${rows.find((r) => r.status !== 'ok').reason}`)
      out.push(s)
    }
  }
  return out
}

function table (sc, rows) {
  const lines = [`### ${sc.id}: ${sc.title}`, '']
  if (sc.kind === 'sharded') {
    // issue 14: CPU of all the nodes together (not Redis's) per delivery; Redis messages per node over the window
    lines.push('| peer | deliveries/s | server CPU µs / delivery (all nodes) | server CPU % (all nodes) | received from Redis, per node | for rooms the node does not serve, per node | delivery p99 ms | notes |', '|---|---:|---:|---:|---:|---:|---:|---|')
    for (const s of rows) {
      if (s.status !== 'ok') { lines.push(`| ${s.peer} | ${s.status === 'unavailable' ? 'not available' : 'failed'}: ${s.reason} | | | | | | |`); continue }
      const per = (key) => (s.perNode ?? []).map((n) => fmt(n[key])).join(' / ')
      const how = (s.perNode ?? []).some((n) => !n.counted) ? ' (derived: received − own rooms\' broadcasts)' : ' (counted by the node)'
      lines.push(`| ${s.peer} | ${fmt(s.rate)}${pct(s.spread)} | ${fmt(s.cpuUsPerOp, 2)} | ${fmt(s.serverCpuPct)} | ${per('received')} | ${per('foreign')}${how} | ${ms(s.p99)} | ${s.flags.join('; ')} |`)
    }
    lines.push('')
    return lines.join('\n')
  }
  if (sc.kind === 'idle') {
    lines.push('| peer | connections | RSS KB / connection | heap KB / connection | RSS MB loaded | connects/s | time to accept all, s | steady-state server CPU % | notes |', '|---|---:|---:|---:|---:|---:|---:|---:|---|')
    for (const s of rows) {
      if (s.status !== 'ok') { lines.push(`| ${s.peer} | ${s.status === 'unavailable' ? 'not available' : 'failed'}: ${s.reason} | | | | | | | |`); continue }
      lines.push(`| ${s.peer} | ${fmt(s.connections)} | ${fmt(s.perConnKB, 2)}${pct(s.spread)} | ${fmt(s.heapPerConnKB, 2)} | ${fmt(s.rssMB, 1)} | ${fmt(s.connectRate)} | ${fmt(s.connectS, 1)} | ${fmt(s.steadyCpuPct, 1)} | ${s.flags.join('; ')} |`)
    }
  } else {
    const lat = sc.kind === 'broadcast' ? 'all-delivered' : sc.kind === 'latency' ? 'delivery' : sc.kind === 'storm' ? 'handshake' : 'latency'
    const op = sc.kind === 'broadcast' || sc.kind === 'latency' ? 'delivery' : sc.kind === 'storm' ? 'handshake' : 'msg'
    const offered = sc.kind === 'open' ? ' offered/s |' : ''
    lines.push(`| peer | ${sc.unit} |${offered} server CPU µs / ${op} | server CPU % | client CPU % | ${lat} p50 ms | ${lat} p99 ms | RSS MB | notes |`)
    lines.push(`|---|---:|${sc.kind === 'open' ? '---:|' : ''}---:|---:|---:|---:|---:|---:|---|`)
    for (const s of rows) {
      if (s.status !== 'ok') {
        lines.push(`| ${s.peer} | ${s.status === 'unavailable' ? 'not available' : 'failed'}: ${s.reason} |${sc.kind === 'open' ? ' |' : ''} | | | | | | |`)
        continue
      }
      const off = sc.kind === 'open' ? ` ${fmt(s.offeredRate)} |` : ''
      lines.push(`| ${s.peer} | ${fmt(s.rate)}${pct(s.spread)} |${off} ${fmt(s.cpuUsPerOp, 2)} | ${fmt(s.serverCpuPct)} | ${fmt(s.clientCpuPct)} | ${ms(s.p50)} | ${ms(s.p99)} | ${fmt(s.rssMB, 1)} | ${s.flags.join('; ')} |`)
    }
  }
  lines.push('')
  return lines.join('\n')
}

const get = (summary, scenario, peer) => summary.find((s) => s.scenario === scenario && s.peer === peer && s.status === 'ok')
const ratio = (a, b) => (a === null || b === null || a === undefined || b === undefined || b === 0 ? null : a / b)

/** Ratios of socketspec against the peers, and the issue's targets with a verdict. */
export function comparisons (summary) {
  const ratios = []
  for (const id of ['echo-64', 'echo-1k', 'unpipelined-200', 'bcast-1k', 'bcast-10k', 'storm-jwt']) {
    const ss = get(summary, id, 'socketspec')
    const raw = get(summary, id, 'raw')
    const sio = get(summary, id, 'socketio')
    if (!ss && !raw && !sio) continue
    ratios.push({
      scenario: id,
      cpuVsRaw: ratio(ss?.cpuUsPerOp, raw?.cpuUsPerOp),
      rateVsRaw: ratio(ss?.rate, raw?.rate),
      rateVsSocketio: ratio(ss?.rate, sio?.rate),
      rawVsSocketio: ratio(raw?.rate, sio?.rate)
    })
  }
  const e = (id, peer) => get(summary, id, peer)
  const targets = []
  const verdict = (value, ok) => (value === null || value === undefined ? 'n/a' : ok ? 'met' : 'NOT met')
  const cpu = ratio(e('echo-64', 'socketspec')?.cpuUsPerOp, e('echo-64', 'raw')?.cpuUsPerOp)
  targets.push({ target: 'echo: server CPU per message ≤ 1.15 × raw (echo-64)', value: cpu, shown: cpu === null ? '–' : `${fmt(cpu, 2)} ×`, verdict: verdict(cpu, cpu <= 1.15) })
  const thr = ratio(e('echo-64', 'socketspec')?.rate, e('echo-64', 'socketio')?.rate)
  targets.push({ target: 'echo: throughput ≥ 1.5 × Socket.IO (echo-64)', value: thr, shown: thr === null ? '–' : `${fmt(thr, 2)} ×`, verdict: verdict(thr, thr >= 1.5) })
  const p99 = e('open-sio150', 'socketspec')?.p99 ?? null
  targets.push({ target: 'echo: p99 < 10 ms at that load (open loop at 1.5 × Socket.IO\'s max)', value: p99, shown: p99 === null ? '–' : `${ms(p99)} ms`, verdict: verdict(p99, p99 < 10) })
  const b = e('bcast-1k', 'socketspec')?.rate ?? null
  targets.push({ target: 'broadcast: ≥ 150 k deliveries/s at 1,000 members', value: b, shown: b === null ? '–' : fmt(b), verdict: verdict(b, b >= 150_000) })
  const ssIdle = e('idle-10k', 'socketspec')?.perConnKB
  const rawIdle = e('idle-10k', 'raw')?.perConnKB
  const idle = ssIdle === undefined || rawIdle === undefined ? null : ssIdle - rawIdle
  targets.push({ target: 'idle memory: ≤ 10 KB RSS per connection above raw ws', value: idle, shown: idle === null ? '–' : `+${fmt(idle, 2)} KB`, verdict: verdict(idle, idle <= 10) })
  const ss100 = e('idle-100k', 'socketspec')?.perConnKB
  const raw100 = e('idle-100k', 'raw')?.perConnKB
  const idle100 = ss100 === undefined || raw100 === undefined ? null : ss100 - raw100
  // issue 14: 100,000 idle authenticated connections with heartbeats on
  if (ss100 !== undefined || raw100 !== undefined) targets.push({ target: 'idle-100k: RSS per connection below raw ws + 2 KB (issue 14)', value: idle100, shown: idle100 === null ? '–' : `${idle100 >= 0 ? '+' : ''}${fmt(idle100, 2)} KB`, verdict: verdict(idle100, idle100 < 2) })
  const cross = e('redis-cross', 'socketspec')?.p99
  const single = e('redis-single', 'socketspec')?.p99
  const redis = cross === undefined || single === undefined ? null : cross - single
  targets.push({ target: 'Redis: cross-node p99 within +5 ms of a single node', value: redis, shown: redis === null ? '–' : `${redis >= 0 ? '+' : ''}${ms(redis)} ms`, verdict: verdict(redis, redis <= 5) })
  // issue 14: the same load across two nodes on a Redis Cluster (sharded pub/sub) against one Redis
  for (const peer of ['socketspec', 'socketspec-recovery']) {
    const onCluster = e('redis-cluster-cross', peer)?.p99
    if (onCluster === undefined) continue
    const onOne = e('redis-cross', peer)?.p99
    const d = onOne === undefined ? null : onCluster - onOne
    targets.push({ target: `Redis Cluster vs single Redis: cross-node p99${peer === 'socketspec' ? '' : ' with recovery on'} (issue 14)`, value: d, shown: d === null ? `${ms(onCluster)} ms` : `${ms(onCluster)} ms vs ${ms(onOne)} ms (${d >= 0 ? '+' : ''}${ms(d)} ms)`, verdict: d === null ? 'n/a' : 'compared' })
  }
  // issue 13: the same with recovery on across the two nodes (recorded by Lua, delivered from the subscription)
  const crossRec = e('redis-cross', 'socketspec-recovery')?.p99
  if (crossRec !== undefined) {
    const d = single === undefined ? null : crossRec - single
    targets.push({ target: 'Redis with recovery on: cross-node p99 within +5 ms of a single node (issue 13)', value: d, shown: d === null ? '–' : `${d >= 0 ? '+' : ''}${ms(d)} ms`, verdict: verdict(d, d <= 5) })
  }
  return { ratios, targets }
}

/**
 * Per-round ratio of `key` between peers `a` and `b` in `scenario`: the peers
 * ran back to back in each round, so pairing cancels drift between rounds.
 * Median, min and max over the rounds where both were ok, or null.
 */
export function paired (runs, scenario, a, b, key = 'cpuUsPerOp') {
  const out = []
  for (const ra of runs) {
    if (ra.scenario !== scenario || ra.peer !== a || ra.status !== 'ok') continue
    const rb = runs.find((r) => r.scenario === scenario && r.peer === b && r.round === ra.round && r.status === 'ok')
    const v = ratio(ra[key], rb?.[key])
    if (v !== null) out.push(v)
  }
  if (out.length === 0) return null
  return { median: median(out), min: Math.min(...out), max: Math.max(...out), n: out.length }
}

/** Issue 10: socketspec against raw, outboundValidation 'always' against 'never', and against a baseline build. */
export function issue10 (summary, runs = []) {
  const rows = []
  for (const id of ['echo-64', 'echo-1k', 'bcast-1k']) {
    const ss = get(summary, id, 'socketspec')
    if (!ss) continue
    const raw = get(summary, id, 'raw')
    const nv = get(summary, id, 'socketspec-novalidate')
    const base = get(summary, id, 'socketspec-base')
    rows.push({
      scenario: id,
      cpuVsRaw: ratio(ss.cpuUsPerOp, raw?.cpuUsPerOp),
      cpuVsRawPaired: paired(runs, id, 'socketspec', 'raw'),
      alwaysVsNever: ratio(ss.cpuUsPerOp, nv?.cpuUsPerOp),
      alwaysVsNeverPaired: paired(runs, id, 'socketspec', 'socketspec-novalidate'),
      rateAlwaysVsNever: ratio(ss.rate, nv?.rate),
      afterVsBefore: ratio(ss.cpuUsPerOp, base?.cpuUsPerOp),
      afterVsBeforePaired: paired(runs, id, 'socketspec', 'socketspec-base'),
      rateAfterVsBefore: ratio(ss.rate, base?.rate),
      baseVsRaw: ratio(base?.cpuUsPerOp, raw?.cpuUsPerOp)
    })
  }
  const verdict = (value, ok) => (value === null || value === undefined ? 'n/a' : ok ? 'met' : 'NOT met')
  const e64 = rows.find((r) => r.scenario === 'echo-64')
  const vsRaw = e64?.cpuVsRaw ?? null
  const vsNever = e64?.alwaysVsNever ?? null
  const targets = [
    { target: 'echo-64: socketspec server CPU per message ≤ 0.9 × raw', value: vsRaw, shown: vsRaw === null ? '–' : `${fmt(vsRaw, 2)} ×`, verdict: verdict(vsRaw, vsRaw <= 0.9) },
    { target: 'echo-64: outboundValidation \'always\' CPU per message ≤ 1.10 × \'never\'', value: vsNever, shown: vsNever === null ? '–' : `${fmt(vsNever, 3)} × (${vsNever >= 1 ? '+' : ''}${fmt((vsNever - 1) * 100, 1)} %)`, verdict: verdict(vsNever, vsNever <= 1.1) }
  ]
  return { rows, targets }
}

const pairedCell = (p, digits = 2) => (p === null ? '–' : `${fmt(p.median, digits)} (${fmt(p.min, digits)}–${fmt(p.max, digits)})`)

/** The whole report as markdown. */
export function markdown (summary, scenarios, { header = [], runs = [] } = {}) {
  const parts = [...header]
  for (const sc of scenarios) {
    const rows = summary.filter((s) => s.scenario === sc.id)
    if (rows.length > 0) parts.push(sc.kind === 'sdk' ? sdkTable(sc, rows) : table(sc, rows))
  }
  const { ratios, targets } = comparisons(summary)
  if (ratios.length > 0) {
    parts.push('### Ratios (medians)', '', '| scenario | socketspec CPU/op ÷ raw | socketspec rate ÷ raw | socketspec rate ÷ Socket.IO | raw rate ÷ Socket.IO |', '|---|---:|---:|---:|---:|')
    for (const r of ratios) parts.push(`| ${r.scenario} | ${fmt(r.cpuVsRaw, 2)} | ${fmt(r.rateVsRaw, 2)} | ${fmt(r.rateVsSocketio, 2)} | ${fmt(r.rawVsSocketio, 2)} |`)
    parts.push('')
  }
  parts.push('### Targets of issue 7', '', '| target | measured | verdict |', '|---|---:|---|')
  for (const t of targets) parts.push(`| ${t.target} | ${t.shown} | ${t.verdict} |`)
  parts.push('')
  const i10 = issue10(summary, runs)
  if (i10.rows.some((r) => r.cpuVsRaw !== null || r.alwaysVsNever !== null || r.afterVsBefore !== null)) {
    parts.push('### Issue 10: outbound validation and before/after (CPU per message, medians)', '',
      'Ratios of medians; "per round" is the median (min–max) of the ratio taken within each round, where the two peers ran back to back.', '',
      '| scenario | socketspec ÷ raw | per round | always ÷ never | per round | rate always ÷ never | socketspec ÷ base | per round | rate socketspec ÷ base | base ÷ raw |',
      '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|')
    for (const r of i10.rows) {
      parts.push(`| ${r.scenario} | ${fmt(r.cpuVsRaw, 2)} | ${pairedCell(r.cpuVsRawPaired)} | ${fmt(r.alwaysVsNever, 3)} | ${pairedCell(r.alwaysVsNeverPaired, 3)} | ${fmt(r.rateAlwaysVsNever, 3)} | ${fmt(r.afterVsBefore, 3)} | ${pairedCell(r.afterVsBeforePaired, 3)} | ${fmt(r.rateAfterVsBefore, 3)} | ${fmt(r.baseVsRaw, 2)} |`)
    }
    parts.push('', '### Targets of issue 10', '', '| target | measured | verdict |', '|---|---:|---|')
    for (const t of i10.targets) parts.push(`| ${t.target} | ${t.shown} | ${t.verdict} |`)
    parts.push('')
  }
  parts.push(...issue12Markdown(summary, runs))
  parts.push(...issue14Sharded(summary, runs))
  return parts.join('\n')
}

/** Issue 14: sharded delivery against the single-channel design (socketspec-base), redis-sharded. */
export function issue14Sharded (summary, runs = []) {
  const ss = get(summary, 'redis-sharded', 'socketspec')
  const base = get(summary, 'redis-sharded', 'socketspec-base')
  if (!ss) return []
  const cpu = ratio(ss.cpuUsPerOp, base?.cpuUsPerOp)
  const cpuPaired = paired(runs, 'redis-sharded', 'socketspec', 'socketspec-base')
  const verdict = (value, ok) => (value === null || value === undefined ? 'n/a' : ok ? 'met' : 'NOT met')
  const foreign = ss.foreignTotal ?? null
  return [
    '### Issue 14: sharded delivery (redis-sharded)', '',
    '| target | measured | verdict |', '|---|---:|---|',
    `| messages received for rooms a node does not serve: 0 (all nodes, over the window) | ${fmt(foreign)}${base?.foreignTotal !== undefined ? ` (single channel: ${fmt(base.foreignTotal)})` : ''} | ${verdict(foreign, foreign === 0)} |`,
    `| total server CPU per delivery vs the single-channel design (socketspec ÷ socketspec-base) | ${cpu === null ? '–' : `${fmt(cpu, 3)} ×`}${cpuPaired === null ? '' : `, per round ${pairedCell(cpuPaired, 3)}`} | ${verdict(cpu, cpu < 1)} |`,
    ''
  ]
}
