// The scenarios of issue 7. Each says which workload the load generator runs,
// how the servers are configured, which peers run it (echo-64, echo-1k and
// bcast-1k also run issue 10's socketspec variants) and which peer features it needs.
import { PEERS, VARIANTS } from './peers.mjs'

/** raw, Socket.IO, socketspec and its variants (socketspec-novalidate, socketspec-base): issue 10's comparisons. */
const WITH_VARIANTS = [...PEERS, ...VARIANTS]

/**
 * Timing of a run: full (`npm run bench`) or quick (`npm run bench:quick`).
 * `windowMs`/`warmupMs` may be overridden from the command line.
 */
export function timings ({ quick, windowS, warmupS }) {
  return {
    rounds: quick ? 1 : 3,
    warmupMs: (warmupS ?? (quick ? 0.5 : 2)) * 1000,
    windowMs: (windowS ?? (quick ? 1.5 : 5)) * 1000,
    // idle-100k in --quick: a smoke run of the same path
    idleConnections: quick ? 2000 : 100_000,
    idleHoldMs: quick ? 2000 : 20_000
  }
}

const echo = (id, title, connections, inflight, payloadBytes, peers = PEERS) => ({
  id,
  title,
  kind: 'throughput',
  unit: 'msg/s',
  peers,
  job: ({ port, t }) => ({
    workload: 'closedLoop',
    params: { port, connections, inflight, payloadBytes, warmupMs: t.warmupMs, windowMs: t.windowMs }
  })
})

const open = (id, title, fraction, base, peers = PEERS) => ({
  id,
  title,
  kind: 'open',
  unit: 'msg/s',
  peers,
  // The offered rate is a fraction of a peer's own closed-loop max (or of another peer's).
  rateFrom: { fraction, base },
  job: ({ port, t, rate }) => ({
    workload: 'openLoop',
    params: { port, connections: 50, rate, payloadBytes: 64, warmupMs: t.warmupMs, windowMs: t.windowMs }
  })
})

const bcast = (id, title, members, peers = PEERS) => ({
  id,
  title,
  kind: 'broadcast',
  unit: 'deliveries/s',
  peers,
  requires: ['rooms'],
  job: ({ port, t }) => ({
    workload: 'broadcast',
    params: { ports: [port], members, mode: 'closed', inflight: 4, dataBytes: 64, warmupMs: t.warmupMs, windowMs: t.windowMs }
  })
})

/**
 * Issue 12: the client SDK. One client object of the peer's own SDK (socketspec's
 * `client.request()` against socket.io-client's `emitWithAck`) with `concurrency`
 * request loops; the load generator *is* the client under test here.
 */
const sdk = (id, title, concurrency) => ({
  id,
  title,
  kind: 'sdk',
  unit: 'req/s',
  peers: ['socketio', 'socketspec', 'socketspec-base'],
  requires: ['sdk'],
  job: ({ port, t }) => ({
    workload: 'sdkLoop',
    params: { port, concurrency, warmupMs: t.warmupMs, windowMs: t.windowMs, maxRequests: 10_000_000 }
  })
})

