import t from 'tap'
import WebSocket from 'ws'
import { encodeTextFrame, PreparedFrame } from '../lib/frame.js'
import { Type } from '../lib/index.js'
import { build } from './helpers/build.js'
import { listen, open } from './helpers/ws-client.js'

t.test('encodeTextFrame produces the bytes ws itself frames, at every length boundary', async (t) => {
  for (const len of [0, 1, 125, 126, 127, 65535, 65536, 70000]) {
    const text = 'é'.repeat(Math.floor(len / 2)) + 'a'.repeat(len % 2)
    const ours = encodeTextFrame(text)
    const theirs = Buffer.concat((WebSocket as any).Sender.frame(Buffer.from(text), { fin: true, rsv1: false, opcode: 1, mask: false, readOnly: false }))
    t.same(ours, theirs, `byteLength ${Buffer.byteLength(text)}`)
  }
})

t.test('PreparedFrame encodes once, lazily', async (t) => {
  const f = new PreparedFrame('{"event":"x","payload":{}}')
  const a = f.bytes
  t.equal(f.bytes, a, 'same buffer every time')
  t.equal(f.text, '{"event":"x","payload":{}}')
})

t.test('broadcasts written as prepared bytes arrive intact over real sockets (small, 16-bit and 64-bit lengths)', async (t) => {
  const app = await build(t, { maxPayloadSize: 1024 * 1024 })
  app.socket.on('join', { payload: Type.Object({ room: Type.String() }), reply: { event: 'joined' } }, async (conn, p) => { await conn.join(p.room); return {} })
  app.socket.on('shout', { payload: Type.Object({ size: Type.Integer() }) }, async (_c, p) => {
    await app.socket.to('r').emit('big', { text: 'ü'.repeat(p.size) })
  })
  const url = await listen(t, app)
  const clients = await Promise.all([open(t, url), open(t, url), open(t, url)])
  for (const c of clients) {
    await c.next('__connect__')
    c.send('join', { room: 'r' }, 'j')
    await c.next('joined')
  }
  for (const size of [10, 40_000, 100_000]) {
    clients[0].send('shout', { size })
    for (const c of clients) {
      const m = await c.next('big')
      t.equal(m.payload.text.length, size, `size ${size}`)
      t.equal(m.payload.text, 'ü'.repeat(size))
    }
  }
  t.ok(clients.every(c => c.ws.readyState === WebSocket.OPEN))
})
