// Peer (b): Socket.IO 4 on a plain node:http server, websocket transport only,
// `echo` answered through the acknowledgement callback. socket.io and fast-jwt
// are loaded only once the configuration is known to be servable (a Redis run
// reports itself unavailable without them).
import { createServer } from 'node:http'
import { config, ready, unavailable } from './control.mjs'

const cfg = config()
if (cfg.redisUrl) unavailable('@socket.io/redis-adapter is not installed')
else await main()

async function main () {
  const { Server } = await import('socket.io')
  const { createVerifier } = await import('fast-jwt')
  const httpServer = createServer()
  const io = new Server(httpServer, {
    transports: ['websocket'],
    serveClient: false,
    maxHttpBufferSize: 1 << 20
  })

  if (cfg.auth) {
    const verify = createVerifier({ key: cfg.jwtSecret, algorithms: ['HS256'] })
    io.use((socket, next) => {
      const h = socket.handshake.headers.authorization
      try {
        if (typeof h !== 'string' || !h.startsWith('Bearer ')) throw new Error('no token')
        socket.data.identity = verify(h.slice(7))
        next()
      } catch {
        next(new Error('AUTH_ERROR'))
      }
    })
  }

  io.on('connection', (socket) => {
    socket.on('echo', (payload, ack) => {
      if (typeof ack === 'function') ack(payload)
      else socket.emit('echo_response', payload)
    })
    // issue 12: socket.io-client's `emitWithAck('add', …)` resolves with this acknowledgement.
    socket.on('add', (payload, ack) => {
      if (typeof ack === 'function') ack({ sum: payload.a + payload.b })
    })
    socket.on('join', (payload, ack) => {
      socket.join(payload.room)
      if (typeof ack === 'function') ack({ room: payload.room })
    })
    socket.on('broadcast', (payload) => {
      io.to(payload.room).emit('bcast', { data: payload.data })
    })
  })

  await new Promise((resolve) => httpServer.listen(cfg.port, cfg.host, resolve))
  ready({
    port: httpServer.address().port,
    peer: 'socketio',
    features: { rooms: true, auth: true, redis: false, sdk: true },
    close: () => new Promise((resolve) => io.close(() => resolve()))
  })
}
