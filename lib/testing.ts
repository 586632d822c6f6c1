import { randomUUID } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import type { WebSocket } from 'ws'
import { SocketError } from './errors.js'
import { SocketApp } from './socket-app.js'
import type { Connection } from './connection.js'
import type { AnyContract } from './contract.js'
import type { Engine } from './engine.js'
import { kEngine, kInject, kSocket, kSocketApps } from './symbols.js'

export { backendConformance, type ConformanceFactory, type ConformanceTest, type Delivery } from './conformance.js'

/** A frame received by the TestClient. */
export interface TestMessage<P = any> {
  event: string
  payload: P
  id?: string
}

/** Options of `client.connect()`. */
export interface TestConnectOptions {
  headers?: Record<string, string>
  query?: Record<string, string>
  /** Sent as `Authorization: Bearer <token>`. */
  token?: string
  /** Milliseconds to wait for `__connect__` (default 5000). */
  timeout?: number
  /**
   * With `recovery` on: a connection that was dropped (`conn.drop()`): the new one
   * sends `__resume__` with its token and room positions and resolves after
   * `__resumed__` (in `conn.resumed`); the replayed broadcasts wait in the inbox.
   */
  resume?: TestConnection<any>
}

/** Options of `receive()` / `request()`. */
export interface TestWaitOptions {
  /** Milliseconds before the promise rejects (default 5000). */
  timeout?: number
}

/** Options of `new TestClient(app, options)`. */
export interface TestClientOptions {
  /** WebSocket path; by default the path of the `socket` decorator (or the one named by `decorator`). */
  path?: string
  decorator?: string
}

interface Waiter {
  match: (m: TestMessage) => boolean
  resolve: (m: TestMessage) => void
  reject: (e: Error) => void
  timer: NodeJS.Timeout
}

const DEFAULT_TIMEOUT = 5000
/** Links an in-process client to its server-side connection (visible in conn.headers). */
const LINK_HEADER = 'x-socketspec-test-client'

/**
 * One in-process client connection (returned by `TestClient.connect`). With a
 * contract (`TestClient<Contract<typeof events>>`), `send` and `request` are
 * typed by the declared payloads and `request` resolves with the reply's type.
 */
export class TestConnection<C extends AnyContract = AnyContract> {
  /** Resolves with `{code, reason}` once the socket closed. */
  readonly closed: Promise<{ code: number, reason: string }>
  /** Connection id from `__connect__`. */
  id = ''
  /** With recovery on: the resume token from `__connect__`. */
  resumeToken: string | undefined
  /** With recovery on: each room's last position this client received (from `__joined__` and room broadcasts). */
  readonly positions = new Map<string, { offset: number, epoch: string }>()
  /** After `connect({ resume })`: the `__resumed__` payload. */
  resumed: { recovered: boolean, previous_id?: string, reason?: string, rooms: Record<string, { recovered: boolean, missed: number }> } | undefined
  private readonly inbox: TestMessage[] = []
  private readonly waiters: Waiter[] = []
  private closeInfo: { code: number, reason: string } | null = null

  constructor (private readonly ws: WebSocket, private readonly app: SocketApp, private readonly link = '') {
    this.closed = new Promise(resolve => {
      ws.on('close', (code, reason) => {
        // injectWS streams never emit 'close' after the closing handshake, so the
        // server would wait for ws' close timeout: end the server side now, as TCP would.
        const server = this.serverSide()
        if (server !== undefined) server[kSocket].terminate()
        this.closeInfo = { code, reason: reason.toString() }
        for (const w of this.waiters.splice(0)) {
          clearTimeout(w.timer)
          w.reject(Object.assign(new Error(`connection closed (${code} ${reason.toString()})`), { closeCode: code }))
        }
        resolve(this.closeInfo)
      })
    })
    ws.on('message', (data) => this.onMessage(data.toString()))
  }

