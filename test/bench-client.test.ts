import t, { type Test } from 'tap'
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { start, type Child } from '../bench/lib/proc.mjs'
import { issue12, issue12Markdown } from '../bench/lib/report-sdk.mjs'
import { sdkLoop, type SdkPeer } from '../bench/load/sdk.mjs'
import { bareNode } from './helpers/project.js'

// Smoke test of issue 12's client SDK scenario (bench/load/sdk.mjs, sdk-* in
// bench/run.mjs) with tiny counts: sane numbers, no timing asserted.
// SOCKETSPEC_BENCH_DIST=DIR runs the socketspec side from another build's dist/ (default ./dist).
// Its children run without tap's process-info loader (bareNode): they load dist/, not the sources.

const bench = (p: string): string => fileURLToPath(new URL(`../bench/${p}`, import.meta.url))
const dist = process.env.SOCKETSPEC_BENCH_DIST || null

/** Start a peer's bench server (unpinned); null when it has no client SDK to test (only outside CI). */
async function server (tt: Test, peer: SdkPeer): Promise<{ child: Child, port: number } | null> {
  const child = start(...bareNode([bench(`servers/${peer}.mjs`)]), {
    pin: false,
    env: { PORT: '0', ...(dist !== null ? { BENCH_SOCKETSPEC_DIST: dist } : {}) },
    label: `${peer} server`
  })
  tt.teardown(() => child.stop())
  const msg = await child.waitFor(['ready', 'unavailable'], 30_000)
  const reason = msg.type === 'unavailable' ? msg.reason : msg.features?.sdk === false ? 'the build has no dist/lib/client (npm run build:ts)' : null
  if (reason !== null) {
    if (process.env.CI === 'true') throw new Error(`${peer} peer unavailable in CI: ${reason}`)
    tt.comment(`skipping ${peer}: ${reason}`)
    return null
  }
  return { child, port: msg.port }
}

// The harness end to end, started at once so that it runs while the tests
// above do (server start-ups are most of the time). socketspec only: Socket.IO's
// side of the workload is the loop test above, and every peer adds a start-up.
const e2eDir = mkdtempSync(join(tmpdir(), 'bench-sdk-'))
const e2eOut = join(e2eDir, 'r.json')
// Its JSON is read (and the directory removed) when it exits: nothing is left behind when the test using it is filtered out.
const e2e = new Promise<{ code: number | null, stdout: string, stderr: string, json: string | null }>((resolve) => {
  const args = ['--scenario', 'sdk-64', '--peer', 'socketspec', '--rounds', '1', '--warmup', '0.1', '--window', '0.3', '--no-pin', '--out', e2eOut]
  if (dist !== null) args.push('--dist', dist)
  const child = spawn(...bareNode([bench('run.mjs'), ...args]), { stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d) => { stdout += d })
  child.stderr.on('data', (d) => { stderr += d })
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
  child.on('exit', (code) => {
    clearTimeout(timer)
    let json: string | null = null
    try {
      json = readFileSync(e2eOut, 'utf8')
    } catch {}
    rmSync(e2eDir, { recursive: true, force: true })
    resolve({ code, stdout, stderr, json })
  })
})

t.test('request loops on one SDK client get every reply, right (socket.io-client and socketspec)', async (t) => {
  const peers: SdkPeer[] = ['socketio', 'socketspec']
  // Both servers start and run at once: their start-up is most of this test's time.
  const servers = await Promise.all(peers.map((peer) => server(t, peer)))
  await Promise.all(peers.map(async (peer, i) => {
    const s = servers[i]
    if (s === null) return
    await s.child.request('mark')
    const r = await sdkLoop({ peer, port: s.port, concurrency: 4, clientDist: dist, warmupMs: 0, windowMs: 10_000, maxRequests: 200 }, {
      windowStart: async () => null,
      windowEnd: () => s.child.request('report'),
      loaded: async () => null
    })
    t.equal(r.total, 200, `${peer}: the request budget was spent`)
    t.equal(r.count, 200, `${peer}: all of it inside the window`)
    t.equal(r.errors, 0, `${peer}: no request failed ${r.lastError ?? ''}`)
    t.equal(r.mismatches, 0, `${peer}: every reply carried the sum of its own request`)
    t.equal(r.lost, 0, `${peer}: no loop left waiting`)
    t.equal(r.latency.count, 200, `${peer}: one latency per request`)
    t.ok(r.clientCpuPct > 0, `${peer}: the client process used CPU`)
    t.ok(r.server.cpuUs > 0, `${peer}: the server used CPU`)
    t.equal(r.concurrency, 4)
  }))
})

t.test('issue-12 ratios read larger-is-better for socketspec, per round too', async (t) => {
  const row = (peer: string, round: number, rate: number, clientCpuUsPerOp: number) =>
    ({ scenario: 'sdk-64', peer, round, status: 'ok', rate, clientCpuUsPerOp, cpuUsPerOp: 10 })
  const runs = [row('socketio', 0, 100, 40), row('socketspec', 0, 250, 10), row('socketio', 1, 100, 40), row('socketspec', 1, 150, 20)]
  const summary = [
    { scenario: 'sdk-64', kind: 'sdk', peer: 'socketio', status: 'ok', rate: 100, clientCpuUsPerOp: 40, cpuUsPerOp: 10 },
    { scenario: 'sdk-64', kind: 'sdk', peer: 'socketspec', status: 'ok', rate: 200, clientCpuUsPerOp: 15, cpuUsPerOp: 5 }
  ]
  const { rows, targets } = issue12(summary, runs)
  t.equal(rows[0].rate, 2)
  t.equal(rows[0].clientCpu, 40 / 15)
  t.equal(rows[0].serverCpu, 2)
  t.same(rows[0].ratePaired, { median: 2, min: 1.5, max: 2.5, n: 2 })
  t.same(rows[0].clientCpuPaired, { median: 3, min: 2, max: 4, n: 2 })
  t.same(targets.map((x) => x.verdict), ['met', 'met'])
  t.match(issue12Markdown(summary, runs).join('\n'), /\| sdk-64 \| 2\.00 \| 2\.00 \(1\.50–2\.50\) \| 2\.67 \|/)
  t.same(issue12Markdown([], []), [], 'nothing when no sdk scenario ran')
})

t.test('the harness runs sdk-64 end to end and writes client CPU per request', async (t) => {
  const r = await e2e
  if (r.code !== 0) t.comment(r.stderr)
  t.equal(r.code, 0, 'harness exits 0')
  t.match(r.stdout, /### sdk-64: /)
  t.match(r.stdout, /### Issue 12: client SDK against socket\.io-client/)
  t.not(r.json, null, 'it wrote its JSON')
  const json = JSON.parse(r.json ?? '{}')
  const rows = json.runs.filter((x: any) => x.scenario === 'sdk-64')
  t.same(rows.map((x: any) => x.peer), ['socketspec'], 'one round of the one peer asked for')
  for (const row of rows) {
    if (row.status === 'unavailable' && process.env.CI !== 'true') {
      t.comment(`${row.peer} not available: ${row.reason}`)
      continue
    }
    t.equal(row.status, 'ok', `${row.peer}: ${row.reason ?? ''}`)
    t.ok(row.rate > 0 && row.clientCpuUsPerOp > 0 && row.cpuUsPerOp > 0 && row.p99 > 0, `${row.peer} has req/s, client and server CPU per request, p99`)
    t.notOk(row.flags.some((f: string) => /errors|wrong replies|unanswered/.test(f)), `${row.peer}: no failed or wrong request (${row.flags.join('; ')})`)
  }
})
