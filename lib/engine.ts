import { randomUUID } from 'node:crypto'
import type { FastifyBaseLogger, FastifyRequest } from 'fastify'
import type { WebSocket } from 'ws'
import { Connection, ConnState } from './connection.js'
import { CloseCode, ErrorCode, SocketError, WIRE_ERRORS } from './errors.js'
import { EventRegistry, createAjv } from './registry.js'
import { FrameSerializer } from './serializer.js'
import { SessionTimers } from './session.js'
import { TokenBucket } from './rate-limit.js'
import { onFrame } from './pipeline.js'
import { RoomManager } from './rooms.js'
import { extractToken } from './auth/token.js'
import { normalizeIdentity, anonymousIdentity } from './auth/identity.js'
import type { ResolvedOptions } from './options.js'
import type { BackendAdapter } from './backends/types.js'
import type { HandlerContext } from './types.js'
import type { PreparedFrame } from './frame.js'
import { kBuckets, kCloseInfo, kCorked, kInflight, kQueue, kRegistered, kSocket, kState, kTimers } from './symbols.js'

const WS_OPEN = 1
/** Frames a client may send before authentication completes; more is abuse. */
const MAX_PENDING_FRAMES = 1024
/** How long a peer gets to complete the close handshake before the socket is destroyed. */
const CLOSE_GRACE_MS = 2000

export type ConnectHook = (conn: Connection) => unknown
export type DisconnectHook = (conn: Connection, reason: string, code: number) => unknown
export type ErrorHook = (conn: Connection, error: unknown, ctx: HandlerContext) => unknown
export type Middleware = (conn: Connection, event: string, payload: unknown, next: () => Promise<void>) => unknown

/** The runtime of one plugin registration (one namespace). Internal: the public facade is SocketApp. */
export class Engine {
  readonly opts: ResolvedOptions
  readonly namespace: string
  readonly registry = new EventRegistry()
  readonly serializer = new FrameSerializer()
  readonly ajv = createAjv()
  readonly connections = new Map<string, Connection>()
  readonly hooks = {
    connect: [] as ConnectHook[],
    disconnect: [] as DisconnectHook[],
    error: [] as ErrorHook[]
  }

  readonly middleware: Middleware[] = []
  readonly rooms: RoomManager<Connection>
  readonly backend: BackendAdapter
  readonly nodeId = randomUUID()
  readonly stats = { eventsIn: 0, eventsOut: 0, errors: Object.create(null) as Record<string, number> }
  log: FastifyBaseLogger
  started = false
  shuttingDown = false
  /** Per-connection bucket settings, resolved once. */
  readonly connRate: ResolvedOptions['rateLimit']
  readonly hardCap: number
  private drained: (() => void) | null = null

  constructor (opts: ResolvedOptions, log: FastifyBaseLogger) {
    this.opts = opts
    this.namespace = opts.namespace
    this.log = log
    this.connRate = opts.rateLimit
    this.hardCap = opts.maxPayloadSize * 4
    this.backend = opts.backend
    this.rooms = new RoomManager<Connection>({ namespace: opts.namespace, backend: this.backend, staticRooms: opts.rooms, log })
  }

  /** Compile every event and start the backend (at ready). */
  async start (): Promise<void> {
    if (this.started) return
    this.registry.compile(this.ajv, this.serializer, this.namespace)
    await this.rooms.start({ nodeId: this.nodeId, heartbeatInterval: this.opts.session.heartbeatInterval })
    this.started = true
  }

  /** A WebSocket was upgraded on our path. Listeners are attached synchronously so no frame is lost. */
  accept (socket: WebSocket, req: FastifyRequest): void {
    const id = randomUUID()
    const query = (req.query ?? {}) as Record<string, string | string[] | undefined>
    const conn = new Connection(this, socket, id, req.headers, query, anonymousIdentity())
    this.connections.set(id, conn)
    socket.on('message', (data: Buffer, isBinary: boolean) => onFrame(this, conn, data, isBinary))
    socket.on('error', (err: Error & { code?: string }) => this.onSocketError(conn, err))
    socket.on('close', (code: number) => { this.onSocketClose(conn, code) })
    if (this.shuttingDown) {
      this.close(conn, CloseCode.SERVER_SHUTDOWN, 'server_shutdown')
      return
    }
    this.authenticate(conn).catch(/* c8 ignore next */ (err) => this.log.error({ err }, 'connection setup failed'))
  }

