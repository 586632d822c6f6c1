// The peers the harness can start. A peer is a server file, the wire protocol
// the load generator speaks to it (raw, socketio or socketspec: bench/lib/wire.mjs)
// and extra environment for the server. The socketspec variants share
// bench/servers/socketspec.mjs and differ only by environment, so they measure
// one option (or one build) against the default in the same run.

/**
 * The three peers of issue 7, each also a wire protocol (bench/lib/wire.mjs re-exports this): here,
 * not in wire.mjs, so that bench/run.mjs (through scenarios.mjs) does not load ws just to list them.
 */
export const PEERS = ['raw', 'socketio', 'socketspec']

/** Every peer, in the order the harness alternates them within a round. */
export const PEER_DEFS = {
  raw: { server: 'raw', wire: 'raw', what: 'raw @fastify/websocket' },
  socketio: { server: 'socketio', wire: 'socketio', what: 'Socket.IO' },
  socketspec: { server: 'socketspec', wire: 'socketspec', what: 'socketspec from dist/, defaults (outboundValidation \'always\')' },
  // issue 10: the same server with outbound validation off, to price the check.
  'socketspec-novalidate': {
    server: 'socketspec',
    wire: 'socketspec',
    env: { BENCH_OUTBOUND_VALIDATION: 'never' },
    what: 'socketspec from dist/ with outboundValidation: \'never\''
  },
  // issue 14: the same server with metrics: true (prom-client's default registry;
  // nothing scrapes it during the window), to price the counting (target ≤ 5 % CPU/msg on echo-64).
  'socketspec-metrics': {
    server: 'socketspec',
    wire: 'socketspec',
    env: { BENCH_METRICS: '1' },
    what: 'socketspec from dist/ with metrics: true'
  },
  // issue 14: @opentelemetry/api importable but no tracer provider registered. The
  // other socketspec peers run with the package hidden (as when it is not installed),
  // so this prices the "API present, no SDK" case (target ≈ 0).
  'socketspec-otelapi': {
    server: 'socketspec',
    wire: 'socketspec',
    env: { BENCH_OTEL_API: '1' },
    what: 'socketspec from dist/ with @opentelemetry/api installed and no tracer provider'
  },
  // issue 13: the same server with recovery: true (every room broadcast numbered and kept in history;
  // on redisBackend recorded by one Lua script and delivered from the subscription).
  'socketspec-recovery': {
    server: 'socketspec',
    wire: 'socketspec',
    env: { BENCH_RECOVERY: '1' },
    what: 'socketspec from dist/ with recovery: true'
  },
  // A baseline build (e.g. a worktree of an earlier commit): only with --base-dist.
  'socketspec-base': {
    server: 'socketspec',
    wire: 'socketspec',
    needsBase: true,
    what: 'socketspec from the --base-dist build (before/after)'
  }
}

export const PEER_NAMES = Object.keys(PEER_DEFS)

/** The peers a plain run alternates (socketspec-base joins them when --base-dist is given). */
export const DEFAULT_PEERS = ['raw', 'socketio', 'socketspec', 'socketspec-novalidate']

/**
 * The socketspec variants: run in the scenarios that say so (echo-64, echo-1k, bcast-1k).
 * socketspec-metrics, socketspec-otelapi and socketspec-recovery are not in DEFAULT_PEERS: ask for
 * them with --peer (issue 14 judges the first two on echo-64, issue 13 the last on bcast-1k and redis-*).
 */
export const VARIANTS = ['socketspec-novalidate', 'socketspec-metrics', 'socketspec-otelapi', 'socketspec-recovery', 'socketspec-base']

/**
 * Environment of `peer`'s server: its own, plus which build a socketspec peer
 * loads: `baseDist` for socketspec-base, `dist` (when given) for the others
 * (default: this checkout's dist/).
 */
export function peerEnv (peer, { baseDist = null, dist = null } = {}) {
  const def = PEER_DEFS[peer]
  const env = { BENCH_PEER: peer, ...(def.env ?? {}) }
  if (def.needsBase) env.BENCH_SOCKETSPEC_DIST = baseDist ?? ''
  else if (def.server === 'socketspec' && dist !== null) env.BENCH_SOCKETSPEC_DIST = dist
  return env
}
