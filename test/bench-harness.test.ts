import t, { type Test } from 'tap'
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { start, type Child } from '../bench/lib/proc.mjs'
import { Histogram, median, spread } from '../bench/lib/stats.mjs'
import { JWT_SECRET, makeTokens } from '../bench/lib/tokens.mjs'
import { clientFrame, connect, echoSeq, padded, type Peer } from '../bench/lib/wire.mjs'
import { broadcast } from '../bench/load/broadcast.mjs'
import { idle, storm } from '../bench/load/connections.mjs'
import { closedLoop, openLoop } from '../bench/load/echo.mjs'
import { WebSocketServer } from 'ws'
import { startRedis } from './helpers/redis.js'

// Smoke tests of the benchmark harness's pieces with tiny counts: no timing is asserted.

const bench = (p: string): string => fileURLToPath(new URL(`../bench/${p}`, import.meta.url))
const PEERS: Peer[] = ['raw', 'socketio', 'socketspec']

interface Server { child: Child, port: number }

/** Start a peer server (unpinned), or null (with a comment) when it reports itself unavailable. */
async function server (tt: Test, peer: Peer, env: Record<string, string> = {}): Promise<Server | null> {
  const child = start(process.execPath, ['--expose-gc', bench(`servers/${peer}.mjs`)], {
    pin: false,
    env: { PORT: '0', BENCH_JWT_SECRET: JWT_SECRET, ...env },
    label: `${peer} server`
  })
  tt.teardown(() => child.stop())
  const msg = await child.waitFor(['ready', 'unavailable'], 30_000)
  if (msg.type === 'unavailable') {
    // The socketspec peer runs from dist/, which `npm test` builds first: in CI it must be there.
    if (process.env.CI === 'true' && peer === 'socketspec') throw new Error(`socketspec peer unavailable in CI: ${msg.reason}`)
    tt.comment(`skipping ${peer}: ${msg.reason}`)
    return null
  }
  return { child, port: msg.port }
}

t.test('histogram percentiles, median and spread', async (t) => {
  const h = new Histogram()
  t.equal(h.percentileMs(50), null)
  for (let i = 1; i <= 1000; i++) h.recordMs(i / 100) // 0.01 .. 10 ms
  const s = h.summary()
  t.equal(s.count, 1000)
  t.ok(Math.abs((s.p50 as number) - 5) < 0.05, `p50 ${s.p50}`)
  t.ok(Math.abs((s.p99 as number) - 9.9) < 0.05, `p99 ${s.p99}`)
  t.equal(s.max, 10)
  h.reset()
  t.equal(h.summary().count, 0)
  t.equal(median([3, 1, 2]), 2)
  t.equal(median([4, 1, 2, 3]), 2.5)
  t.equal(median([]), null)
  t.equal(spread([90, 100, 110]), 0.2)
  t.equal(spread([1]), null)
})

t.test('client frames are valid masked text frames of every length class', async (t) => {
  for (const len of [5, 125, 126, 65535, 70_000]) {
    const text = 'x'.repeat(len)
    const f = clientFrame(text)
    t.equal(f[0], 0x81, 'FIN + text opcode')
    t.equal(f[1] & 0x80, 0x80, 'masked')
    const code = f[1] & 0x7f
    const headerLen = code < 126 ? 6 : code === 126 ? 8 : 14
    const declared = code < 126 ? code : code === 126 ? f.readUInt16BE(2) : Number(f.readBigUInt64BE(2))
    t.equal(declared, len, `length ${len}`)
    t.equal(f.length, headerLen + len)
    t.same([...f.subarray(headerLen - 4, headerLen)], [0, 0, 0, 0], 'all-zero masking key')
  }
  t.equal(echoSeq(Buffer.from(`{"event":"echo_response","payload":{"echo":"${padded(1234, 64)}"}}`)), 1234)
  t.equal(padded(7, 64).length, 64)
  t.equal(echoSeq(Buffer.from('{"event":"other"}')), -1)
})

