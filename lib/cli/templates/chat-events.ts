import type { ScaffoldOptions } from './options.js'

/** events/chat.ts: a chat room example using the rooms API. */
export function render (_opts: ScaffoldOptions): string {
  return `import type { FastifyInstance } from 'fastify'
import { Type, SocketError } from 'socketspec'

const RoomName = Type.String({ pattern: '^[a-z0-9-]{1,32}$', description: 'Lowercase letters, digits and dashes.' })
const RoomPayload = Type.Object({ room: RoomName })
const Presence = Type.Object({ room: Type.String(), user: Type.String() })
const Message = Type.Object({
  room: Type.String(),
  user: Type.String(),
  text: Type.String(),
  sentAt: Type.String({ format: 'date-time' })
})

/** Every chat room lives under the \`chat:\` prefix, so other features can use rooms too. */
const roomKey = (room: string) => 'chat:' + room

/** The user's id when the connection is authenticated, else the connection id. */
const userOf = (conn: { id: string, identity: { userId: string | null } }) => conn.identity.userId ?? conn.id

/** Chat events: join a room, send messages to its members, leave it. */
export default async function chatEvents (fastify: FastifyInstance) {
  const socket = fastify.socket

  socket.on('join_room', {
    payload: RoomPayload,
    description: 'Join a chat room. The other members get user_joined.',
    tags: ['chat'],
    reply: { event: 'room_joined', schema: Type.Object({ room: Type.String(), members: Type.Integer() }) },
    broadcasts: [{ event: 'user_joined', room: 'chat:{room}', schema: Presence }]
  }, async (conn, { room }) => {
    await conn.join(roomKey(room))
    await conn.to(roomKey(room)).emit('user_joined', { room, user: userOf(conn) })
    const members = await socket.rooms.members(roomKey(room))
    return { room, members: members.length }
  })

  socket.on('send_message', {
    payload: Type.Object({ room: RoomName, text: Type.String({ minLength: 1, maxLength: 500 }) }),
    description: 'Send a message to a room you joined. Every member gets it, the sender included.',
    tags: ['chat'],
    broadcasts: [{ event: 'message', room: 'chat:{room}', schema: Message }]
  }, async (conn, { room, text }) => {
    if (!conn.rooms.has(roomKey(room))) {
      throw new SocketError('PERMISSION_ERROR', 'Join the room first', { room })
    }
    await socket.rooms.broadcast(roomKey(room), 'message', {
      room,
      user: userOf(conn),
      text,
      sentAt: new Date().toISOString()
    })
  })

  socket.on('leave_room', {
    payload: RoomPayload,
    description: 'Leave a chat room. The remaining members get user_left.',
    tags: ['chat'],
    reply: { event: 'room_left', schema: Type.Object({ room: Type.String() }) },
    broadcasts: [{ event: 'user_left', room: 'chat:{room}', schema: Presence }]
  }, async (conn, { room }) => {
    if (conn.rooms.has(roomKey(room))) {
      // Tell the others first: the room disappears when its last member leaves.
      await conn.to(roomKey(room)).emit('user_left', { room, user: userOf(conn) })
      await conn.leave(roomKey(room))
    }
    return { room }
  })
}
`
}
