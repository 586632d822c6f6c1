#!/usr/bin/env node
// Issue 13's costs on the memory backend, measured in one process against the
// same app with recovery off (the peer in the same run):
//  1. broadcast CPU per delivery to a room of --members real ws clients
//     (recovery on numbers, records and splices each frame), rounds
//     alternating on/off; process.cpuUsage of the whole process (server and
//     the clients that read), so the ratio is what counts;
//  2. a resume storm: --storm clients in a room are dropped without a close
//     frame, --missed broadcasts go out meanwhile, then all of them send
//     __resume__ at once: time until the last __resumed__, the server's event
//     loop's longest stall (the clients run in a worker thread), and lost or
//     duplicated frames.
//
// With --backend redis (--redis-url, default redis://127.0.0.1:6379, a Redis
// nobody else uses: the bench writes under a random key prefix): the same on
// redisBackend, where recovery on records each broadcast with one Lua script
// and delivers it from the subscription (the server-side figure then leaves
// out the delivery, so compare the totals); Redis round trips per broadcast;
// and the storm resumes on a second node (drop on node A, resume on node B).
//
//   npm run build:ts && node bench/recovery.mjs [--members 1000] [--broadcasts 200] [--rounds 6] [--storm 2000] [--missed 20] [--backend memory|redis] [--redis-url URL]
import { parseArgs } from 'node:util'
import { Worker } from 'node:worker_threads'
import { distDir, importDist } from './lib/dist.mjs'
import { median } from './lib/stats.mjs'
import { members, until } from './lib/room-members.mjs'

const { values: opts } = parseArgs({
  options: {
    dist: { type: 'string' },
    members: { type: 'string', default: '1000' },
    broadcasts: { type: 'string', default: '200' },
    rounds: { type: 'string', default: '6' },
    storm: { type: 'string', default: '2000' },
    missed: { type: 'string', default: '20' },
    backend: { type: 'string', default: 'memory' },
    'redis-url': { type: 'string', default: 'redis://127.0.0.1:6379' },
    json: { type: 'boolean', default: false }
  }
})
const dist = distDir(opts.dist, 'recovery bench')
const { default: socketspec, Type, redisBackend } = await importDist(dist)
const { default: Fastify } = await import('fastify')
if (opts.backend !== 'memory' && opts.backend !== 'redis') {
  console.error('recovery bench: --backend is memory or redis')
  process.exit(2)
}
const onRedis = opts.backend === 'redis'
const runId = Math.random().toString(36).slice(2, 10)
let prefixes = 0

