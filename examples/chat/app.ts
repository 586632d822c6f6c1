import { existsSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import fastifyStatic from '@fastify/static'
import Fastify, { type FastifyInstance } from 'fastify'
import socketspec, { Type, SocketError, redisBackend } from '../../lib/index.js'

export interface BuildOptions {
  logger?: boolean
  /** Use the Redis backend (several nodes); the in-memory backend otherwise. */
  redisUrl?: string
  /** Override session settings (tests use short ones). */
  session?: Record<string, number>
}

const RoomName = Type.String({ pattern: '^[a-z0-9][a-z0-9:_-]{0,63}$', description: 'Room name: lowercase letters, digits, ":", "_" and "-".', default: 'lobby' })
const Message = Type.Object({
  room: Type.String(),
  from: Type.String({ description: 'Connection id of the sender.' }),
  name: Type.String({ description: 'Display name of the sender.' }),
  text: Type.String(),
  ts: Type.Number({ description: 'Server time, Unix epoch milliseconds.' })
})

const here = dirname(fileURLToPath(import.meta.url))
const CLIENT_BUNDLE = 'socketspec-client.js'
const NOT_BUILT = 'The browser client is not built (dist/client is missing): run `npm run build`.'
const PAGE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self' ws: wss:",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'"
].join('; ')

/** The first folder of `candidates` that holds `file`: examples/chat runs from the sources (tsx) or from dist/examples/chat. */
function locate (file: string, candidates: string[]): string | undefined {
  return candidates.find((dir) => existsSync(join(dir, file)))
}

/**
 * The chat page at `/` (examples/chat/public) and, next to it, the browser
 * build of `socketspec/client` that the page imports (dist/client, made by
 * `npm run build`).
 */
async function chatPage (app: FastifyInstance): Promise<void> {
  const publicDir = locate('index.html', [join(here, 'public'), resolve(here, '../../../examples/chat/public')])
  if (publicDir === undefined) return
  const clientDir = locate(CLIENT_BUNDLE, [resolve(here, '../../dist/client'), resolve(here, '../../client')])
  await app.register(async (page) => {
    await page.register(fastifyStatic, {
      root: clientDir === undefined ? publicDir : [publicDir, clientDir],
      prefix: '/',
      wildcard: false,
      index: 'index.html',
      decorateReply: false,
      setHeaders (reply, filePath) {
        reply.header('x-content-type-options', 'nosniff')
        if (filePath.endsWith('.html')) reply.header('content-security-policy', PAGE_CSP).header('referrer-policy', 'no-referrer')
      }
    })
    if (clientDir === undefined) {
      page.get('/' + CLIENT_BUNDLE, { schema: { hide: true } }, async (_request, reply) => {
        return reply.code(500).send({ statusCode: 500, error: 'Internal Server Error', message: NOT_BUILT })
      })
    }
  })
}

/**
 * The example chat app (what `npm start` runs): an echo event, rooms with a
 * guard, messages broadcast to a room, membership across nodes, an
 * announcement to everyone, and a browser chat page at `/` built on the
 * client SDK.
 */