  private async authenticate (conn: Connection): Promise<void> {
    const auth = this.opts.auth
    if (auth !== undefined) {
      let init = null
      let refusal: SocketError | null = null
      let timer: NodeJS.Timeout | undefined
      try {
        const { token } = extractToken(conn.headers, conn.query)
        init = await Promise.race([
          auth.authenticate({ headers: conn.headers, query: conn.query, token }),
          // an auth backend that never answers must not hold a socket forever
          new Promise<null>((resolve) => {
            timer = setTimeout(resolve, this.opts.authTimeout * 1000, null)
            timer.unref()
          })
        ])
      } catch (err) {
        // A SocketError AUTH_ERROR from the backend carries a safe reason (expired, invalid_signature...).
        if (isSocketError(err) && err.code === ErrorCode.AUTH_ERROR) refusal = err
        conn.log.debug({ err: { message: (err as Error)?.message } }, 'authentication refused')
        init = null
      } finally {
        if (timer !== undefined) clearTimeout(timer)
      }
      if (conn[kState] !== ConnState.PENDING) return
      if (init === null || init === undefined) {
        this.countError(ErrorCode.AUTH_ERROR)
        this.writeError(conn, ErrorCode.AUTH_ERROR, refusal?.message ?? WIRE_ERRORS.AUTH_ERROR.message, refusal?.details ?? {}, undefined, randomUUID())
        this.close(conn, CloseCode.AUTH_ERROR, 'auth_error')
        return
      }
      conn.identity = normalizeIdentity(init)
    }
    if (conn[kState] !== ConnState.PENDING) return
    const now = Date.now()
    conn.session.tokenExpiresAt = conn.identity.tokenExpiresAt
    const max = this.opts.session.maxDuration
    if (max > 0) conn.session.expiresAt = now + max * 1000
    conn[kState] = ConnState.OPEN
    conn[kRegistered] = true
    try {
      await this.rooms.addConnection(conn)
    } catch (err) {
      conn.log.error({ err }, 'backend presence failed')
    }
    if (conn[kState] !== ConnState.OPEN) return
    conn.emit('__connect__', {
      connection_id: conn.id,
      namespace: this.namespace,
      heartbeat_interval: this.opts.session.heartbeatInterval,
      session_expires_at: conn.session.expiresAt
    })
    const timers = new SessionTimers(this, conn)
    conn[kTimers] = timers
    timers.start()
    for (const hook of this.hooks.connect) {
      try {
        await hook(conn)
      } catch (err) {
        conn.log.error({ err }, 'onConnect hook failed')
      }
      if (conn[kState] !== ConnState.OPEN) return
    }
    const queued = conn[kQueue]
    conn[kQueue] = null
    if (queued !== null) {
      for (const [data, isBinary] of queued) onFrame(this, conn, data, isBinary)
    }
  }

  /** Queue a frame that arrived before the connection was ready. */
  enqueue (conn: Connection, data: Buffer, isBinary: boolean): void {
    const queue = conn[kQueue] as Array<[Buffer, boolean]>
    if (queue.length >= MAX_PENDING_FRAMES) {
      this.close(conn, 1008, 'too_many_frames_before_connect')
      return
    }
    queue.push([data, isBinary])
  }

  /** The connection's own token bucket (created on first use). */
  connBucket (conn: Connection): TokenBucket {
    const buckets = conn[kBuckets]
    let b = buckets[0]
    if (b === undefined) {
      const rl = this.connRate!
      b = buckets[0] = new TokenBucket(rl.rate, rl.capacity)
    }
    return b
  }

  /** Write one frame to a connection; closes slow consumers (4009). */
  send (conn: Connection, frame: string): void {
    if (conn[kState] !== ConnState.OPEN) return
    const ws = conn[kSocket]
    if (ws.readyState !== WS_OPEN) return
    if (!conn[kCorked]) cork(conn)
    ws.send(frame)
    this.written(conn, ws)
  }