t.test('the lean frame reader splits, joins and answers frames like ws would', { timeout: 15_000 }, async (t) => {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 })
  t.teardown(() => new Promise((resolve) => wss.close(resolve)))
  await new Promise((resolve) => wss.once('listening', resolve))
  const sizes = [5, 125, 126, 300, 65535, 70_000]
  const pong = new Promise<string>((resolve) => {
    wss.on('connection', (ws) => {
      ws.on('pong', (data) => resolve(String(data)))
      ws.on('message', () => {
        // The whole burst goes out in one write: the client sees frames coalesced and split across reads.
        const raw = (ws as any)._socket
        raw.cork()
        for (const n of sizes) ws.send(`{"echo":"${padded(n, n - 10)}"}`)
        ws.ping('hb')
        raw.uncork()
      })
    })
  })
  const { port } = wss.address() as { port: number }
  const conn = await connect('raw', port)
  const got: number[] = []
  const all = new Promise<void>((resolve) => {
    conn.onMessage = (buf) => {
      got.push(buf.length)
      if (got.length === sizes.length) resolve()
    }
  })
  conn.send(clientFrame('go'))
  await all
  t.same(got, sizes.map((n) => `{"echo":"${padded(n, n - 10)}"}`.length), 'every frame delivered whole, in order')
  t.equal(await pong, 'hb', 'pings are answered with the same payload')
  conn.terminate()
})

for (const peer of PEERS) {
  t.test(`${peer}: echo, open loop, broadcast and idle through the load generator`, async (t) => {
    const s = await server(t, peer)
    if (s === null) return
    const closed = await closedLoop({ peer, port: s.port, connections: 2, inflight: 2, warmupMs: 0, windowMs: 10_000, maxMessages: 40 })
    t.ok(closed.total >= 40, `closed loop completed ${closed.total}`)
    t.equal(closed.lost, 0, 'every echo answered')
    t.equal(closed.unmatched, 0, 'every reply matched a sequence number')
    t.equal(closed.errors, 0)
    t.ok(closed.latency.count > 0)

    const big = await closedLoop({ peer, port: s.port, connections: 1, inflight: 2, payloadBytes: 1024, warmupMs: 0, windowMs: 10_000, maxMessages: 6 })
    t.ok(big.total >= 6, '1 KB echoes answered')
    t.equal(big.lost, 0)

    const open = await openLoop({ peer, port: s.port, connections: 3, rate: 500, warmupMs: 0, windowMs: 10_000, maxMessages: 20 })
    t.equal(open.sent, 20, 'open loop sent its budget')
    t.equal(open.total, 20, 'open loop got every reply')
    t.equal(open.lost, 0)
    t.equal(open.overruns, 0)

    const b = await broadcast({ peer, ports: [s.port], members: 5, mode: 'closed', inflight: 2, warmupMs: 0, windowMs: 10_000, maxBroadcasts: 4 })
    t.equal(b.broadcasts, 4, 'every broadcast reached all members')
    t.equal(b.deliveries, 20, 'one delivery per member per broadcast')
    t.equal(b.errors, 0)
    t.notOk(b.stalled)

    const base = await s.child.request('memory')
    const i = await idle({ peer, port: s.port, connections: 5 }, {
      windowStart: async () => null,
      windowEnd: async () => null,
      loaded: () => s.child.request('memory')
    })
    t.equal(i.connections, 5)
    t.ok(i.server.rss > 0 && base.rss > 0, 'server reports its RSS')
  })

  t.test(`${peer}: JWT connect storm, and a bad token is refused${peer === 'socketio' ? '' : '; idle-100k\'s path (idle connections over several source addresses, heartbeats answered through a measured window)'}`, async (t) => {
    const s = await server(t, peer, { BENCH_AUTH: 'jwt', BENCH_HEARTBEAT: '0.2' })
    if (s === null) return
    const tokens = makeTokens(3)
    const r = await storm({ peer, port: s.port, concurrency: 2, tokens, warmupMs: 0, windowMs: 10_000, maxHandshakes: 6 })
    t.equal(r.total, 6, 'six handshakes completed')
    t.equal(r.failures, 0)
    await t.rejects(connect(peer, s.port, { token: makeTokens(1, 'another-secret-of-sufficient-length!!')[0], timeoutMs: 5000 }), 'wrong signature refused')
    await t.rejects(connect(peer, s.port, { token: null, timeoutMs: 5000 }), 'missing token refused')
    if (peer === 'socketio') return
    let marked = 0
    const held = await idle({ peer, port: s.port, connections: 40, tokens: makeTokens(40), concurrency: 8, localAddresses: ['127.0.0.2', '127.0.0.3'], holdMs: 700 }, {
      windowStart: async () => { marked++; return await s.child.request('mark') },
      windowEnd: async () => [await s.child.request('report')],
      loaded: () => s.child.request('memory')
    })
    t.equal(held.connections, 40, 'every idle connection joined')
    t.same(held.addresses, { '127.0.0.2': 20, '127.0.0.3': 20 }, 'spread evenly over the source addresses')
    t.equal(marked, 1, 'one measured window')
    t.ok(held.steady !== null && held.steady.server[0].cpuPct >= 0 && held.steady.elapsedMs >= 700, 'the server reported its CPU over the idle window')
    t.equal(held.closed, 0, 'no connection closed for a missed heartbeat (every 0.2 s here): the generator answers them')
    t.equal(held.errors, 0, `no error ${held.lastError ?? ''}`)
  })
}

