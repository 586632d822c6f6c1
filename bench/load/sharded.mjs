// Sharded-delivery workload (issue 14): N nodes, each with its own rooms
// (disjoint: a node's members are only in its own rooms), broadcasts spread
// round-robin over every room at a fixed rate, each sent from a sender on the
// NEXT node (so every broadcast crosses nodes). Counts deliveries and latency
// per delivery, and, per node, how many broadcasts to its own rooms were sent
// through other nodes during the window: what the node must receive. Whatever
// else a node receives is traffic of rooms it does not serve (the harness
// compares with the servers' backend counters).
import { Histogram } from '../lib/stats.mjs'
import { bcastSeq, clientFrame, connect, connectMany, padded, protocol, sendJoin } from '../lib/wire.mjs'
import { measureWindow } from './echo.mjs'
import { noHooks, waitUntil } from './hooks.mjs'

const RING = 1 << 14

/** Room `k` of node `i`. */
const roomName = (i, k) => `n${i}-r${k}`

export async function sharded ({ peer, ports, roomsPerNode = 4, membersPerRoom = 5, rate = 1000, dataBytes = 64, warmupMs = 1000, windowMs = 3000, maxBroadcasts = Infinity, timeoutMs = 120_000 }, hooks = noHooks) {
  const proto = protocol(peer)
  const nodes = ports.length
  const deadline = performance.now() + timeoutMs
  const members = []
  // members: node i's connections join node i's rooms only
  for (let i = 0; i < nodes; i++) {
    const conns = await connectMany(peer, ports[i], roomsPerNode * membersPerRoom, { deadline })
    let joined = 0
    conns.forEach((conn, j) => sendJoin(conn, clientFrame(proto.join(roomName(i, j % roomsPerNode), j)), () => { joined++ }))
    if (!(await waitUntil(() => joined === conns.length, Math.max(0, deadline - performance.now())))) {
      for (const c of [...members, ...conns]) c.terminate()
      throw new Error(`node ${i}: only ${joined}/${conns.length} members joined`)
    }
    members.push(...conns)
  }
  const senders = []
  for (let i = 0; i < nodes; i++) {
    const s = await connect(peer, ports[i])
    s.onMessage = (buf) => s.other(buf)
    senders.push(s)
  }
  const rooms = []
  for (let k = 0; k < roomsPerNode; k++) for (let i = 0; i < nodes; i++) rooms.push([i, roomName(i, k)])

  const sentAt = new Float64Array(RING)
  const got = new Uint16Array(RING)
  const deliveryHist = new Histogram()
  // toNode[j]: broadcasts to node j's rooms (each sent through another node); snapshotted around the window
  const toNode = new Array(nodes).fill(0)
  let atStart = null
  let atEnd = null
  let deliveries = 0
  let completed = 0
  let sent = 0
  let running = true
  let lastProgress = performance.now()

  for (const conn of members) {
    conn.onMessage = (buf) => {
      const seq = bcastSeq(buf)
      if (seq < 0) {
        conn.other(buf)
        return
      }
      const s = seq % RING
      deliveries++
      const now = performance.now()
      deliveryHist.recordMs(now - sentAt[s])
      if (++got[s] === membersPerRoom) {
        completed++
        lastProgress = now
      }
    }
  }

  const t0 = performance.now()
  let timer = null
  const pump = () => {
    if (!running) return
    const due = Math.min(Math.floor((performance.now() - t0) * rate / 1000) + 1, maxBroadcasts)
    while (sent < due && sent - completed < RING - 1) {
      const s = sent % RING
      const [node, room] = rooms[sent % rooms.length]
      got[s] = 0
      sentAt[s] = t0 + sent * (1000 / rate)
      senders[(node + 1) % nodes].send(clientFrame(proto.broadcast(room, padded(sent, dataBytes))))
      toNode[node]++
      sent++
    }
    if (sent < maxBroadcasts) timer = setTimeout(pump, 1)
  }
  pump()

  const stalled = () => performance.now() - lastProgress > 5000
  const result = await measureWindow({
    warmupMs,
    windowMs,
    hooks: {
      ...hooks,
      windowStart: async () => { atStart = [...toNode]; return hooks.windowStart() },
      windowEnd: async () => { atEnd = [...toNode]; return hooks.windowEnd() }
    },
    hist: deliveryHist,
    counter: () => deliveries,
    stopWhen: () => stalled() || (sent >= maxBroadcasts && completed >= sent)
  })
  running = false
  clearTimeout(timer)
  await waitUntil(() => completed >= sent, 2000)
  result.broadcasts = completed
  result.deliveries = deliveries
  result.members = members.length
  result.stalled = stalled()
  result.lost = sent - completed
  // per node: broadcasts to its own rooms that came through another node during the window
  result.expectedPerNode = atEnd.map((n, j) => n - atStart[j])
  result.errors = members.reduce((n, c) => n + c.errors, senders.reduce((n, s) => n + s.errors, 0))
  result.lastError = senders.find((s) => s.lastError !== null)?.lastError ?? members.find((c) => c.lastError !== null)?.lastError ?? null
  for (const c of [...senders, ...members]) c.terminate()
  return result
}
