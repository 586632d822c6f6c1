// Issue 14, idle-100k: where socketspec's per-connection memory goes.
//
//   node --expose-gc --import=./scripts/ts-loader.mjs bench/idle-profile.mjs [N] [settleSeconds] [raw]
//
// With `raw` the server is the baseline instead: @fastify/websocket as in
// bench/servers/raw.mjs (JWT verified before the upgrade, rooms a Map of Sets,
// a ping control frame to every socket each 5 s).
// Starts socketspec from this checkout's sources in-process (JWT auth, heartbeats
// every 5 s, a `join` event), opens N idle clients (default 4000) from a child
// process with bench/lib/wire.mjs `connect()` (JWT), joins each to one room, lets
// a few heartbeats pass, then reports heap and RSS bytes per connection and a
// heap-snapshot diff (before the clients / after them, garbage collected) by
// object type: self bytes and count per connection, biggest first.
// Not a benchmark: a diagnostic, bounded in count and time, loopback only.
import { fork } from 'node:child_process'
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import v8 from 'node:v8'
import { pingEvery, trackPongs } from './lib/ws-heartbeat.mjs'

const TIMEOUT_MS = 180_000

if (process.argv[2] === '--client') await client(Number(process.argv[3]), Number(process.argv[4]), process.argv[5])
else await server(Number(process.argv[2] ?? 4000), Number(process.argv[3] ?? 12), process.argv[4] === 'raw')

/** The child: N JWT clients, each joined to room `bench`; answers heartbeats until told to stop. */
async function client (port, n, peer) {
  const { connectMany, clientFrame, isJoined } = await import('./lib/wire.mjs')
  const { makeTokens } = await import('./lib/tokens.mjs')
  const conns = await connectMany(peer, port, n, { tokens: makeTokens(n), concurrency: 50, deadline: performance.now() + TIMEOUT_MS })
  const JOIN = clientFrame('{"event":"join","payload":{"room":"bench"}}')
  await Promise.all(conns.map((c) => new Promise((resolve) => {
    c.onMessage = (buf) => { if (isJoined(buf)) { c.onMessage = null; resolve() } else c.other(buf) }
    c.send(JOIN)
  })))
  process.send({ connected: n, errors: conns.reduce((s, c) => s + c.errors, 0) })
  process.on('message', (msg) => {
    if (msg !== 'stop') return
    for (const c of conns) c.terminate()
    process.send({ errors: conns.reduce((s, c) => s + c.errors, 0) }, () => process.exit(0))
  })
}

function gc () {
  for (let i = 0; i < 4; i++) globalThis.gc()
}

/** Self bytes and counts by `type:name` (objects by constructor) of a heap snapshot file. */
function summarize (file) {
  const snap = JSON.parse(readFileSync(file, 'utf8'))
  // IDLE_PROFILE_KEEP=1 keeps the files (open them in Chrome DevTools for retainer paths)
  if (process.env.IDLE_PROFILE_KEEP === '1') console.log(`heap snapshot: ${file}`)
  else rmSync(file)
  const meta = snap.snapshot.meta
  const fields = meta.node_fields
  const types = meta.node_types[0]
  const stride = fields.length
  const iType = fields.indexOf('type')
  const iName = fields.indexOf('name')
  const iSize = fields.indexOf('self_size')
  const nodes = snap.nodes
  const strings = snap.strings
  const out = new Map()
  for (let i = 0; i < nodes.length; i += stride) {
    const type = types[nodes[i + iType]]
    let name = type
    if (type === 'object' || type === 'closure' || type === 'native' || type === 'hidden' || type === 'synthetic') name = `${type}:${strings[nodes[i + iName]].slice(0, 60)}`
    let e = out.get(name)
    if (e === undefined) out.set(name, (e = { bytes: 0, count: 0 }))
    e.bytes += nodes[i + iSize]
    e.count++
  }
  return out
}

function snapshot () {
  gc()
  const file = join(tmpdir(), `idle-profile-${process.pid}-${Date.now()}.heapsnapshot`)
  v8.writeHeapSnapshot(file)
  return summarize(file)
}

async function server (n, settle, raw) {
  if (typeof globalThis.gc !== 'function') throw new Error('run with --expose-gc')
  const { default: Fastify } = await import('fastify')
  const app = raw ? await rawServer(Fastify) : await socketspecServer(Fastify)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const port = app.server.address().port
  const peer = raw ? 'raw' : 'socketspec'

  // warm up: one client round so lazily compiled code and pools exist before the baseline
  await run(port, peer, 50, 0)
  const before = snapshot()
  gc()
  const m0 = process.memoryUsage()
  let cpu0, t0
  // IDLE_PROFILE_CPU=FILE: a V8 CPU profile of the idle window (summarize with bench/profile-summary.mjs)
  const cpuFile = process.env.IDLE_PROFILE_CPU
  const session = cpuFile ? new (await import('node:inspector')).Session() : null
  const post = (method) => new Promise((resolve, reject) => session.post(method, (err, res) => err ? reject(err) : resolve(res)))
  const child = await run(port, peer, n, settle, async () => {
    if (session !== null) {
      session.connect()
      await post('Profiler.enable')
      await post('Profiler.start')
    }
    cpu0 = process.cpuUsage()
    t0 = performance.now()
  }, async () => {
    const cpu = process.cpuUsage(cpu0)
    const wall = performance.now() - t0
    if (session !== null) {
      writeFileSync(cpuFile, JSON.stringify((await post('Profiler.stop')).profile))
      session.disconnect()
    }
    gc()
    const m1 = process.memoryUsage()
    const after = snapshot()
    report(n, m0, m1, before, after, { cpu, wall })
  })
  await app.close()
  if (child.errors > 0) console.log(`client errors: ${child.errors}`)
}

