// Peer (a): raw @fastify/websocket with JSON.parse + JSON.stringify per message,
// the practical limit for a JSON event server. Rooms are a Map of Sets; with
// BENCH_REDIS_URL a broadcast is one PUBLISH and every node loops its local Set.
import Fastify from 'fastify'
import websocket from '@fastify/websocket'
import { createVerifier } from 'fast-jwt'
import { config, ready } from './control.mjs'
import { pingEvery, trackPongs } from '../lib/ws-heartbeat.mjs'

const cfg = config()
const app = Fastify({ logger: false })
await app.register(websocket, { options: { maxPayload: 1 << 20 } })

const rooms = new Map()
let pub = null
let sub = null

function deliverLocal (room, frame) {
  const members = rooms.get(room)
  if (members === undefined) return
  for (const s of members) s.send(frame)
}

if (cfg.redisUrl) {
  const { Redis } = await import('ioredis')
  pub = new Redis(cfg.redisUrl)
  sub = new Redis(cfg.redisUrl)
  await sub.psubscribe('bench:room:*')
  sub.on('pmessage', (_pattern, channel, frame) => deliverLocal(channel.slice(11), frame))
}

let verify = null
if (cfg.auth) verify = createVerifier({ key: cfg.jwtSecret, algorithms: ['HS256'] })

function authenticate (req, reply, done) {
  const h = req.headers.authorization
  if (typeof h !== 'string' || !h.startsWith('Bearer ')) {
    reply.code(401).send()
    return
  }
  try {
    req.identity = verify(h.slice(7))
  } catch {
    reply.code(401).send()
    return
  }
  done()
}

function leaveAll (socket) {
  if (socket.joined === undefined) return
  for (const room of socket.joined) {
    const members = rooms.get(room)
    if (members === undefined) continue
    members.delete(socket)
    if (members.size === 0) rooms.delete(room)
  }
}

app.register(async (scope) => {
  scope.get('/ws', { websocket: true, preValidation: verify ? authenticate : undefined }, (socket, req) => {
    socket.identity = req.identity
    trackPongs(socket)
    socket.on('message', (data) => {
      let msg
      try {
        msg = JSON.parse(data)
      } catch {
        return
      }
      switch (msg.event) {
        case 'echo':
          socket.send(JSON.stringify({ event: 'echo_response', payload: msg.payload, id: msg.id }))
          break
        case 'join': {
          const room = msg.payload.room
          let members = rooms.get(room)
          if (members === undefined) rooms.set(room, (members = new Set()))
          members.add(socket)
          if (socket.joined === undefined) socket.joined = new Set()
          socket.joined.add(room)
          socket.send(JSON.stringify({ event: 'joined', payload: { room }, id: msg.id }))
          break
        }
        case 'broadcast': {
          const frame = JSON.stringify({ event: 'bcast', payload: { data: msg.payload.data } })
          if (pub !== null) pub.publish('bench:room:' + msg.payload.room, frame)
          else deliverLocal(msg.payload.room, frame)
          break
        }
      }
    })
    socket.on('close', () => leaveAll(socket))
  })
})

// Heartbeats as the ws README does them (bench/lib/ws-heartbeat.mjs).
if (cfg.heartbeat > 0) {
  pingEvery(() => app.websocketServer.clients, cfg.heartbeat * 1000)
}

await app.listen({ port: cfg.port, host: cfg.host })
ready({
  port: app.server.address().port,
  peer: 'raw',
  features: { rooms: true, auth: true, redis: true },
  async close () {
    await app.close()
    pub?.disconnect()
    sub?.disconnect()
  }
})