  /**
   * Broadcast delivery: write the pre-encoded frame bytes straight to the TCP
   * socket (no per-receiver framing or UTF-8 encoding) when ws has nothing
   * queued and no extension transforms frames; otherwise go through ws.
   */
  sendPrepared (conn: Connection, frame: PreparedFrame): void {
    if (conn[kState] !== ConnState.OPEN) return
    const ws = conn[kSocket] as WebSocket & { _socket?: any, _sender?: { _queue?: unknown[] }, _extensions?: Record<string, unknown> }
    if (ws.readyState !== WS_OPEN) return
    if (!conn[kCorked]) cork(conn)
    const raw = ws._socket
    if (raw !== undefined && raw !== null && ws._sender?._queue?.length === 0 && ws._extensions !== undefined && Object.keys(ws._extensions).length === 0) {
      raw.write(frame.bytes)
    } else {
      ws.send(frame.text)
    }
    this.written(conn, ws)
  }

  /** Count a frame written and close the client (4009) once its outbound queue passes maxBufferedBytes. */
  private written (conn: Connection, ws: WebSocket): void {
    this.stats.eventsOut++
    if (ws.bufferedAmount > this.opts.maxBufferedBytes) {
      conn.log.warn({ bufferedAmount: ws.bufferedAmount }, 'slow consumer closed')
      this.close(conn, CloseCode.SLOW_CONSUMER, 'slow_consumer')
    }
  }

  countError (code: string): void {
    this.stats.errors[code] = (this.stats.errors[code] ?? 0) + 1
  }

  /** Send an `__error__` frame and count it. */
  sendError (conn: Connection, code: string, message: string | undefined, details: Record<string, unknown>, clientId: string | undefined, requestId: string | undefined): void {
    this.countError(code)
    this.writeError(conn, code, message ?? (WIRE_ERRORS as Record<string, { message: string }>)[code]?.message ?? code, details, clientId, requestId ?? clientId ?? randomUUID())
  }

  private writeError (conn: Connection, code: string, message: string, details: Record<string, unknown>, clientId: string | undefined, requestId: string): void {
    const ws = conn[kSocket]
    if (conn[kState] >= ConnState.CLOSING || ws.readyState !== WS_OPEN) return
    const frame = JSON.stringify(clientId === undefined
      ? { event: '__error__', payload: { code, message, request_id: requestId, details } }
      : { event: '__error__', id: clientId, payload: { code, message, request_id: requestId, details } })
    if (!conn[kCorked]) cork(conn)
    ws.send(frame)
    this.stats.eventsOut++
  }

  /** Turn a thrown value into an `__error__` and run the onError hooks. Never throws. */
  handleError (conn: Connection, err: unknown, ctx: HandlerContext): void {
    const clientId = ctx.clientId ? ctx.id : undefined
    if (isSocketError(err)) {
      this.sendError(conn, err.code, err.message, err.details ?? {}, clientId, ctx.id)
    } else {
      conn.log.error({ err, event: ctx.event, requestId: ctx.id }, 'handler failed')
      this.sendError(conn, ErrorCode.HANDLER_ERROR, undefined, {}, clientId, ctx.id)
    }
    for (const hook of this.hooks.error) {
      try {
        const r = hook(conn, err, ctx) as Promise<unknown> | undefined
        if (r !== undefined && r !== null && typeof r.then === 'function') {
          r.then(undefined, (e: unknown) => conn.log.error({ err: e }, 'onError hook failed'))
        }
      } catch (e) {
        conn.log.error({ err: e }, 'onError hook failed')
      }
    }
  }

  /** Server-initiated close: `__disconnect__ {code, reason}`, then the close frame. */
  close (conn: Connection, code: number, reason: string): void {
    if (conn[kState] >= ConnState.CLOSING) return
    conn[kCloseInfo] = { code, reason }
    const ws = conn[kSocket]
    if (ws.readyState === WS_OPEN) {
      ws.send(JSON.stringify({ event: '__disconnect__', payload: { code, reason } }))
      this.stats.eventsOut++
    }
    conn[kState] = ConnState.CLOSING
    conn[kTimers]?.clear()
    try {
      ws.close(code, reason)
    } catch /* c8 ignore next */ {
      ws.terminate()
    }
    const t = setTimeout(() => { if (ws.readyState !== 3) ws.terminate() }, CLOSE_GRACE_MS)
    t.unref()
    ws.once('close', () => clearTimeout(t))
  }