  private onMessage (text: string): void {
    let msg: TestMessage
    try {
      msg = JSON.parse(text)
    } catch {
      return
    }
    if (msg.event === '__ping__') {
      this.sendRaw(JSON.stringify({ event: '__pong__', payload: {} }))
      return
    }
    this.track(msg as TestMessage & { room?: unknown, offset?: unknown, epoch?: unknown })
    for (let i = 0; i < this.waiters.length; i++) {
      const w = this.waiters[i]
      if (w.match(msg)) {
        this.waiters.splice(i, 1)
        clearTimeout(w.timer)
        w.resolve(msg)
        return
      }
    }
    this.inbox.push(msg)
  }

  private wait (match: (m: TestMessage) => boolean, timeout: number, what: string): Promise<TestMessage> {
    const i = this.inbox.findIndex(match)
    if (i !== -1) return Promise.resolve(this.inbox.splice(i, 1)[0])
    if (this.closeInfo !== null) return Promise.reject(Object.assign(new Error(`connection closed (${this.closeInfo.code})`), { closeCode: this.closeInfo.code }))
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const idx = this.waiters.indexOf(waiter)
        if (idx !== -1) this.waiters.splice(idx, 1)
        reject(new Error(`timed out after ${timeout} ms waiting for ${what}`))
      }, timeout)
      const waiter: Waiter = { match, resolve, reject, timer }
      this.waiters.push(waiter)
    })
  }

  /** Reject the pending wait that `match` identifies (no-op when it was answered). */
  private cancelWait (match: (m: TestMessage) => boolean, err: Error): void {
    const idx = this.waiters.findIndex(w => w.match === match)
    if (idx === -1) return
    const [w] = this.waiters.splice(idx, 1)
    clearTimeout(w.timer)
    w.reject(err)
  }

  /** @internal */
  serverSide (): Connection | undefined {
    const connections = this.app[kEngine].connections
    if (this.id !== '') return connections.get(this.id)
    // refused before __connect__: find it by the link header this client sent
    for (const c of connections.values()) if (c.headers[LINK_HEADER] === this.link) return c
    return undefined
  }

  /** The server-side Connection (identity, rooms, metadata...). */
  get server (): Connection {
    const c = this.app.connection(this.id)
    if (c === undefined) throw new Error('the server-side connection is gone')
    return c
  }

  /** Send an event; resolves once written. */
  send<K extends string>(event: K, payload?: K extends keyof C ? C[K]['payload'] : unknown, options: { id?: string } = {}): Promise<void> {
    const frame: Record<string, unknown> = { event, payload: payload === undefined ? {} : payload }
    if (options.id !== undefined) frame.id = options.id
    return this.sendRaw(JSON.stringify(frame))
  }

  /** Send a raw text (or binary) frame, for testing malformed input. */
  sendRaw (data: string | Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      this.ws.send(data, (err) => { if (err != null) reject(err); else resolve() })
    })
  }

  /** The next message (in arrival order); `__ping__` is answered and skipped. */
  receive (options: TestWaitOptions = {}): Promise<TestMessage> {
    return this.wait(() => true, options.timeout ?? DEFAULT_TIMEOUT, 'a message')
  }

  /** The next message of the given event. */
  receiveEvent (event: string, options: TestWaitOptions = {}): Promise<TestMessage> {
    return this.wait(m => m.event === event, options.timeout ?? DEFAULT_TIMEOUT, `event '${event}'`)
  }

  /**
   * Send with a fresh `id` and resolve with the reply carrying the same id;
   * rejects with a SocketError when the server answers `__error__` for it.
   */
  async request<K extends string>(event: K, payload?: K extends keyof C ? C[K]['payload'] : unknown, options: TestWaitOptions & { id?: string } = {}): Promise<TestMessage<K extends keyof C ? C[K]['reply'] : any>> {
    const id = options.id ?? randomUUID()
    const match = (m: TestMessage): boolean => m.id === id
    const answer = this.wait(match, options.timeout ?? DEFAULT_TIMEOUT, `the reply to '${event}' (id ${id})`)
    const engine = this.app[kEngine]
    const ev = engine.started ? engine.registry.get(event) : undefined
    let unwatch: (() => void) | undefined
    if (ev !== undefined && ev.replyEvent === undefined) {
      // Only an __error__ can answer an event without `reply`: once the server has
      // handled the message without one, fail now instead of at the timeout.
      unwatch = watchSettled(engine, this, id, () => {
        this.cancelWait(match, new Error(`'${event}' declares no reply, so request() only ever gets an __error__, and there was none: use send() (and receiveEvent()) for it, or declare \`reply\` on the event`))
      })
    }
    let msg: TestMessage
    try {
      await this.send(event, payload, { id })
      msg = await answer
    } finally {
      // answered (or rejected before the pipeline routed it): nothing left to watch
      unwatch?.()
    }
    if (msg.event === '__error__') {
      const p = msg.payload ?? {}
      throw new SocketError(p.code, p.message, p.details ?? {})
    }
    return msg
  }

  /** Follow the recovery state a resume needs: the token, and each room's position. */
  private track (msg: TestMessage & { room?: unknown, offset?: unknown, epoch?: unknown }): void {
    if (msg.event === '__connect__') this.resumeToken = msg.payload?.resume_token
    else if (msg.event === '__joined__') this.positions.set(msg.payload.room, { offset: msg.payload.offset, epoch: msg.payload.epoch })
    else if (msg.event === '__left__') this.positions.delete(msg.payload.room)
    else if (typeof msg.room === 'string' && typeof msg.offset === 'number') this.positions.set(msg.room, { offset: msg.offset, epoch: String(msg.epoch) })
  }

  /**
   * Drop the connection abruptly, as a network failure would: no close frame
   * (the server sees 1006), so with `recovery` on the session stays resumable.
   * Resolves once the socket is closed.
   */
  async drop (): Promise<{ code: number, reason: string }> {
    if (this.closeInfo === null) this.ws.terminate()
    return await this.closed
  }

  /** Close from the client side (default 1000). */
  async close (code = 1000, reason = ''): Promise<{ code: number, reason: string }> {
    if (this.closeInfo === null && this.ws.readyState <= 1) this.ws.close(code, reason)
    return await this.closed
  }
}

