import type { ScaffoldOptions } from './options.js'

/** test/chat.test.ts */
export function render (_opts: ScaffoldOptions): string {
  return `import t from 'tap'
import { build, connect } from './helper.js'

/** The user name the chat shows for a connection. */
const userOf = (conn: { server: { id: string, identity: { userId: string | null } } }) =>
  conn.server.identity.userId ?? conn.server.id

t.test('members of a room get each other\\'s messages', async (t) => {
  const { client } = await build(t)
  const alice = await connect(client, 'alice')
  const bob = await connect(client, 'bob')

  t.match(await alice.request('join_room', { room: 'lobby' }), { event: 'room_joined', payload: { room: 'lobby', members: 1 } })
  t.match(await bob.request('join_room', { room: 'lobby' }), { event: 'room_joined', payload: { room: 'lobby', members: 2 } })
  t.match(await alice.receive(), { event: 'user_joined', payload: { room: 'lobby', user: userOf(bob) } })

  await bob.send('send_message', { room: 'lobby', text: 'hi alice' })
  const expected = { event: 'message', payload: { room: 'lobby', user: userOf(bob), text: 'hi alice' } }
  t.match(await alice.receive(), expected)
  t.match(await bob.receive(), expected)

  t.match(await bob.request('leave_room', { room: 'lobby' }), { event: 'room_left', payload: { room: 'lobby' } })
  t.match(await alice.receive(), { event: 'user_left', payload: { room: 'lobby', user: userOf(bob) } })
  t.notOk(bob.server.rooms.has('chat:lobby'))
})

t.test('sending to a room you did not join is refused', async (t) => {
  const { client } = await build(t)
  const alice = await connect(client, 'alice')

  await t.rejects(alice.request('send_message', { room: 'lobby', text: 'hello?' }), { code: 'PERMISSION_ERROR' })
})

t.test('room names are validated', async (t) => {
  const { client } = await build(t)
  const alice = await connect(client, 'alice')

  await t.rejects(alice.request('join_room', { room: 'Not A Room!' }), { code: 'VALIDATION_ERROR' })
})
`
}
