import type { ScaffoldOptions } from './options.js'

/** test/chat.test.ts */
export function render (_opts: ScaffoldOptions): string {
  return `import assert from 'node:assert/strict'
import { test } from 'node:test'
import { build, connect, match } from './helper.js'

/** The user name the chat shows for a connection. */
const userOf = (conn: { server: { id: string, identity: { userId: string | null } } }) =>
  conn.server.identity.userId ?? conn.server.id

test('members of a room get each other\\'s messages', async (t) => {
  const { client } = await build(t)
  const alice = await connect(client, 'alice')
  const bob = await connect(client, 'bob')

  match(await alice.request('join_room', { room: 'lobby' }), { event: 'room_joined', payload: { room: 'lobby', members: 1 } })
  match(await bob.request('join_room', { room: 'lobby' }), { event: 'room_joined', payload: { room: 'lobby', members: 2 } })
  match(await alice.receive(), { event: 'user_joined', payload: { room: 'lobby', user: userOf(bob) } })

  await bob.send('send_message', { room: 'lobby', text: 'hi alice' })
  const expected = { event: 'message', payload: { room: 'lobby', user: userOf(bob), text: 'hi alice' } }
  match(await alice.receive(), expected)
  match(await bob.receive(), expected)

  match(await bob.request('leave_room', { room: 'lobby' }), { event: 'room_left', payload: { room: 'lobby' } })
  match(await alice.receive(), { event: 'user_left', payload: { room: 'lobby', user: userOf(bob) } })
  assert.equal(bob.server.rooms.has('chat:lobby'), false)
})

test('sending to a room you did not join is refused', async (t) => {
  const { client } = await build(t)
  const alice = await connect(client, 'alice')

  await assert.rejects(alice.request('send_message', { room: 'lobby', text: 'hello?' }), { code: 'PERMISSION_ERROR' })
})

test('room names are validated', async (t) => {
  const { client } = await build(t)
  const alice = await connect(client, 'alice')

  await assert.rejects(alice.request('join_room', { room: 'Not A Room!' }), { code: 'VALIDATION_ERROR' })
})
`
}
