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
import { bareNode } from './helpers/project.js'
import { startRedis, type RedisServer } from './helpers/redis.js'

// Smoke tests of the benchmark harness's pieces with tiny counts: no timing is asserted.

const bench = (p: string): string => fileURLToPath(new URL(`../bench/${p}`, import.meta.url))
const PEERS: Peer[] = ['raw', 'socketio', 'socketspec']

// Children without tap's process-info loader (bareNode): this file's coverage map is null and
// bench/ is excluded. bench/run.mjs passes its clean environment on to its children.
const node = bareNode

interface Server { child: Child, port: number }

/** Start a peer server (unpinned), stopped in `tt`'s teardown, or null (with a comment) when it reports itself unavailable. */
async function server (tt: Pick<Test, 'teardown' | 'comment'>, peer: Peer, env: Record<string, string> = {}): Promise<Server | null> {
  const child = start(...node(['--expose-gc', bench(`servers/${peer}.mjs`)]), {
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

/** `make()` the first time `key` is asked for, the same promise after that. */
function once<T> (cache: Map<string, Promise<T>>, key: string, make: () => Promise<T>): Promise<T> {
  let p = cache.get(key)
  if (p === undefined) cache.set(key, (p = make()))
  return p
}

// The servers are shared by the tests below, started on first use and stopped
// when the file ends; the Redis test's pairs are the raw and socketspec servers
// the other tests use, all on one Redis (or, outside CI without redis-server,
// the same servers without it, and that test skips).
const shared = new Map<string, Promise<any>>()

/** The file's redis-server, or null (with a comment) when it is not installed (outside CI). */
const redis = (): Promise<RedisServer | null> => once(shared, 'redis', () => startRedis(t))

/** `peer`'s server with `env`; raw's and socketspec's also on the file's Redis, as node `name`. */
const redisNode = (peer: Peer, env: Record<string, string>, name: string): Promise<Server | null> => once(shared, `${peer} ${name}`, async () => {
  const r = peer === 'socketio' ? null : await redis()
  return await server(t, peer, r === null ? env : { ...env, BENCH_REDIS_URL: r.url, BENCH_NODE: name })
})

/**
 * The plain server of `peer` (no auth, default heartbeat): the load generator's
 * test (for raw and socketspec its broadcasts go through Redis), for raw the
 * mark/report test (nothing else marks it), node B of the Redis test.
 */
const plain = (peer: Peer): Promise<Server | null> => redisNode(peer, {}, 'b')

/** The JWT server of `peer` (heartbeats every 0.2 s): the storm and idle test, node A of the Redis test. */
const jwt = (peer: Peer): Promise<Server | null> => redisNode(peer, { BENCH_AUTH: 'jwt', BENCH_HEARTBEAT: '0.2' }, 'a')

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
    // The next test's server starts meanwhile (its test sees any failure).
    jwt(peer).catch(() => {})
    const s = await plain(peer)
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
    const s = await jwt(peer)
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
  const s = await plain('raw')
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
  const r = await redis()
  if (r === null) return
  const pairs: Peer[] = ['raw', 'socketspec']
  // Node A is the peer's JWT server, node B its plain one.
  const nodes = await Promise.all(pairs.map((peer) => Promise.all([jwt(peer), plain(peer)])))
  for (const [i, peer] of pairs.entries()) {
    const [a, b] = nodes[i]
    if (a === null || b === null) continue
    // The sender needs a token on node A; node B (no auth) ignores the members' ones.
    const tokens = makeTokens(4)
    const res = await broadcast({ peer, ports: [b.port], senderPort: a.port, members: 3, mode: 'open', rate: 50, warmupMs: 0, windowMs: 10_000, maxBroadcasts: 5, tokens })
    t.equal(res.broadcasts, 5, `${peer}: sender on node A reached members on node B`)
    t.equal(res.deliveries, 15)
  }
})

function runHarness (args: string[]): Promise<{ code: number | null, stdout: string, stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(...node([bench('run.mjs'), ...args]), { stdio: ['ignore', 'pipe', 'pipe'] })
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

t.test('the harness runs scenarios end to end and writes its JSON', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  // Two runs side by side, the cheapest that show every part: echo-64 of raw and Socket.IO (markdown
  // rows, JSON with rate, CPU per message and p99), and redis-cross of Socket.IO alone (the harness
  // starts Redis, the peer reports it cannot: the row fails soft). raw's redis-cross run (two servers,
  // Redis and a load generator: the most CPU of the three) is left out, as no check here read its row.
  const timing = ['--rounds', '1', '--warmup', '0', '--window', '0.2', '--no-pin']
  const [echo, cross] = await Promise.all([
    runHarness(['--scenario', 'echo-64', '--peer', 'raw,socketio', ...timing, '--out', join(dir, 'echo.json')]),
    runHarness(['--scenario', 'redis-cross', '--peer', 'socketio', ...timing, '--out', join(dir, 'cross.json')])
  ])
  for (const [what, r] of [['echo-64', echo], ['redis-cross', cross]] as const) {
    if (r.code !== 0) t.comment(r.stderr)
    t.equal(r.code, 0, `harness exits 0 (${what})`)
    t.match(r.stdout, /### Targets of issue 7/, `targets section (${what})`)
  }
  t.match(echo.stdout, /\| raw \| [\d,]+/, 'raw row in the markdown table')
  t.match(echo.stdout, /\| socketio \| [\d,]+/, 'socketio row in the markdown table')
  t.match(cross.stdout, /### redis-cross:[^]*\| socketio \| not available: /, 'Socket.IO has no Redis row: fails soft')
  const json = JSON.parse(readFileSync(join(dir, 'echo.json'), 'utf8'))
  const rows = json.runs.filter((x: any) => x.scenario === 'echo-64')
  t.equal(rows.length, 2)
  for (const row of rows) {
    t.equal(row.status, 'ok', `${row.peer}: ${row.reason ?? ''}`)
    t.ok(row.rate > 0 && row.cpuUsPerOp > 0 && row.p99 > 0, `${row.peer} has rate, CPU per message and p99`)
  }
  t.ok(json.summary.length >= 2)
  const soft = JSON.parse(readFileSync(join(dir, 'cross.json'), 'utf8')).runs
  t.match(soft, [{ scenario: 'redis-cross', peer: 'socketio', status: 'unavailable' }], 'the JSON keeps the unavailable row')
})

t.test('the harness rejects unknown scenarios and lists the known ones', async (t) => {
  const [bad, list] = await Promise.all([runHarness(['--scenario', 'nope']), runHarness(['--list'])])
  t.equal(bad.code, 2)
  t.match(bad.stderr, /unknown scenario nope/)
  t.equal(list.code, 0)
  t.match(list.stdout, /echo-64/)
  t.match(list.stdout, /redis-cross/)
})
