// The peers the harness can start. A peer is a server file, the wire protocol
// the load generator speaks to it (raw, socketio or socketspec: bench/lib/wire.mjs)
// and extra environment for the server. The socketspec variants share
// bench/servers/socketspec.mjs and differ only by environment, so they measure
// one option (or one build) against the default in the same run.

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

/** The socketspec variants: run in the scenarios that say so (echo-64, echo-1k, bcast-1k). */
export const VARIANTS = ['socketspec-novalidate', 'socketspec-base']

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
