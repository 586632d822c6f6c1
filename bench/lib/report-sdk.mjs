// Issue 12's part of the report: the client SDK scenarios (sdk-1, sdk-64),
// socketspec's `client.request()` against socket.io-client's `emitWithAck`.
import { median } from './stats.mjs'

const fmt = (v, digits = 0) => (v === null || v === undefined || !Number.isFinite(v) ? '–' : v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }))
const pct = (v) => (v === null || v === undefined ? '' : ` ±${fmt((v * 100) / 2, 1)} %`)
const ms = (v) => fmt(v, v !== null && v !== undefined && v < 10 ? 2 : 1)
const ratio = (a, b) => (a === null || b === null || a === undefined || b === undefined || b === 0 ? null : a / b)

/** The table of one sdk scenario: the client's numbers first, the server's after. */
export function sdkTable (sc, rows) {
  const lines = [`### ${sc.id}: ${sc.title}`, '',
    '| peer | req/s | client CPU µs / req | of which user + system | client CPU % | server CPU µs / req | server CPU % | latency p50 ms | latency p99 ms | notes |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---|']
  for (const s of rows) {
    if (s.status !== 'ok') {
      lines.push(`| ${s.peer} | ${s.status === 'unavailable' ? 'not available' : 'failed'}: ${s.reason} | | | | | | | | |`)
      continue
    }
    lines.push(`| ${s.peer} | ${fmt(s.rate)}${pct(s.spread)} | ${fmt(s.clientCpuUsPerOp, 2)} | ${fmt(s.clientUserUsPerOp, 1)} + ${fmt(s.clientSystemUsPerOp, 1)} | ${fmt(s.clientCpuPct)} | ${fmt(s.cpuUsPerOp, 2)} | ${fmt(s.serverCpuPct)} | ${ms(s.p50)} | ${ms(s.p99)} | ${s.flags.join('; ')} |`)
  }
  lines.push('')
  return lines.join('\n')
}

/**
 * Per-round ratio `f(a's row, b's row)` in `scenario` (the two ran back to back
 * in each round): median, min and max over the rounds where both were ok.
 */
function pairedBy (runs, scenario, a, b, f) {
  const out = []
  for (const ra of runs) {
    if (ra.scenario !== scenario || ra.peer !== a || ra.status !== 'ok') continue
    const rb = runs.find((r) => r.scenario === scenario && r.peer === b && r.round === ra.round && r.status === 'ok')
    const v = rb === undefined ? null : f(ra, rb)
    if (v !== null && Number.isFinite(v)) out.push(v)
  }
  if (out.length === 0) return null
  return { median: median(out), min: Math.min(...out), max: Math.max(...out), n: out.length }
}

const cell = (p) => (p === null ? '–' : `${fmt(p.median, 2)} (${fmt(p.min, 2)}–${fmt(p.max, 2)})`)

/**
 * Issue 12's ratios, both written so that larger is better for socketspec:
 * req/s socketspec ÷ Socket.IO, and client CPU per request Socket.IO ÷ socketspec
 * (the "× less CPU"). Also `peer` (e.g. socketspec-base: another client build) ÷ socketspec.
 */
export function issue12 (summary, runs = []) {
  const get = (id, peer) => summary.find((s) => s.scenario === id && s.peer === peer && s.status === 'ok')
  const rows = []
  for (const id of [...new Set(summary.filter((s) => s.kind === 'sdk').map((s) => s.scenario))]) {
    const ss = get(id, 'socketspec')
    const sio = get(id, 'socketio')
    const base = get(id, 'socketspec-base')
    rows.push({
      scenario: id,
      rate: ratio(ss?.rate, sio?.rate),
      ratePaired: pairedBy(runs, id, 'socketspec', 'socketio', (a, b) => ratio(a.rate, b.rate)),
      clientCpu: ratio(sio?.clientCpuUsPerOp, ss?.clientCpuUsPerOp),
      clientCpuPaired: pairedBy(runs, id, 'socketspec', 'socketio', (a, b) => ratio(b.clientCpuUsPerOp, a.clientCpuUsPerOp)),
      serverCpu: ratio(sio?.cpuUsPerOp, ss?.cpuUsPerOp),
      baseRate: ratio(base?.rate, ss?.rate),
      baseClientCpu: ratio(ss?.clientCpuUsPerOp, base?.clientCpuUsPerOp),
      baseClientCpuPaired: pairedBy(runs, id, 'socketspec-base', 'socketspec', (a, b) => ratio(b.clientCpuUsPerOp, a.clientCpuUsPerOp))
    })
  }
  const verdict = (v) => (v === null ? 'n/a' : v >= 2 ? 'met' : 'NOT met')
  const targets = []
  for (const r of rows) {
    targets.push({ target: `${r.scenario}: requests/s ≥ 2 × socket.io-client`, value: r.rate, shown: r.rate === null ? '–' : `${fmt(r.rate, 2)} ×`, verdict: verdict(r.rate) })
    targets.push({ target: `${r.scenario}: client CPU per request ≤ ½ socket.io-client's`, value: r.clientCpu, shown: r.clientCpu === null ? '–' : `${fmt(r.clientCpu, 2)} × less`, verdict: verdict(r.clientCpu) })
  }
  return { rows, targets }
}