/** Every scenario in the order the harness runs them (echo-64 first: the open-loop rates derive from it). */
export const SCENARIOS = [
  echo('echo-64', 'Echo, 64 B payload, 50 connections × 16 in flight (closed loop)', 50, 16, 64, WITH_VARIANTS),
  echo('echo-1k', 'Echo, 1 KB payload, 50 connections × 16 in flight (closed loop)', 50, 16, 1024, WITH_VARIANTS),
  echo('unpipelined-200', 'Echo, 64 B, 200 connections × 1 in flight (unpipelined)', 200, 1, 64),
  open('open-50', 'Open loop at 50 % of the peer\'s own echo-64 max (64 B, 50 connections)', 0.5, 'self'),
  open('open-80', 'Open loop at 80 % of the peer\'s own echo-64 max (64 B, 50 connections)', 0.8, 'self'),
  open('open-sio150', 'Open loop at 1.5 × Socket.IO\'s echo-64 max (the throughput target\'s load)', 1.5, 'socketio', ['raw', 'socketspec']),
  bcast('bcast-1k', 'Broadcast to a room of 1,000 members (4 broadcasts in flight)', 1000, WITH_VARIANTS),
  bcast('bcast-10k', 'Broadcast to a room of 10,000 members (4 broadcasts in flight)', 10_000),
  {
    id: 'idle-10k',
    title: 'Idle memory: 10,000 connections with JWT auth, one room (socketspec also with a rate limiter)',
    kind: 'idle',
    unit: 'KB/conn',
    peers: PEERS,
    requires: ['rooms', 'auth'],
    server: { auth: true, nofile: 65_536 },
    client: { nofile: 65_536 },
    job: ({ port }) => ({
      workload: 'idle',
      auth: true,
      tokens: 10_000,
      params: { port, connections: 10_000, concurrency: 100 }
    })
  },
  {
    // issue 14: 100,000 idle authenticated connections with heartbeats on. One loopback source address
    // has ~28k ephemeral ports toward the server: the load generator spreads over 127.0.0.2–127.0.0.6.
    id: 'idle-100k',
    title: 'Idle at scale: 100,000 connections with JWT auth and heartbeats every 5 s, one room; 20 s idle window',
    kind: 'idle',
    unit: 'KB/conn',
    peers: ['raw', 'socketspec'],
    requires: ['rooms', 'auth'],
    server: { auth: true, nofile: 250_000, heartbeat: 5 },
    client: { nofile: 250_000 },
    heavy: true,
    job: ({ port, t }) => ({
      workload: 'idle',
      auth: true,
      tokens: 100_000,
      params: {
        port,
        // a process cannot hold more sockets than its open-files limit (see BENCHMARKS.md)
        connections: Math.min(t.idleConnections ?? 100_000, (t.nofileHard ?? Infinity) - 1000),
        capped: (t.idleConnections ?? 100_000) > (t.nofileHard ?? Infinity) - 1000,
        concurrency: 200,
        localAddresses: ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5', '127.0.0.6'],
        holdMs: t.idleHoldMs ?? 20_000,
        timeoutMs: 600_000
      }
    })
  },
  {
    id: 'storm-jwt',
    title: 'Connect storm: JWT (HS256) in Authorization: Bearer, 50 handshakes in flight, connect then close',
    kind: 'storm',
    unit: 'handshakes/s',
    peers: PEERS,
    requires: ['auth'],
    server: { auth: true, nofile: 65_536 },
    client: { nofile: 65_536 },
    job: ({ port, t }) => ({
      workload: 'storm',
      auth: true,
      tokens: 1000,
      params: { port, concurrency: 50, warmupMs: t.warmupMs, windowMs: t.windowMs }
    })
  },
  {
    id: 'redis-single',
    title: 'Baseline for Redis: one node (in-memory backend), 100 members, 200 broadcasts/s (open loop), latency per delivery',
    kind: 'latency',
    unit: 'deliveries/s',
    // issue 13: socketspec-recovery, the same with recovery on (offsets, history), on one node and across two
    peers: ['raw', 'socketspec', 'socketspec-recovery'],
    requires: ['rooms'],
    job: ({ ports, t }) => ({
      workload: 'broadcast',
      params: { ports: [ports[0]], senderPort: ports[0], members: 100, mode: 'open', rate: 200, warmupMs: t.warmupMs, windowMs: t.windowMs }
    })
  },
  {
    id: 'redis-cross',
    title: 'Two nodes over Redis: sender on node A, 100 members on node B, 200 broadcasts/s (open loop), latency per delivery',
    kind: 'latency',
    unit: 'deliveries/s',
    peers: ['raw', 'socketio', 'socketspec', 'socketspec-recovery'],
    requires: ['rooms', 'redis'],
    nodes: 2,
    redis: true,
    job: ({ ports, t }) => ({
      workload: 'broadcast',
      params: { ports: [ports[1]], senderPort: ports[0], members: 100, mode: 'open', rate: 200, warmupMs: t.warmupMs, windowMs: t.windowMs }
    })
  },
  {
    // issue 14: redis-cross on a Redis Cluster (three masters, three replicas, sharded pub/sub: SPUBLISH on the room's
    // master, SSUBSCRIBE there), started by the harness: Redis Cluster vs single Redis, cross-node p99 for the same load.
    id: 'redis-cluster-cross',
    title: 'Two nodes over a Redis Cluster (3 masters + 3 replicas, sharded pub/sub): sender on node A, 100 members on node B, 200 broadcasts/s (open loop), latency per delivery',
    kind: 'latency',
    unit: 'deliveries/s',
    peers: ['socketspec', 'socketspec-recovery'],
    requires: ['rooms', 'redis'],
    nodes: 2,
    redis: 'cluster',
    job: ({ ports, t }) => ({
      workload: 'broadcast',
      params: { ports: [ports[1]], senderPort: ports[0], members: 100, mode: 'open', rate: 200, warmupMs: t.warmupMs, windowMs: t.windowMs }
    })
  },
  {
    // issue 14: sharded delivery. Each node's members are in its own rooms only; every broadcast is sent through
    // another node, so it crosses Redis. With sharded delivery a node receives only its rooms' traffic; with the
    // single-channel design (socketspec-base, --base-dist = a build before it) every node receives every broadcast.
    id: 'redis-sharded',
    title: 'Four nodes on one Redis, disjoint rooms (4 rooms × 5 members per node), 1,000 broadcasts/s (open loop) spread over the 16 rooms, each sent through another node: foreign-room messages per node, total server CPU per delivery',
    kind: 'sharded',
    unit: 'deliveries/s',
    peers: ['socketspec', 'socketspec-base'],
    requires: ['rooms', 'redis'],
    nodes: 4,
    redis: true,
    job: ({ ports, t }) => ({
      workload: 'sharded',
      params: { ports, roomsPerNode: 4, membersPerRoom: 5, rate: 1000, dataBytes: 64, warmupMs: t.warmupMs, windowMs: t.windowMs }
    })
  },
  sdk('sdk-1', 'Client SDK: client.request() vs socket.io-client emitWithAck, 1 request in flight (`add`, {a, b} → {sum})', 1),
  sdk('sdk-64', 'Client SDK: client.request() vs socket.io-client emitWithAck, 64 request loops on one client', 64)
]
