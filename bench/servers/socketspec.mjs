// Peer (c): socketspec from dist/ (`npm run build:ts`), with a validated `echo`
// schema, a connection rate limit far above the offered load, and declared
// `emits` / `broadcasts` schemas so outbound frames use compiled serializers.
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import Fastify from 'fastify'
import { config, ready, unavailable } from './control.mjs'

const cfg = config()
const distUrl = new URL('../../dist/lib/index.js', import.meta.url)

if (!existsSync(fileURLToPath(distUrl))) unavailable('dist/lib/index.js is missing (run npm run build:ts)')
else await main()

async function main () {
  let ss
  try {
    ss = await import(distUrl.href)
  } catch (err) {
    unavailable(`dist/lib/index.js failed to load: ${err.message}`)
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
  await app.register(socketspec, options)

  const socket = app.socket
  socket.on('echo', {
    payload: Type.Object({ echo: Type.String() }),
    emits: [{ event: 'echo_response', schema: Type.Object({ echo: Type.String() }) }]
  }, async (conn, payload) => {
    await conn.emit('echo_response', { echo: payload.echo })
  })

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

  await app.listen({ port: cfg.port, host: cfg.host })
  const rooms = typeof socket.to === 'function' && socket.rooms !== undefined
  ready({
    port: app.server.address().port,
    peer: 'socketspec',
    features: { rooms, auth: typeof ss.jwtAuth === 'function', redis: typeof ss.redisBackend === 'function' },
    close: () => app.close()
  })
}
