import t from 'tap'
import { buildApp } from '../../examples/chat/app.js'
import { TestClient } from '../../lib/testing.js'

t.test('chat example: join, send, members, guard, announce', async (t) => {
  const app = await buildApp()
  t.teardown(() => app.close())
  const client = new TestClient(app)
  t.teardown(() => client.close())
  const alice = await client.connect({ query: { name: 'alice' } })
  const bob = await client.connect({ query: { name: 'bob' } })

  const joined = await alice.request('join', { room: 'general' })
  t.same(joined.payload, { room: 'general', members: [alice.id] })
  await bob.request('join', { room: 'general' })
  const notice = await alice.receiveEvent('user_joined')
  t.same(notice.payload, { room: 'general', id: bob.id, name: 'bob' })

  await bob.send('send', { room: 'general', text: 'hi all' })
  for (const c of [alice, bob]) {
    const m = await c.receiveEvent('message')
    t.match(m.payload, { room: 'general', from: bob.id, name: 'bob', text: 'hi all' })
  }
  const members = await alice.request('members', { room: 'general' })
  t.same([...members.payload.members].sort(), [alice.id, bob.id].sort())

  await t.rejects(alice.request('send', { room: 'elsewhere', text: 'x' }), { code: 'PERMISSION_ERROR' })
  await t.rejects(alice.request('join', { room: 'admin:ops' }), { code: 'PERMISSION_ERROR' })
  await t.rejects(alice.request('members', { room: 'nope' }), { code: 'ROOM_NOT_FOUND' })
  t.same((await alice.request('rooms', {})).payload.rooms.sort(), ['general', 'lobby'])

  await alice.send('announce', { text: 'hello' })
  t.same((await bob.receiveEvent('announcement')).payload, { text: 'hello', from: 'alice' })

  await bob.request('leave', { room: 'general' })
  t.same((await alice.receiveEvent('user_left')).payload, { room: 'general', id: bob.id })
  await alice.close()
  t.same((await bob.request('rooms', {})).payload.rooms, ['lobby'], 'dynamic rooms vanish when empty; static rooms stay')
})
