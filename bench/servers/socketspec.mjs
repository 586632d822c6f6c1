// Peer (c): socketspec from dist/ (`npm run build:ts`), with a validated `echo`
// schema, a connection rate limit far above the offered load, and declared
// `emits` / `broadcasts` schemas so outbound frames use compiled serializers
// (and, since issue 10, are checked by a compiled Ajv validator first: the
// echo reply `echo_response` is declared with a schema, so echo-64 pays for it).
//
// Variants (bench/lib/peers.mjs), by environment:
//   BENCH_OUTBOUND_VALIDATION=always|never  the plugin's outboundValidation option
//                                           (unset: the plugin's default, 'always')
//   BENCH_SOCKETSPEC_DIST=DIR               load DIR/lib/index.js instead of this
//                                           checkout's dist/ (a baseline build)
//   BENCH_METRICS=1                         metrics: true (issue 14; prom-client's default registry)
//   BENCH_OTEL_API=1                        leave @opentelemetry/api importable (no tracer provider is
//                                           registered); otherwise a resolve hook hides it, as when the
//                                           optional package is not installed. Every run registers the
//                                           hook, so the variants share its (start-up only) cost.
import { existsSync } from 'node:fs'
import { createRequire, register } from 'node:module'
import { resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import Fastify from 'fastify'
import { config, handledOne, ready, unavailable } from './control.mjs'

const cfg = config()
const peer = process.env.BENCH_PEER || 'socketspec'
const distUrl = process.env.BENCH_SOCKETSPEC_DIST
  ? pathToFileURL(resolve(process.env.BENCH_SOCKETSPEC_DIST, 'lib/index.js'))
  : new URL('../../dist/lib/index.js', import.meta.url)
const outboundValidation = process.env.BENCH_OUTBOUND_VALIDATION || null
const metrics = process.env.BENCH_METRICS === '1'
const otelApi = process.env.BENCH_OTEL_API === '1'

/** Resolvable from the build under test (its node_modules), without loading it. */
function installed (name) {
  try {
    createRequire(distUrl).resolve(name)
    return true
  } catch {
    return false
  }
}

// @opentelemetry/api is a dev dependency of this checkout: hidden unless BENCH_OTEL_API=1.
const hidden = JSON.stringify(otelApi ? [] : ['@opentelemetry/api'])
register('data:text/javascript,' + encodeURIComponent(
  `const hidden = ${hidden}; export async function resolve (s, c, next) { if (hidden.includes(s)) ` +
  'throw Object.assign(new Error(s + " is hidden by the benchmark"), { code: "ERR_MODULE_NOT_FOUND" }); return next(s, c) }'))

if (process.env.BENCH_PEER === 'socketspec-base' && !process.env.BENCH_SOCKETSPEC_DIST) unavailable('socketspec-base needs --base-dist DIR')
else if (!existsSync(fileURLToPath(distUrl))) unavailable(`${fileURLToPath(distUrl)} is missing (run npm run build:ts)`)
else if (outboundValidation !== null && outboundValidation !== 'always' && outboundValidation !== 'never') unavailable(`BENCH_OUTBOUND_VALIDATION=${outboundValidation}: expected always or never`)
else if (metrics && !installed('prom-client')) unavailable('BENCH_METRICS=1 needs prom-client installed')
else if (otelApi && !installed('@opentelemetry/api')) unavailable('BENCH_OTEL_API=1 needs @opentelemetry/api installed')
else await main()

async function main () {
  let ss
  try {
    ss = await import(distUrl.href)
  } catch (err) {
    unavailable(`${fileURLToPath(distUrl)} failed to load: ${err.message}`)
    return
  }
  const socketspec = ss.default
  const Type = ss.Type
  if (typeof socketspec !== 'function' || Type === undefined) {
    unavailable('dist/lib/index.js has no default plugin export or no Type')
    return
  }
  if (cfg.auth && typeof ss.jwtAuth !== 'function') {
    unavailable('socketspec does not export jwtAuth yet')
    return
  }
  if (cfg.redisUrl && typeof ss.redisBackend !== 'function') {
    unavailable('socketspec does not export redisBackend yet')
    return
  }

  const app = Fastify({ logger: false })
  const options = {
    path: '/ws',
    rateLimit: { rate: 10_000_000, capacity: 10_000_000 },
    maxPayloadSize: 65536
  }
  if (cfg.auth) options.auth = ss.jwtAuth({ secret: cfg.jwtSecret, algorithm: 'HS256' })
  if (cfg.redisUrl) options.backend = ss.redisBackend({ url: cfg.redisUrl })
  // issue 14, redis-cluster-cross: a Redis Cluster's nodes, host:port,…
  if (process.env.BENCH_REDIS_CLUSTER) {
    options.backend = ss.redisBackend({ cluster: process.env.BENCH_REDIS_CLUSTER.split(',').map((a) => ({ host: a.split(':')[0], port: Number(a.split(':')[1]) })) })
  }
  if (cfg.heartbeat > 0) options.session = { heartbeatInterval: cfg.heartbeat }
  // issue 13: recovery on (a build from before it refuses the option: reported as unavailable below)
  if (process.env.BENCH_RECOVERY === '1') options.recovery = true
  // Only when asked: a build from before issue 10 may not know the option.
  if (outboundValidation !== null) options.outboundValidation = outboundValidation
  // issue 14: a build from before it refuses the option (reported as unavailable below)
  if (metrics) options.metrics = true
  try {
    await app.register(socketspec, options)
  } catch (err) {
    unavailable(`this build refused the options: ${err.message.split('\n')[0]}`)
    return
  }

  const socket = app.socket
  socket.on('echo', {
    payload: Type.Object({ echo: Type.String() }),
    emits: [{ event: 'echo_response', schema: Type.Object({ echo: Type.String() }) }]
  }, async (conn, payload) => {
    handledOne()
    await conn.emit('echo_response', { echo: payload.echo })
  })

  // issue 12: the client SDK's `client.request('add', …)` resolves with this reply's payload.
  socket.on('add', {
    payload: Type.Object({ a: Type.Number(), b: Type.Number() }),
    reply: { event: 'sum', schema: Type.Object({ sum: Type.Number() }) }
  }, async (conn, payload) => ({ sum: payload.a + payload.b }))

  socket.on('join', {
    payload: Type.Object({ room: Type.String() }),
    emits: [{ event: 'joined', schema: Type.Object({ room: Type.String() }) }]
  }, async (conn, payload) => {
    await conn.join(payload.room)
    await conn.emit('joined', { room: payload.room })
  })

  socket.on('broadcast', {
    payload: Type.Object({ room: Type.String(), data: Type.String() }),
    broadcasts: [{ event: 'bcast', room: 'bench', schema: Type.Object({ data: Type.String() }) }]
  }, async (conn, payload) => {
    await socket.to(payload.room).emit('bcast', { data: payload.data })
  })

  try {
    await app.listen({ port: cfg.port, host: cfg.host })
  } catch (err) {
    unavailable(`this build failed to start: ${err.message.split('\n')[0]}`)
    return
  }
  const rooms = typeof socket.to === 'function' && socket.rooms !== undefined
  ready({
    port: app.server.address().port,
    peer,
    features: {
      rooms,
      auth: typeof ss.jwtAuth === 'function',
      redis: typeof ss.redisBackend === 'function',
      // issue 12: the build has the client SDK's Node entry (bench/load/sdk.mjs loads it from the same dist/).
      sdk: existsSync(fileURLToPath(new URL('client/index.js', distUrl)))
    },
    close: () => app.close(),
    // issue 14: the backend's counters over the window (received, published; foreign with sharded delivery)
    stats: cfg.redisUrl && typeof socket.backendStats === 'function' ? () => socket.backendStats() : undefined
  })
}