  private onSocketError (conn: Connection, err: Error & { code?: string }): void {
    // ws closes the socket itself after a protocol error; record why for onDisconnect.
    if (conn[kCloseInfo] === null) {
      const code = err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH'
        ? CloseCode.MESSAGE_TOO_BIG
        : err.code === 'WS_ERR_INVALID_UTF8' ? CloseCode.INVALID_PAYLOAD : CloseCode.PROTOCOL_ERROR
      conn[kCloseInfo] = { code, reason: code === CloseCode.MESSAGE_TOO_BIG ? 'message_too_big' : 'protocol_error' }
    }
    conn.log.debug({ err: { message: err.message, code: err.code } }, 'socket error')
  }

  private onSocketClose (conn: Connection, code: number): void {
    if (conn[kState] === ConnState.CLOSED) return
    const wasRegistered = conn[kRegistered]
    conn[kState] = ConnState.CLOSED
    conn[kQueue] = null
    conn[kTimers]?.clear()
    conn[kTimers] = null
    this.connections.delete(conn.id)
    const info = conn[kCloseInfo] ?? { code, reason: 'client_closed' }
    if (wasRegistered) void this.finishDisconnect(conn, info.reason, info.code)
    else this.checkDrained()
  }

  private async finishDisconnect (conn: Connection, reason: string, code: number): Promise<void> {
    try {
      await this.rooms.removeConnection(conn)
    } catch (err) {
      conn.log.error({ err }, 'backend cleanup failed')
    }
    for (const hook of this.hooks.disconnect) {
      try {
        await hook(conn, reason, code)
      } catch (err) {
        conn.log.error({ err }, 'onDisconnect hook failed')
      }
    }
    this.checkDrained()
  }

  private checkDrained (): void {
    if (this.drained !== null && this.connections.size === 0) this.drained()
  }

  private inflight (): number {
    let n = 0
    for (const c of this.connections.values()) n += c[kInflight]
    return n
  }

  /**
   * Graceful shutdown (fastify.close()): refuse new upgrades, tell every client,
   * give in-flight handlers up to shutdownTimeout seconds, then close 1001.
   */
  async shutdown (): Promise<void> {
    if (this.shuttingDown) return
    this.shuttingDown = true
    const timeoutMs = this.opts.shutdownTimeout * 1000
    const notice = JSON.stringify({ event: '__server_shutdown__', payload: { retry_after_ms: Math.max(1000, Math.round(timeoutMs)) } })
    for (const conn of this.connections.values()) {
      if (conn[kState] === ConnState.OPEN && conn[kSocket].readyState === WS_OPEN) conn[kSocket].send(notice)
    }
    const deadline = Date.now() + timeoutMs
    while (this.inflight() > 0 && Date.now() < deadline) {
      await new Promise(resolve => setTimeout(resolve, 10))
    }
    const drained = new Promise<void>(resolve => { this.drained = resolve })
    for (const conn of [...this.connections.values()]) this.close(conn, CloseCode.SERVER_SHUTDOWN, 'server_shutdown')
    this.checkDrained()
    await Promise.race([drained, new Promise(resolve => setTimeout(resolve, CLOSE_GRACE_MS + 500).unref())])
    await this.rooms.stop()
  }
}

/**
 * Hold the TCP socket's writes until the end of the current tick, so every
 * frame a batch of inbound messages produces leaves in one writev syscall
 * instead of one each (the syscall is most of the cost of a small echo).
 */
function cork (conn: Connection): void {
  const raw = (conn[kSocket] as unknown as { _socket?: { cork(): void, uncork(): void } })._socket
  if (raw === undefined || raw === null) return
  raw.cork()
  conn[kCorked] = true
  process.nextTick(uncork, conn, raw)
}

function uncork (conn: Connection, raw: { uncork(): void }): void {
  conn[kCorked] = false
  raw.uncork()
}

/** Duck-typed so errors from another copy of the package are still recognised. */
export function isSocketError (err: unknown): err is SocketError {
  return err instanceof SocketError || (err !== null && typeof err === 'object' && (err as Error).name === 'SocketError' && typeof (err as SocketError).code === 'string')
}