/** Per engine: server connection id → (message id → callback), for `request()` on events without a reply. */
const settleWatches = new WeakMap<Engine, Map<string, Map<string, () => void>>>()

/** Call `fn` once the server's pipeline is done with message `id` of `client`; returns the way to stop watching. */
function watchSettled (engine: Engine, client: TestConnection<any>, id: string, fn: () => void): () => void {
  let byConn = settleWatches.get(engine)
  if (byConn === undefined) {
    const map = new Map<string, Map<string, () => void>>()
    byConn = map
    settleWatches.set(engine, map)
    engine.settled = (conn, msgId) => {
      const watch = map.get(conn.id)
      const cb = watch?.get(msgId)
      if (cb === undefined) return
      watch!.delete(msgId)
      if (watch!.size === 0) map.delete(conn.id)
      // frames the server wrote are still on their way through the injected stream
      setImmediate(() => setImmediate(cb))
    }
  }
  const server = client.serverSide()
  if (server === undefined) return () => {}
  let watch = byConn.get(server.id)
  if (watch === undefined) byConn.set(server.id, (watch = new Map()))
  watch.set(id, fn)
  const map = byConn
  return () => {
    const w = map.get(server.id)
    if (w === undefined || !w.delete(id)) return
    if (w.size === 0) map.delete(server.id)
  }
}

