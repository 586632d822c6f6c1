import t from 'tap'
import { compileRoomPattern } from '../lib/room-pattern.js'

t.test('literal pattern matches only itself', async (t) => {
  const p = compileRoomPattern('lobby')
  t.same(p.params, [])
  t.same(p.match('lobby'), {})
  t.equal(p.match('lobby2'), null)
  t.equal(p.match('xlobby'), null)
})

t.test('params capture one segment, the last one the rest', async (t) => {
  const p = compileRoomPattern('chat:{room}')
  t.equal(p.source, 'chat:{room}')
  t.same(p.params, ['room'])
  t.same(p.match('chat:general'), { room: 'general' })
  t.same(p.match('chat:a:b'), { room: 'a:b' }, 'a trailing param covers nested segments (guards cannot be bypassed)')
  t.equal(p.match('chat:'), null, 'a param needs at least one character')
  t.equal(p.match('chats:x'), null)
  t.equal(p.match('x:chat:y'), null, 'anchored at the start')

  const two = compileRoomPattern('admin:{section}:{id}')
  t.same(two.match('admin:billing:42'), { section: 'billing', id: '42' })
  t.same(two.match('admin:billing:42:x'), { section: 'billing', id: '42:x' })
  t.equal(two.match('admin:billing'), null)

  const middle = compileRoomPattern('{team}:chat')
  t.same(middle.match('red:chat'), { team: 'red' })
  t.equal(middle.match('red:blue:chat'), null, 'an inner param does not cross ":"')
})

t.test('a whole-room param matches every room', async (t) => {
  const p = compileRoomPattern('{any}')
  t.same(p.match('x'), { any: 'x' })
  t.same(p.match('a:b:c'), { any: 'a:b:c' })
  t.same(p.match('line\nbreak'), { any: 'line\nbreak' })
  t.equal(p.match(''), null)
})

t.test('literal parts are escaped', async (t) => {
  const p = compileRoomPattern('a.b+(c)*[d]?^$|\\/-{x}')
  t.same(p.match('a.b+(c)*[d]?^$|\\/-1'), { x: '1' })
  t.equal(p.match('aXb+(c)*[d]?^$|\\/-1'), null)
  t.same(compileRoomPattern('v{n}.x').match('v1.x'), { n: '1' })
  t.equal(compileRoomPattern('v{n}.x').match('v1.y'), null)
})

t.test('bad patterns throw FST_SOCKETSPEC_INVALID_ROOM_PATTERN', async (t) => {
  const bad: unknown[] = ['', 'a{b', 'a}b', '{a}}', '{{a}}', '{a', 'a{}', '{1a}', '{a-b}', '{a}:{a}', '{a}{b}', '{__proto__}', null, 42]
  for (const pattern of bad) {
    t.throws(() => compileRoomPattern(pattern as string), { code: 'FST_SOCKETSPEC_INVALID_ROOM_PATTERN' }, `rejects ${JSON.stringify(pattern)}`)
  }
  t.throws(() => compileRoomPattern('{a}:{a}'), { message: /duplicate param 'a'/ }, 'the message says why')
  t.throws(() => compileRoomPattern('{a}{b}'), { message: /separated by literal text/ })
})
