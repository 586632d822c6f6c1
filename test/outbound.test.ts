import t from 'tap'
import type { Test } from 'tap'
import { once } from 'node:events'
import { Socket } from 'node:net'
import { WebSocket, WebSocketServer, type ServerOptions } from 'ws'
import { acceptsRawFrames, rawSocket, unsentBytes } from '../lib/outbound.js'

/**
 * lib/outbound.ts is the one file that reads private fields of `ws` and of
 * Node's stream sockets. This file is its guard: when a ws or Node upgrade
 * moves or retypes one of them, these tests fail instead of backpressure
 * silently reading `undefined`.
 */

interface Pair { server: WebSocket, client: WebSocket }

/** A real ws server/client pair over loopback TCP. */
async function pair (t: Test, serverOptions: Omit<ServerOptions, 'port' | 'host'> = {}, clientOptions: WebSocket.ClientOptions = {}): Promise<Pair> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', ...serverOptions })
  await once(wss, 'listening')
  const { port } = wss.address() as { port: number }
  const accepted = once(wss, 'connection') as Promise<[WebSocket]>
  const client = new WebSocket(`ws://127.0.0.1:${port}`, clientOptions)
  client.on('error', () => {})
  t.teardown(async () => {
    client.terminate()
    for (const ws of wss.clients) ws.terminate()
    await new Promise(resolve => wss.close(resolve))
  })
  const [[server]] = await Promise.all([accepted, once(client, 'open')])
  return { server, client }
}

/** The private fields as outbound.ts sees them. */
function privates (ws: WebSocket): any {
  return ws as any
}

t.test('the ws and Node private fields outbound.ts reads exist, with the expected types', async (t) => {
  const { server, client } = await pair(t)
  for (const [side, ws] of [['server', server], ['client', client]] as const) {
    const p = privates(ws)
    t.ok(p._socket instanceof Socket, `${side}: _socket is the net.Socket`)
    t.equal(rawSocket(ws), p._socket, `${side}: rawSocket returns it`)
    const st = p._socket._writableState
    t.type(st, 'object', `${side}: _socket._writableState`)
    t.type(st.length, 'number', `${side}: _writableState.length`)
    t.type(st.writing, 'boolean', `${side}: _writableState.writing`)
    t.type(st.writelen, 'number', `${side}: _writableState.writelen`)
    t.type(p._socket._handle, 'object', `${side}: _socket._handle (TCP)`)
    t.type(p._socket._handle.writeQueueSize, 'number', `${side}: _handle.writeQueueSize`)
    t.ok(Array.isArray(p._sender._queue), `${side}: _sender._queue is an array`)
    t.type(p._sender._bufferedBytes, 'number', `${side}: _sender._bufferedBytes`)
    t.type(p._extensions, 'object', `${side}: _extensions`)
    t.not(p._extensions, null)
  }
})

t.test('the fields mean what outbound.ts assumes', async (t) => {
  t.test('corked writes sit in _writableState.length until the socket is uncorked', async (t) => {
    const { server, client } = await pair(t)
    const raw = rawSocket(server)!
    t.equal(unsentBytes(server), 0, 'nothing unsent on an idle socket')
    raw.cork()
    server.send('a'.repeat(10_000))
    const st = privates(server)._socket._writableState
    t.ok(st.length >= 10_000, `corked: _writableState.length ${st.length}`)
    t.equal(unsentBytes(server), st.length, 'unsentBytes counts it')
    t.equal(unsentBytes(server), server.bufferedAmount, 'as ws.bufferedAmount does')
    const got = once(client, 'message')
    raw.uncork()
    await got
    t.equal(unsentBytes(server), 0, 'once the peer has it, nothing is unsent')
  })

  t.test('a peer that stops reading: what the kernel refuses shows in _handle.writeQueueSize', async (t) => {
    const { server, client } = await pair(t)
    privates(client)._socket.pause()
    const chunk = 'b'.repeat(1024 * 1024)
    for (let i = 0; i < 32; i++) server.send(chunk)
    await new Promise(resolve => setTimeout(resolve, 50))
    const raw = privates(server)._socket
    const unsent = unsentBytes(server)
    t.comment(`32 MiB sent to a paused peer: writeQueueSize ${raw._handle.writeQueueSize}, writableLength ${raw.writableLength}, unsent ${unsent}`)
    t.ok(raw._handle.writeQueueSize > 0, 'libuv holds what the kernel did not take')
    t.ok(unsent > 0 && unsent <= 32 * (chunk.length + 10), 'unsentBytes is positive and never more than was sent')
    t.ok(unsent >= raw._handle.writeQueueSize, 'and includes the libuv queue')
  })

  t.test('permessage-deflate: a message being compressed counts in _sender._bufferedBytes; later ones queue in _sender._queue', async (t) => {
    const { server } = await pair(t, { perMessageDeflate: { threshold: 0 } })
    const p = privates(server)
    t.ok('permessage-deflate' in p._extensions, 'the extension was negotiated')
    t.equal(acceptsRawFrames(server), false, 'raw frames are refused while an extension transforms frames')
    const big = 'c'.repeat(256 * 1024)
    server.send(big)
    t.ok(p._sender._bufferedBytes >= big.length, `compressing: _bufferedBytes ${p._sender._bufferedBytes}`)
    server.send(big)
    t.equal(p._sender._queue.length, 1, 'the second message waits in _sender._queue')
    t.ok(unsentBytes(server) >= 2 * big.length, 'unsentBytes counts both')
  })
})