export async function buildApp (opts: BuildOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({ logger: opts.logger ?? false })
  await app.register(socketspec, {
    path: '/ws',
    docs: true,
    title: 'socketspec chat example',
    version: '1.0.0',
    backend: opts.redisUrl !== undefined && opts.redisUrl !== '' ? redisBackend({ url: opts.redisUrl }) : 'memory',
    rooms: [{ name: 'lobby', description: 'Everyone can join; it always exists.' }],
    rateLimit: { rate: 20, capacity: 50 },
    session: { idleTimeout: 300, maxDuration: 7200, ...opts.session }
  })
  const socket = app.socket
  await chatPage(app)

  socket.onConnect((conn) => {
    const name = typeof conn.query.name === 'string' && conn.query.name !== '' ? conn.query.name.slice(0, 32) : 'guest-' + conn.id.slice(0, 4)
    conn.metadata.name = name
  })

  // Rooms under 'admin:' are for admins only (the example has no auth, so nobody gets in).
  socket.roomGuard('admin:{topic}', (conn) => conn.identity.role === 'admin')

  socket.on('echo', {
    payload: Type.Object({ echo: Type.String({ description: 'Text to send back.', default: 'hello' }) }),
    description: 'Echo a message back to the sender.',
    tags: ['demo'],
    emits: [{ event: 'echo_response', schema: Type.Object({ echo: Type.String(), from: Type.String() }), description: 'The same text, and who sent it.' }]
  }, async (conn, payload) => {
    conn.emit('echo_response', { echo: payload.echo, from: conn.id })
  })

  socket.on('announce', {
    payload: Type.Object({ text: Type.String({ minLength: 1, maxLength: 280, default: 'Hello, everyone!' }) }),
    description: 'Send an announcement to every connection (every node).',
    tags: ['demo'],
    emits: [{ event: 'announcement', schema: Type.Object({ text: Type.String(), from: Type.String() }), description: 'Sent to every connection.' }],
    rateLimit: { rate: 1, capacity: 3 }
  }, async (conn, { text }) => {
    await socket.emit('announcement', { text, from: String(conn.metadata.name) })
  })

  socket.on('join', {
    payload: Type.Object({ room: RoomName }),
    description: "Join a room. Rooms are created on first join; 'lobby' always exists; 'admin:*' rooms need the admin role.",
    tags: ['chat'],
    reply: { event: 'joined', schema: Type.Object({ room: Type.String(), members: Type.Array(Type.String()) }) },
    broadcasts: [{ event: 'user_joined', room: '{room}', schema: Type.Object({ room: Type.String(), id: Type.String(), name: Type.String() }), description: 'Tells the other members who joined.' }]
  }, async (conn, { room }) => {
    await conn.join(room)
    await conn.to(room).emit('user_joined', { room, id: conn.id, name: String(conn.metadata.name) })
    return { room, members: await socket.rooms.members(room) }
  })

  socket.on('leave', {
    payload: Type.Object({ room: RoomName }),
    description: 'Leave a room.',
    tags: ['chat'],
    reply: { event: 'left', schema: Type.Object({ room: Type.String() }) },
    broadcasts: [{ event: 'user_left', room: '{room}', schema: Type.Object({ room: Type.String(), id: Type.String() }) }]
  }, async (conn, { room }) => {
    await conn.leave(room)
    if (await socket.rooms.exists(room)) await socket.to(room).emit('user_left', { room, id: conn.id })
    return { room }
  })

  socket.on('send', {
    payload: Type.Object({ room: RoomName, text: Type.String({ minLength: 1, maxLength: 2000, default: 'Hi!' }) }),
    description: 'Send a message to a room you are in; every member (you included) receives it.',
    tags: ['chat'],
    ordered: true,
    broadcasts: [{ event: 'message', room: '{room}', schema: Message, description: 'A chat message.' }]
  }, async (conn, { room, text }) => {
    if (!conn.rooms.has(room)) throw new SocketError('PERMISSION_ERROR', `Join '${room}' before sending to it`, { room })
    await socket.rooms.broadcast(room, 'message', { room, from: conn.id, name: String(conn.metadata.name), text, ts: Date.now() })
  })

  socket.on('members', {
    payload: Type.Object({ room: RoomName }),
    description: 'List the connection ids in a room, on every node.',
    tags: ['chat'],
    reply: { event: 'members', schema: Type.Object({ room: Type.String(), members: Type.Array(Type.String()) }) }
  }, async (_conn, { room }) => {
    if (!(await socket.rooms.exists(room))) throw new SocketError('ROOM_NOT_FOUND', `Room '${room}' does not exist`, { room })
    return { room, members: await socket.rooms.members(room) }
  })

  socket.on('rooms', {
    description: 'List the rooms that exist (static ones and every non-empty room).',
    tags: ['chat'],
    reply: { event: 'rooms', schema: Type.Object({ rooms: Type.Array(Type.String()) }) }
  }, async () => ({ rooms: await socket.rooms.list() }))

  return app
}