/** `prefix`: nodes built with the same one share their Redis keys (one cluster). */
async function buildApp (recovery, prefix = `bench-recovery-${runId}-${++prefixes}:`) {
  const app = Fastify({ logger: false })
  const backend = onRedis ? { backend: redisBackend({ url: opts['redis-url'], keyPrefix: prefix }) } : {}
  await app.register(socketspec, { path: '/ws', recovery, ...backend, session: { heartbeatInterval: 300 }, maxBufferedBytes: 64 * 1024 * 1024 })
  const Said = Type.Object({ n: Type.Integer(), text: Type.String() })
  app.socket.on('join', { payload: Type.Object({ room: Type.String() }), reply: { event: 'joined', schema: Type.Object({ room: Type.String() }) }, broadcasts: [{ event: 'said', room: '{room}', schema: Said }] }, async (conn, { room }) => {
    await conn.join(room)
    return { room }
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  return { app, url: `ws://127.0.0.1:${app.server.address().port}/ws` }
}

// 1. broadcast CPU per delivery
const N = Number(opts.members)
const B = Number(opts.broadcasts)
const peers = { off: await buildApp(false), on: await buildApp({ ttl: 120, historySize: 1000 }) }
const clients = { off: await members(peers.off.url, 'big', N), on: await members(peers.on.url, 'big', N) }
const perDelivery = { off: [], on: [] }
const serverPerDelivery = { off: [], on: [] }
let n = 0
for (let round = 0; round < Number(opts.rounds); round++) {
  for (const mode of round % 2 === 0 ? ['off', 'on'] : ['on', 'off']) {
    const { app } = peers[mode]
    const target = clients[mode].reduce((s, c) => s + c.said.length, 0) + N * B
    const cpu = process.cpuUsage()
    // the loop only yields microtasks: no socket is read meanwhile, so this is the server's side (serialize, number, record, write)
    for (let i = 0; i < B; i++) await app.socket.rooms.broadcast('big', 'said', { n: ++n, text: 'hello from the benchmark' })
    const server = process.cpuUsage(cpu)
    await until(() => clients[mode].reduce((s, c) => s + c.said.length, 0) >= target)
    const used = process.cpuUsage(cpu)
    if (round > 0) {
      perDelivery[mode].push((used.user + used.system) / (N * B))
      serverPerDelivery[mode].push((server.user + server.system) / (N * B))
    }
  }
}
// Redis round trips per broadcast: PUBLISH without recovery, the recording script with it
const roundTrips = {}
if (onRedis) {
  const made = Number(opts.rounds) * B
  roundTrips.off = peers.off.app.socket.backendStats().published / made
  roundTrips.on = peers.on.app.socket.backendStats().recorded / made
}
for (const mode of ['off', 'on']) {
  for (const c of clients[mode]) c.ws.terminate()
  await peers[mode].app.close()
}
const off = median(perDelivery.off)
const on = median(perDelivery.on)
const serverOff = median(serverPerDelivery.off)
const serverOn = median(serverPerDelivery.on)

// 2. the resume storm
const S = Number(opts.storm)
const M = Number(opts.missed)
const stormPrefix = `bench-recovery-${runId}-storm:`
const { app, url } = await buildApp({ ttl: 120, historySize: Math.max(1000, M) }, stormPrefix)
// on Redis the clients come back on another node
const other = onRedis ? await buildApp({ ttl: 120, historySize: Math.max(1000, M) }, stormPrefix) : null
const resumeUrl = other === null ? url : other.url
// The clients run in a worker thread (bench/lib/storm-clients.mjs): the stall measured here is the server's.
const worker = new Worker(new URL('./lib/storm-clients.mjs', import.meta.url))
const ask = (msg, type) => new Promise((resolve, reject) => {
  const on = (m) => { if (m.type === type) { worker.off('message', on); resolve(m) } }
  worker.on('message', on)
  worker.once('error', reject)
  worker.postMessage(msg)
})
await ask({ cmd: 'connect', url, room: 'storm', count: S }, 'connected')
await app.socket.rooms.broadcast('storm', 'said', { n: 0, text: 'before' })
await ask({ cmd: 'count', n: 1 }, 'counted')
await ask({ cmd: 'drop' }, 'dropped')
await until(() => app.socket.stats().connections === 0)
for (let i = 1; i <= M; i++) await app.socket.rooms.broadcast('storm', 'said', { n: i, text: 'missed' })
await ask({ cmd: 'open', url: resumeUrl }, 'opened')
// the longest gap between two turns of a 1 ms interval: how long the server's event loop stalled at most
let lastTurn = performance.now()
let maxStall = 0
const stallTimer = setInterval(() => {
  const now = performance.now()
  maxStall = Math.max(maxStall, now - lastTurn - 1)
  lastTurn = now
}, 1)
const done = await ask({ cmd: 'resume', room: 'storm', missed: M }, 'resumed')
const allResumed = done.ms
clearInterval(stallTimer)
const recovered = done.recovered
const lost = done.wrong
await worker.terminate()
await app.close()
await other?.app.close()

const result = {
  backend: opts.backend,
  ...(onRedis ? { redisRoundTripsPerBroadcast: roundTrips } : {}),
  broadcast: { members: N, broadcasts: B, serverCpuPerDeliveryUs: { off: serverOff, on: serverOn }, serverRatio: serverOn / serverOff, totalCpuPerDeliveryUs: { off, on }, totalRatio: on / off },
  storm: { clients: S, missed: M, allResumedMs: Math.round(allResumed), recovered, clientsWithWrongFrames: lost, eventLoopMaxStallMs: Math.round(maxStall) }
}
if (opts.json) console.log(JSON.stringify(result))
else {
  console.log(`broadcast to ${N} members, CPU µs per delivery (median of ${perDelivery.on.length} rounds): server side: recovery off ${serverOff.toFixed(2)}, on ${serverOn.toFixed(2)}, ratio ${(serverOn / serverOff).toFixed(3)}; with the in-process clients reading: off ${off.toFixed(2)}, on ${on.toFixed(2)}, ratio ${(on / off).toFixed(3)}`)
  if (onRedis) console.log(`Redis round trips per broadcast: recovery off ${roundTrips.off.toFixed(2)} (PUBLISH), on ${roundTrips.on.toFixed(2)} (the recording script); the server-side figure leaves out delivery from the subscription with recovery on: compare the totals`)
  console.log(`resume storm${onRedis ? ' (dropped on node A, resumed on node B)' : ''}: ${S} clients, ${M} missed each: all __resumed__ in ${result.storm.allResumedMs} ms, ${recovered} recovered, ${lost} with a missing or extra frame, event loop longest stall ${result.storm.eventLoopMaxStallMs} ms`)
}