/**
 * Medians over the runs not flagged `contended` only (other load ≤ 15 % of a
 * core), per sdk scenario and peer: on a shared machine the plain medians mix
 * quiet and contended windows.
 */
export function uncontended (runs) {
  const out = []
  const sdkRuns = runs.filter((r) => r.status === 'ok' && r.clientCpuUsPerOp !== undefined && /^sdk-/.test(r.scenario))
  for (const scenario of [...new Set(sdkRuns.map((r) => r.scenario))]) {
    for (const peer of [...new Set(sdkRuns.filter((r) => r.scenario === scenario).map((r) => r.peer))]) {
      const all = sdkRuns.filter((r) => r.scenario === scenario && r.peer === peer)
      const quiet = all.filter((r) => !(r.flags ?? []).includes('contended'))
      out.push({
        scenario,
        peer,
        n: quiet.length,
        of: all.length,
        rate: median(quiet.map((r) => r.rate)),
        clientCpuUsPerOp: median(quiet.map((r) => r.clientCpuUsPerOp)),
        cpuUsPerOp: median(quiet.map((r) => r.cpuUsPerOp))
      })
    }
  }
  return out
}

/** Issue 12's markdown (empty when no sdk scenario ran). */
export function issue12Markdown (summary, runs = []) {
  const { rows, targets } = issue12(summary, runs)
  if (rows.length === 0) return []
  const parts = ['### Issue 12: client SDK against socket.io-client (medians)', '',
    'Larger is better for socketspec in every column: req/s socketspec ÷ Socket.IO, CPU per request Socket.IO ÷ socketspec. ' +
    '"Per round" is the median (min–max) of the ratio taken within each round, where the two ran back to back.', '',
    '| scenario | req/s ratio | per round | client CPU/req ratio | per round | server CPU/req ratio | base req/s ÷ socketspec | socketspec client CPU ÷ base | per round |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|']
  for (const r of rows) {
    parts.push(`| ${r.scenario} | ${fmt(r.rate, 2)} | ${cell(r.ratePaired)} | ${fmt(r.clientCpu, 2)} | ${cell(r.clientCpuPaired)} | ${fmt(r.serverCpu, 2)} | ${fmt(r.baseRate, 2)} | ${fmt(r.baseClientCpu, 2)} | ${cell(r.baseClientCpuPaired)} |`)
  }
  const quiet = uncontended(runs)
  if (quiet.some((q) => q.n < q.of)) {
    parts.push('', 'Runs not flagged contended only (medians; n of the rounds; ratios as above, against socketio):', '',
      '| scenario | peer | n | req/s | client CPU µs / req | server CPU µs / req | req/s ratio | client CPU/req ratio |',
      '|---|---|---:|---:|---:|---:|---:|---:|')
    for (const q of quiet) {
      const sio = quiet.find((x) => x.scenario === q.scenario && x.peer === 'socketio')
      const vs = q.peer === 'socketio' ? ['', ''] : [fmt(ratio(q.rate, sio?.rate), 2), fmt(ratio(sio?.clientCpuUsPerOp, q.clientCpuUsPerOp), 2)]
      parts.push(`| ${q.scenario} | ${q.peer} | ${q.n}/${q.of} | ${fmt(q.rate)} | ${fmt(q.clientCpuUsPerOp, 2)} | ${fmt(q.cpuUsPerOp, 2)} | ${vs[0]} | ${vs[1]} |`)
    }
  }
  parts.push('', '### Targets of issue 12', '', '| target | measured | verdict |', '|---|---:|---|')
  for (const t of targets) parts.push(`| ${t.target} | ${t.shown} | ${t.verdict} |`)
  parts.push('')
  return parts
}
