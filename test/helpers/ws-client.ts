import { randomBytes } from 'node:crypto'
import { connect, type Socket } from 'node:net'
import WebSocket from 'ws'
import type { FastifyInstance } from 'fastify'
import type { Test } from 'tap'

export interface Frame { event: string, payload: any, id?: string, room?: string, offset?: number, epoch?: string }

/** A real `ws` client with an inbox: `next()` waits for the next frame (optionally of one event). */
export class WsClient {
  readonly frames: Frame[] = []
  readonly closed: Promise<{ code: number, reason: string }>
  private readonly inbox: Frame[] = []
  private waiters: Array<{ event?: string, resolve: (f: Frame) => void, reject: (e: Error) => void }> = []
  private closeInfo: { code: number, reason: string } | null = null

  constructor (readonly ws: WebSocket, opts: { answerPings?: boolean } = {}) {
    ws.on('message', (data) => {
      const f = JSON.parse(data.toString()) as Frame
      this.frames.push(f)
      if (f.event === '__ping__' && opts.answerPings === true) {
        ws.send(JSON.stringify({ event: '__pong__', payload: {} }))
        return
      }
      const i = this.waiters.findIndex(w => w.event === undefined || w.event === f.event)
      if (i !== -1) this.waiters.splice(i, 1)[0].resolve(f)
      else this.inbox.push(f)
    })
    this.closed = new Promise(resolve => {
      ws.on('close', (code, reason) => {
        this.closeInfo = { code, reason: reason.toString() }
        for (const w of this.waiters.splice(0)) w.reject(new Error(`closed ${code} while waiting for ${w.event ?? 'a frame'}`))
        resolve(this.closeInfo)
      })
    })
    ws.on('error', () => {})
  }

  next (event?: string, timeout = 3000): Promise<Frame> {
    const i = this.inbox.findIndex(f => event === undefined || f.event === event)
    if (i !== -1) return Promise.resolve(this.inbox.splice(i, 1)[0])
    if (this.closeInfo !== null) return Promise.reject(new Error(`closed ${this.closeInfo.code} while waiting for ${event ?? 'a frame'}`))
    return new Promise((resolve, reject) => {
      const w = { event, resolve, reject }
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter(x => x !== w)
        reject(new Error(`timeout waiting for ${event ?? 'a frame'}`))
      }, timeout)
      w.resolve = (f) => { clearTimeout(timer); resolve(f) }
      w.reject = (e) => { clearTimeout(timer); reject(e) }
      this.waiters.push(w)
    })
  }

  send (event: string, payload: unknown = {}, id?: string): void {
    this.ws.send(JSON.stringify(id === undefined ? { event, payload } : { event, payload, id }))
  }
}

/** Listen on a loopback port and return the ws URL of `path`. */
export async function listen (t: Test, app: FastifyInstance, path = '/ws'): Promise<string> {
  await app.listen({ port: 0, host: '127.0.0.1' })
  const addr = app.server.address() as { port: number }
  return `ws://127.0.0.1:${addr.port}${path}`
}

/** Open a ws client; resolves on 'open' (or rejects on an HTTP refusal with `statusCode`). */
export function open (t: Test, url: string, options: WebSocket.ClientOptions & { protocols?: string[], answerPings?: boolean } = {}): Promise<WsClient> {
  const { protocols, answerPings, ...rest } = options
  const ws = new WebSocket(url, protocols ?? [], rest)
  const client = new WsClient(ws, { answerPings })
  t.teardown(() => { if (ws.readyState <= 1) ws.terminate() })
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(client))
    ws.once('unexpected-response', (_req, res) => {
      reject(Object.assign(new Error('HTTP ' + String(res.statusCode)), { statusCode: res.statusCode }))
      ws.terminate()
    })
    ws.once('error', reject)
  })
}

/** A masked client → server frame (RFC 6455 §5.2); opcode 1 is text, 2 binary. */
export function clientFrame (data: string | Buffer, opcode = 1): Buffer {
  const payload = typeof data === 'string' ? Buffer.from(data) : data
  const n = payload.length
  const header = Buffer.alloc(n < 126 ? 2 : n < 65536 ? 4 : 10)
  header[0] = 0x80 | opcode
  if (n < 126) {
    header[1] = 0x80 | n
  } else if (n < 65536) {
    header[1] = 0x80 | 126
    header.writeUInt16BE(n, 2)
  } else {
    header[1] = 0x80 | 127
    header.writeBigUInt64BE(BigInt(n), 2)
  }
  const mask = randomBytes(4)
  const masked = Buffer.allocUnsafe(n)
  for (let i = 0; i < n; i++) masked[i] = payload[i] ^ mask[i & 3]
  return Buffer.concat([header, mask, masked])
}

/**
 * A raw TCP WebSocket client that completes the handshake and then never
 * reads again (a frozen consumer): what the server writes piles up in the
 * kernel buffers, then in the server. Write `clientFrame(...)`s to it.
 */
export async function nonReadingClient (t: Test, url: string): Promise<Socket> {
  const { hostname, port, pathname, search } = new URL(url)
  const socket = connect(Number(port), hostname)
  t.teardown(() => { socket.destroy() })
  socket.on('error', () => {})
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject)
    socket.once('connect', () => resolve())
  })
  socket.write(`GET ${pathname}${search} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`)
  const head = await new Promise<string>(resolve => socket.once('data', (chunk: Buffer) => {
    socket.pause()
    resolve(chunk.toString('latin1'))
  }))
  if (!head.startsWith('HTTP/1.1 101')) throw new Error('handshake refused: ' + head.split('\r\n')[0])
  return socket
}

/** A real ws client that answers `__ping__` and knows its connection id (after `__connect__`). */
export async function connectedClient (t: Test, url: string, timeout = 3000): Promise<WsClient & { id: string }> {
  const c = await open(t, url, { answerPings: true })
  const hello = await c.next('__connect__', timeout)
  return Object.assign(c, { id: hello.payload.connection_id as string })
}

let requests = 0
/** Send with an id and resolve with the payload of the `reply` event carrying it; rejects on the matching `__error__` (with its `code`). */
export function requestReply (c: WsClient, event: string, payload: unknown, reply: string, timeout = 3000): Promise<any> {
  const id = `r${++requests}`
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { done(); reject(new Error(`no answer to ${event} ${id}`)) }, timeout)
    const onMessage = (data: Buffer): void => {
      const frame = JSON.parse(data.toString())
      if (frame.id !== id) return
      done()
      if (frame.event === '__error__') reject(Object.assign(new Error(frame.payload.message), { code: frame.payload.code }))
      else if (frame.event !== reply) reject(new Error(`expected ${reply}, got ${String(frame.event)}`))
      else resolve(frame.payload)
    }
    const done = (): void => {
      clearTimeout(timer)
      c.ws.off('message', onMessage)
    }
    c.ws.on('message', onMessage)
    c.send(event, payload, id)
  })
}