t.test('unsentBytes', async (t) => {
  t.test('a server-side WebSocket with no socket yet has nothing unsent', async (t) => {
    const ws = new WebSocket(null as unknown as string, undefined as unknown as string[], { autoPong: true } as WebSocket.ClientOptions)
    t.equal(privates(ws)._socket, null)
    t.equal(rawSocket(ws), null)
    t.equal(unsentBytes(ws), 0)
  })

  t.test('the sender queue, the stream buffer not being written, and the libuv queue add up', async (t) => {
    const fake = (socket: unknown, bufferedBytes = 0): WebSocket =>
      ({ _socket: socket, _sender: { _queue: [], _bufferedBytes: bufferedBytes }, _extensions: {}, bufferedAmount: 0 }) as unknown as WebSocket
    t.equal(unsentBytes(fake({ _writableState: { length: 300, writing: false, writelen: 0 }, _handle: { writeQueueSize: 20 } }, 5)), 325, 'nothing in flight: all of length counts')
    t.equal(unsentBytes(fake({ _writableState: { length: 300, writing: true, writelen: 200 }, _handle: { writeQueueSize: 20 } }, 5)), 125, 'the chunk being written is counted by libuv, not twice')
    t.equal(unsentBytes(fake({ _writableState: { length: 0, writing: false, writelen: 0 }, _handle: null })), 0, 'a destroyed handle counts nothing')
    t.equal(unsentBytes(fake({ writableLength: 42 }, 8)), 50, 'a duplex without _writableState: its writableLength')
    t.equal(unsentBytes({ _socket: null, _sender: null, bufferedAmount: 7 } as unknown as WebSocket), 7, 'no socket: bufferedAmount')
  })
})

t.test('acceptsRawFrames', async (t) => {
  const { server } = await pair(t)
  t.equal(acceptsRawFrames(server), true, 'an open socket, nothing queued in ws, no extension')
  const fake = (fields: Record<string, unknown>): WebSocket =>
    ({ _socket: {}, _sender: { _queue: [] }, _extensions: {}, ...fields }) as unknown as WebSocket
  t.equal(acceptsRawFrames(fake({})), true)
  t.equal(acceptsRawFrames(fake({ _sender: { _queue: [['queued']] } })), false, 'frames queued inside ws: order would break')
  t.equal(acceptsRawFrames(fake({ _extensions: { 'permessage-deflate': {} } })), false, 'an extension transforms frames')
  t.equal(acceptsRawFrames(fake({ _extensions: undefined })), false, 'unknown extensions: refuse')
  t.equal(acceptsRawFrames(fake({ _socket: null })), false, 'no socket')
  t.equal(acceptsRawFrames(fake({ _sender: null })), false, 'no sender')
  t.equal(acceptsRawFrames(fake({ _sender: {} })), false, 'a sender without _queue (ws changed): refuse')
})