/**
 * In-process WebSocket client for tests: the whole stack (auth, middleware,
 * validation, deps, sessions) runs through `app.injectWS`, no network port.
 *
 * @example
 * const client = new TestClient(app)
 * const conn = await client.connect()
 * const reply = await conn.request('add', { a: 1, b: 2 })
 * await client.close()
 * // typed by shared declarations: new TestClient<Contract<typeof events>>(app)
 */
export class TestClient<C extends AnyContract = AnyContract> {
  private readonly connections = new Set<TestConnection<C>>()

  constructor (private readonly fastify: FastifyInstance, private readonly options: TestClientOptions = {}) {}

  private socketApp (): SocketApp {
    const name = this.options.decorator ?? 'socket'
    const app = (this.fastify as any)[name]
    if (app instanceof SocketApp && (this.options.path === undefined || app.path === this.options.path)) return app
    // A namespace registered in an encapsulated context is not a decorator of the root: find it by path.
    const byPath = (this.fastify.server as any)[kSocketApps] as Map<string, SocketApp> | undefined
    if (this.options.path !== undefined) {
      const found = byPath?.get(this.options.path)
      if (found !== undefined) return found
      throw new Error(`no socketspec registration with path '${this.options.path}' on this Fastify instance`)
    }
    if (byPath !== undefined && byPath.size === 1) return [...byPath.values()][0]
    throw new Error(`no socketspec decorator '${name}' on this Fastify instance; pass { path } to pick a registration`)
  }

  /** Open a connection; resolves after `__connect__`, rejects with SocketError AUTH_ERROR (closeCode 4001) when refused. */
  async connect (options: TestConnectOptions = {}): Promise<TestConnection<C>> {
    await this.fastify.ready()
    const app = this.socketApp()
    let path = this.options.path ?? app.path
    if (options.query !== undefined) {
      const qs = new URLSearchParams(options.query).toString()
      if (qs !== '') path += (path.includes('?') ? '&' : '?') + qs
    }
    const link = randomUUID()
    const headers: Record<string, string> = { ...options.headers, [LINK_HEADER]: link }
    if (options.token !== undefined) headers.authorization = 'Bearer ' + options.token
    let conn: TestConnection<C> | undefined
    const inject = app[kInject] ?? (this.fastify as any).injectWS?.bind(this.fastify)
    const ws = await inject(path, { headers }, {
      onInit: (socket: WebSocket) => { conn = new TestConnection<C>(socket, app, link) }
    }) as WebSocket
    const c = conn as TestConnection<C>
    this.connections.add(c)
    void c.closed.then(() => this.connections.delete(c))
    const timeout = options.timeout ?? DEFAULT_TIMEOUT
    let first: TestMessage
    try {
      first = await (c as any).wait((m: TestMessage) => m.event === '__connect__' || m.event === '__error__', timeout, '__connect__')
    } catch (err) {
      ws.terminate()
      const closeCode = (err as any).closeCode
      const e = new SocketError('AUTH_ERROR', 'connection closed before __connect__')
      e.closeCode = closeCode
      throw e
    }
    if (first.event === '__error__') {
      const { code } = await c.closed
      const e = new SocketError(first.payload?.code ?? 'AUTH_ERROR', first.payload?.message, first.payload?.details ?? {})
      e.closeCode = code
      throw e
    }
    c.id = first.payload.connection_id
    const old = options.resume
    if (old !== undefined) {
      if (old.resumeToken === undefined) throw new Error('connect({ resume }): that connection got no resume_token (is `recovery` on?)')
      const resumed: Promise<TestMessage> = (c as any).wait((m: TestMessage) => m.event === '__resumed__', timeout, '__resumed__')
      await c.send('__resume__' as any, { token: old.resumeToken, rooms: Object.fromEntries(old.positions) } as any)
      c.resumed = (await resumed).payload
    }
    return c
  }

  /** Close every connection this client opened. */
  async close (): Promise<void> {
    await Promise.all([...this.connections].map(c => c.close()))
  }
}