/** The baseline: bench/servers/raw.mjs without Redis. */
async function rawServer (Fastify) {
  const { default: websocket } = await import('@fastify/websocket')
  const { createVerifier } = await import('fast-jwt')
  const { JWT_SECRET } = await import('./lib/tokens.mjs')
  const verify = createVerifier({ key: JWT_SECRET, algorithms: ['HS256'] })
  const app = Fastify({ logger: false })
  await app.register(websocket, { options: { maxPayload: 1 << 20 } })
  const rooms = new Map()
  function authenticate (req, reply, done) {
    try {
      req.identity = verify(req.headers.authorization.slice(7))
    } catch {
      reply.code(401).send()
      return
    }
    done()
  }
  app.register(async (scope) => {
    scope.get('/ws', { websocket: true, preValidation: authenticate }, (socket, req) => {
      socket.identity = req.identity
      trackPongs(socket)
      socket.on('message', (data) => {
        const msg = JSON.parse(data)
        if (msg.event !== 'join') return
        const room = msg.payload.room
        let members = rooms.get(room)
        if (members === undefined) rooms.set(room, (members = new Set()))
        members.add(socket)
        if (socket.joined === undefined) socket.joined = new Set()
        socket.joined.add(room)
        socket.send(JSON.stringify({ event: 'joined', payload: { room }, id: msg.id }))
      })
      socket.on('close', () => {
        for (const room of socket.joined ?? []) rooms.get(room)?.delete(socket)
      })
    })
  })
  pingEvery(() => app.websocketServer.clients, 5000)
  return app
}

async function socketspecServer (Fastify) {
  const ss = await import('../lib/index.ts')
  const { JWT_SECRET } = await import('./lib/tokens.mjs')
  const app = Fastify({ logger: false })
  await app.register(ss.default, {
    path: '/ws',
    rateLimit: { rate: 10_000_000, capacity: 10_000_000 },
    maxPayloadSize: 65536,
    auth: ss.jwtAuth({ secret: JWT_SECRET, algorithm: 'HS256' }),
    session: { heartbeatInterval: 5 }
  })
  const { Type } = ss
  app.socket.on('join', {
    payload: Type.Object({ room: Type.String() }),
    emits: [{ event: 'joined', schema: Type.Object({ room: Type.String() }) }]
  }, async (conn, payload) => {
    await conn.join(payload.room)
    conn.emit('joined', { room: payload.room })
  })
  return app
}

/** Open n clients, call `idle`, wait `settle` s of idle heartbeats, call `measure`, close them. */
function run (port, peer, n, settle, idle, measure) {
  return new Promise((resolve, reject) => {
    const child = fork(new URL(import.meta.url), ['--client', String(port), String(n), peer], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    const kill = setTimeout(() => { child.kill(); reject(new Error('client timed out')) }, TIMEOUT_MS)
    child.on('message', async (msg) => {
      if (msg.connected !== undefined) {
        if (measure !== undefined) {
          // the CPU window: idle clients only, heartbeats every 5 s
          await idle()
          await new Promise((resolve) => setTimeout(resolve, settle * 1000))
          await measure()
        }
        child.send('stop')
      } else {
        clearTimeout(kill)
        resolve(msg)
      }
    })
    child.on('error', reject)
    child.on('exit', (code) => { if (code !== 0) { clearTimeout(kill); reject(new Error(`client exited ${code}`)) } })
  })
}

function report (n, m0, m1, before, after, { cpu, wall }) {
  const per = (a, b) => ((b - a) / n).toFixed(0)
  console.log(`connections: ${n}`)
  console.log(`heapUsed  B/conn: ${per(m0.heapUsed, m1.heapUsed)}`)
  console.log(`external  B/conn: ${per(m0.external + m0.arrayBuffers, m1.external + m1.arrayBuffers)}`)
  console.log(`rss       B/conn: ${per(m0.rss, m1.rss)}`)
  console.log(`server CPU while idle: ${((cpu.user + cpu.system) / 1000 / wall * 100).toFixed(1)} %`)
  const rows = []
  let total = 0
  for (const [name, a] of after) {
    const b = before.get(name) ?? { bytes: 0, count: 0 }
    const bytes = (a.bytes - b.bytes) / n
    const count = (a.count - b.count) / n
    total += bytes
    if (Math.abs(bytes) >= 4 || Math.abs(count) >= 0.5) rows.push({ name, bytes, count })
  }
  rows.sort((x, y) => y.bytes - x.bytes)
  console.log(`heap snapshot diff: ${total.toFixed(0)} B/conn (self sizes)`)
  console.log('  B/conn  count/conn  type:name')
  for (const r of rows.slice(0, 60)) console.log(`${r.bytes.toFixed(0).padStart(8)}  ${r.count.toFixed(2).padStart(10)}  ${r.name}`)
}