t.test('server control: mark and report measure CPU over a window', async (t) => {
  const s = await server(t, 'raw')
  if (s === null) return
  await t.rejects(s.child.request('report'), /report before mark/)
  await s.child.request('mark')
  await closedLoop({ peer: 'raw', port: s.port, connections: 1, inflight: 1, warmupMs: 0, windowMs: 10_000, maxMessages: 10 })
  const rep = await s.child.request('report')
  t.ok(rep.cpuUs > 0, 'server used CPU')
  t.ok(rep.wallUs > 0)
  t.ok(rep.cpuPct >= 0 && rep.cpuPct <= 100 * 4)
})

t.test('two nodes over Redis deliver a broadcast across nodes', async (t) => {
  const redis = await startRedis(t)
  if (redis === null) return
  for (const peer of ['raw', 'socketspec'] as Peer[]) {
    const [a, b] = await Promise.all([
      server(t, peer, { BENCH_REDIS_URL: redis.url, BENCH_NODE: 'a' }),
      server(t, peer, { BENCH_REDIS_URL: redis.url, BENCH_NODE: 'b' })
    ])
    if (a === null || b === null) continue
    const r = await broadcast({ peer, ports: [b.port], senderPort: a.port, members: 3, mode: 'open', rate: 50, warmupMs: 0, windowMs: 10_000, maxBroadcasts: 5 })
    t.equal(r.broadcasts, 5, `${peer}: sender on node A reached members on node B`)
    t.equal(r.deliveries, 15)
  }
})

function runHarness (args: string[]): Promise<{ code: number | null, stdout: string, stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bench('run.mjs'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => { stdout += d })
    child.stderr.on('data', (d) => { stderr += d })
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000)
    child.on('exit', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

t.test('the harness runs a scenario end to end and writes its JSON', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const out = join(dir, 'r.json')
  const r = await runHarness(['--scenario', 'echo-64,redis-cross', '--peer', 'raw,socketio', '--rounds', '1', '--warmup', '0.1', '--window', '0.3', '--no-pin', '--out', out])
  if (r.code !== 0) t.comment(r.stderr)
  t.equal(r.code, 0, 'harness exits 0')
  t.match(r.stdout, /\| raw \| [\d,]+/, 'raw row in the markdown table')
  t.match(r.stdout, /\| socketio \| [\d,]+/, 'socketio row in the markdown table')
  t.match(r.stdout, /\| socketio \| not available: /, 'Socket.IO has no Redis row: fails soft')
  t.match(r.stdout, /### Targets of issue 7/)
  const json = JSON.parse(readFileSync(out, 'utf8'))
  const echo = json.runs.filter((x: any) => x.scenario === 'echo-64')
  t.equal(echo.length, 2)
  for (const row of echo) {
    t.equal(row.status, 'ok', `${row.peer}: ${row.reason ?? ''}`)
    t.ok(row.rate > 0 && row.cpuUsPerOp > 0 && row.p99 > 0, `${row.peer} has rate, CPU per message and p99`)
  }
  t.ok(json.summary.length >= 2)
})

t.test('the harness rejects unknown scenarios and lists the known ones', async (t) => {
  const [bad, list] = await Promise.all([runHarness(['--scenario', 'nope']), runHarness(['--list'])])
  t.equal(bad.code, 2)
  t.match(bad.stderr, /unknown scenario nope/)
  t.equal(list.code, 0)
  t.match(list.stdout, /echo-64/)
  t.match(list.stdout, /redis-cross/)
})
