import { randomUUID } from 'node:crypto'
import type { FastifyBaseLogger, FastifyRequest } from 'fastify'
import type { WebSocket } from 'ws'
import { Connection, ConnState } from './connection.js'
import { CloseCode, ErrorCode, FST_SOCKETSPEC_INVALID_OPTION, SocketError, isSocketError, wireMessage } from './errors.js'
import { Recovery, saveSession } from './recovery.js'
import { EventRegistry, createAjv } from './registry.js'
import type { Ajv } from 'ajv'
import { FrameSerializer } from './serializer.js'
import { SessionScheduler, SessionTimers } from './session.js'
import { TokenBucket } from './rate-limit.js'
import { onFrame, sentCode } from './pipeline.js'
import { RoomManager } from './rooms.js'
import { extractToken } from './auth/token.js'
import { normalizeIdentity, anonymousIdentity } from './auth/identity.js'
import type { ResolvedOptions } from './options.js'
import type { BackendAdapter } from './backends/types.js'
import type { HandlerContext } from './types.js'
import type { PreparedFrame } from './frame.js'
import type { AdminCounters } from './admin/stats.js'
import type { EngineMetrics, MetricsHub } from './metrics.js'
import { eventTracer, type EventTracer } from './tracing.js'
import { Outbound, CLOSE_GRACE_MS } from './outbound.js'
import { Timer, type Clock } from './clock.js'
import type { OutboundSystemEventName, SystemPayload } from '../schemas/protocol.js'
import { kAcks, kReplay, kResumeToken, kBuckets, kCloseInfo, kConn, kEngine, kInflight, kQueue, kQueueBytes, kRegistered, kSeen, kState, kTimers } from './symbols.js'

export { isSocketError } from './errors.js'

/**
 * Frames queued before authentication completes are capped at
 * maxPayloadSize × 16 bytes (SPEC §2); tiny frames also count this many
 * bytes each, so a flood of 1-byte frames cannot queue millions of entries.
 */
const MIN_QUEUED_FRAME_COST = 64

/** A socket accepted by `Engine.accept`, which points at its Connection. */
interface ConnSocket extends WebSocket { [kConn]: Connection }

function onSocketMessage (this: WebSocket, data: Buffer, isBinary: boolean): void {
  const conn = (this as ConnSocket)[kConn]
  onFrame(conn[kEngine], conn, data, isBinary)
}

function onSocketError (this: WebSocket, err: Error & { code?: string }): void {
  const conn = (this as ConnSocket)[kConn]
  conn[kEngine].onSocketError(conn, err)
}

function onSocketClose (this: WebSocket, code: number): void {
  const conn = (this as ConnSocket)[kConn]
  conn[kEngine].onSocketClose(conn, code)
}

function onSocketPong (this: WebSocket): void {
  (this as ConnSocket)[kConn][kSeen] = true
}

export type ConnectHook = (conn: Connection) => unknown
export type DisconnectHook = (conn: Connection, reason: string, code: number) => unknown
export type ErrorHook = (conn: Connection, error: unknown, ctx: HandlerContext) => unknown
export type Middleware = (conn: Connection, event: string, payload: unknown, next: () => Promise<void>) => unknown

/** The runtime of one plugin registration (one namespace). Internal: the public facade is SocketApp. */
export class Engine {
  readonly opts: ResolvedOptions
  readonly namespace: string
  readonly registry = new EventRegistry()
  /** Made on first use: only a schema new to this process needs one (validatorFor). */
  #ajv: Ajv | null = null
  readonly connections = new Map<string, Connection>()
  readonly hooks = {
    connect: [] as ConnectHook[],
    disconnect: [] as DisconnectHook[],
    error: [] as ErrorHook[]
  }

  readonly middleware: Middleware[] = []
  /** Session recovery (SPEC §12), or null when `recovery` is off. */
  readonly recovery: Recovery | null
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
  /** Byte cap of the frames queued while authentication runs. */
  readonly queueCap: number
  readonly clock: Clock
  /** The only writer to this namespace's sockets. */
  readonly out: Outbound
  /** One clock timer for every connection's session deadlines (lib/session.ts). */
  readonly sessions: SessionScheduler
  readonly serializer: FrameSerializer
  /** Hash of the AsyncAPI document, sent in `__connect__` (set at ready). */
  contract = ''
  /** The admin view's counters (lib/admin/stats.ts), set only when the `admin` option is on. */
  admin: AdminCounters | null = null
  /** With `metrics`: the registry's socketspec metrics (set at register), and this namespace's counters (from ready to close). */
  metricsHub: MetricsHub | null = null
  metrics: EngineMetrics | null = null
  /** Spans of handled events, when @opentelemetry/api and a tracer provider are there at ready (SPEC §14). */
  tracer: EventTracer | null = null
  /** Test hook (TestClient): called once the pipeline is done with a routed message. */
  settled: ((conn: Connection, id: string) => void) | null = null
  private drained: (() => void) | null = null

  constructor (opts: ResolvedOptions, log: FastifyBaseLogger) {
    this.opts = opts
    this.namespace = opts.namespace
    this.log = log
    this.clock = opts.clock
    this.connRate = opts.rateLimit
    this.hardCap = opts.maxPayloadSize * 4
    this.queueCap = opts.maxPayloadSize * 16
    this.out = new Outbound(this)
    this.sessions = new SessionScheduler(opts.clock)
    this.serializer = new FrameSerializer({
      validate: opts.outboundValidation !== 'never',
      onUndeclared: (event) => this.log.warn({ event }, 'sending an event no emits/broadcasts/reply declares: declare it so it is documented and its payload checked')
    })
    this.backend = opts.backend
    this.rooms = new RoomManager<Connection>({ namespace: opts.namespace, backend: this.backend, staticRooms: opts.rooms, log })
    this.recovery = null
    if (opts.recovery !== false) {
      if (this.backend.name !== 'memory' && typeof this.backend.history !== 'function') {
        throw new FST_SOCKETSPEC_INVALID_OPTION('recovery', `needs a backend that keeps room history (memory or redisBackend); the '${this.backend.name}' backend has no history()`)
      }
      const shared = this.backend.name === 'memory' ? undefined : this.backend.history!(this.namespace, opts.recovery)
      const recovery = this.recovery = new Recovery(opts.recovery, opts.clock, shared)
      this.rooms.setRecovery({
        history: recovery.history,
        resuming: (conn) => conn[kReplay] !== null,
        holds: (room) => recovery.holds(room),
        held: () => recovery.held(),
        // a re-join by __resume__ is reported in __resumed__, after the replay (a position now would be ahead of it)
        joined: (conn, room, at) => { if (conn[kReplay] === null) this.emitSystem(conn, '__joined__', { room, offset: at.offset, epoch: at.epoch }) },
        left: (conn, room) => { this.emitSystem(conn, '__left__', { room }) }
      })
    }
  }

  /** Compile every event and start the backend (at ready). */
  async start (): Promise<void> {
    if (this.started) return
    this.registry.compile(() => (this.#ajv ??= createAjv()), this.serializer, this.namespace)
    await this.rooms.start({ nodeId: this.nodeId, heartbeatInterval: this.opts.session.heartbeatInterval })
    this.recovery?.start((room) => this.rooms.hasLocal(room))
    if (this.metricsHub !== null) this.metrics = this.metricsHub.attach(this)
    this.tracer = await eventTracer(this.namespace, this.registry)
    this.started = true
  }

  /** A WebSocket was upgraded on our path. Listeners are attached synchronously so no frame is lost. */
  accept (socket: WebSocket, req: FastifyRequest): void {
    const id = randomUUID()
    const query = (req.query ?? {}) as Record<string, string | string[] | undefined>
    const conn = new Connection(this, socket, id, req.headers, query, anonymousIdentity())
    this.connections.set(id, conn)
    // One set of listeners for every socket (no closures per connection): they find the connection on it.
    ;(socket as ConnSocket)[kConn] = conn
    socket.on('message', onSocketMessage)
    socket.on('error', onSocketError)
    socket.on('close', onSocketClose)
    // Proof of life for the heartbeat: every RFC 6455 client answers a ping control frame.
    socket.on('pong', onSocketPong)
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
      let timer: Timer | undefined
      try {
        const { token } = extractToken(conn.headers, conn.query)
        init = await Promise.race([
          auth.authenticate({ headers: conn.headers, query: conn.query, token }),
          // an auth backend that never answers must not hold a socket forever
          new Promise<null>((resolve) => {
            timer = new Timer(this.clock, this.opts.authTimeout * 1000, () => resolve(null))
          })
        ])
      } catch (err) {
        // A SocketError AUTH_ERROR from the backend carries a safe reason (expired, invalid_signature...).
        if (isSocketError(err) && err.code === ErrorCode.AUTH_ERROR) refusal = err
        conn.log.debug({ err: { message: (err as Error)?.message } }, 'authentication refused')
        init = null
      } finally {
        timer?.cancel()
      }
      if (conn[kState] !== ConnState.PENDING) return
      if (init === null || init === undefined) {
        this.sendError(conn, ErrorCode.AUTH_ERROR, refusal?.message, refusal?.details ?? {}, undefined, undefined)
        this.close(conn, CloseCode.AUTH_ERROR, 'auth_error')
        return
      }
      conn.identity = normalizeIdentity(init)
    }
    if (conn[kState] !== ConnState.PENDING) return
    const now = this.clock.now()
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
    const resumeToken = this.recovery === null ? undefined : (conn[kResumeToken] = this.recovery.newToken())
    this.emitSystem(conn, '__connect__', {
      connection_id: conn.id,
      namespace: this.namespace,
      heartbeat_interval: this.opts.session.heartbeatInterval,
      session_expires_at: conn.session.expiresAt,
      contract: this.contract,
      ...(resumeToken === undefined ? {} : { resume_token: resumeToken })
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
    conn[kQueueBytes] = 0
    if (queued !== null) {
      for (const [data, isBinary] of queued) onFrame(this, conn, data, isBinary)
    }
  }

  /** Queue a frame that arrived before the connection was ready; close 1008 past the byte cap. */
  enqueue (conn: Connection, data: Buffer, isBinary: boolean): void {
    const bytes = conn[kQueueBytes] + Math.max(data.length, MIN_QUEUED_FRAME_COST)
    if (bytes > this.queueCap) {
      conn.log.warn({ queuedBytes: conn[kQueueBytes], cap: this.queueCap }, 'frames queued before auth over their cap; closing 1008')
      this.close(conn, CloseCode.POLICY_VIOLATION, 'too_many_frames_before_connect')
      conn[kQueue] = null
      return
    }
    conn[kQueueBytes] = bytes
    ;(conn[kQueue] as Array<[Buffer, boolean]>).push([data, isBinary])
  }

  /** The connection's own token bucket (created on first use). */
  connBucket (conn: Connection): TokenBucket {
    const buckets = conn[kBuckets]
    let b = buckets[0]
    if (b === undefined) {
      const rl = this.connRate!
      b = buckets[0] = new TokenBucket(rl.rate, rl.capacity, this.clock.now())
    }
    return b
  }

  /** `conn.request()`: send with a server-made id, settle on the client's `__ack__` (see `ack`). */
  request (conn: Connection, event: string, payload: unknown, timeoutSeconds: number): Promise<any> {
    if (conn[kState] !== ConnState.OPEN) return Promise.reject(new SocketError('DISCONNECTED', 'The connection is closed', { event }))
    const id = randomUUID()
    let frame: string
    try {
      frame = this.serializer.frame(event, payload, id)
    } catch (err) {
      return Promise.reject(err)
    }
    return new Promise((resolve, reject) => {
      const acks = conn[kAcks] ??= new Map()
      const timer = new Timer(this.clock, timeoutSeconds * 1000, () => {
        acks.delete(id)
        reject(new SocketError(ErrorCode.ACK_TIMEOUT, `No __ack__ for '${event}' within ${timeoutSeconds} s`, { event, timeout: timeoutSeconds }))
      })
      acks.set(id, { event, resolve, reject, timer })
      this.send(conn, frame, event)
    })
  }

  /** An `__ack__` from the client: resolve (or, with `error`, reject) the request with that id. */
  ack (conn: Connection, id: string | undefined, msg: { payload?: unknown, error?: { code?: unknown, message?: unknown } }): void {
    const acks = conn[kAcks]
    const pending = id === undefined ? undefined : acks?.get(id)
    if (pending === undefined) return
    acks!.delete(id!)
    pending.timer.cancel()
    const e = msg.error
    if (e !== undefined && e !== null && typeof e === 'object') {
      const code = typeof e.code === 'string' && e.code !== '' ? e.code : 'HANDLER_ERROR'
      pending.reject(new SocketError(code, typeof e.message === 'string' ? e.message : undefined, { event: pending.event }))
    } else {
      pending.resolve(msg.payload === undefined ? {} : msg.payload)
    }
  }

  /**
   * Write one serialized frame to a connection (through the one outbound
   * writer). `event`, when the caller knows it, is the frame's event: metrics
   * then count it without reading the name out of the frame.
   */
  send (conn: Connection, frame: string, event?: string): void {
    if (this.out.text(conn, frame)) {
      if (this.admin !== null) this.admin.sent(conn, frame)
      if (this.metrics !== null) this.metrics.sent(frame, event)
    }
  }

  /** Write a frame encoded once for many receivers (broadcasts). */
  sendPrepared (conn: Connection, frame: PreparedFrame): void {
    if (this.out.prepared(conn, frame)) {
      if (this.admin !== null) this.admin.sent(conn, frame.text)
      if (this.metrics !== null) this.metrics.delivered(frame)
    }
  }

  /** Send a server → client system event, serialized from the protocol table. */
  emitSystem<N extends OutboundSystemEventName> (conn: Connection, event: N, payload: SystemPayload<N>, id?: string): void {
    if (!this.out.writable(conn)) return
    if (this.out.text(conn, this.serializer.system(event, payload, id)) && this.metrics !== null) this.metrics.sentSystem(event, payload)
  }

  /** OutboundOwner: the writer found unsent bytes over the cap after a flush. */
  slowConsumer (conn: Connection, unsent: number): void {
    conn.log.warn({ unsentBytes: unsent, maxBufferedBytes: this.opts.maxBufferedBytes }, 'slow consumer closed')
    this.close(conn, CloseCode.SLOW_CONSUMER, 'slow_consumer')
  }

  get maxBufferedBytes (): number {
    return this.opts.maxBufferedBytes
  }

  countError (code: string): void {
    this.stats.errors[code] = (this.stats.errors[code] ?? 0) + 1
  }

  /** Send an `__error__` frame (carrying the client's id when there is one) and count it. */
  sendError (conn: Connection, code: string, message: string | undefined, details: Record<string, unknown>, clientId: string | undefined, requestId: string | undefined): void {
    this.countError(code)
    this.emitSystem(conn, '__error__', {
      code,
      message: message ?? wireMessage(code),
      request_id: requestId ?? clientId ?? randomUUID(),
      details
    }, clientId)
  }

  /** Turn a thrown value into an `__error__` and run the onError hooks; returns the code sent. Never throws. */
  handleError (conn: Connection, err: unknown, ctx: HandlerContext): string {
    const clientId = ctx.clientId ? ctx.id : undefined
    if (isSocketError(err) && err.code === ErrorCode.OUTBOUND_VALIDATION_ERROR) {
      // The server broke its own contract: the client is not to blame and must not see the schema errors.
      conn.log.error({ err, event: ctx.event, requestId: ctx.id, details: err.details }, 'outbound payload does not match its declared schema')
      this.sendError(conn, ErrorCode.HANDLER_ERROR, undefined, {}, clientId, ctx.id)
    } else if (isSocketError(err)) {
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
    return sentCode(err)
  }

  /** Server-initiated close: `__disconnect__ {code, reason}`, then the close handshake. */
  close (conn: Connection, code: number, reason: string): void {
    if (conn[kState] >= ConnState.CLOSING) return
    conn[kCloseInfo] = { code, reason }
    this.emitSystem(conn, '__disconnect__', { code, reason })
    conn[kState] = ConnState.CLOSING
    conn[kTimers]?.clear()
    this.out.close(conn, code, reason)
  }

  /** @internal */
  onSocketError (conn: Connection, err: Error & { code?: string }): void {
    // ws closes the socket itself after a protocol error; record why for onDisconnect.
    if (conn[kCloseInfo] === null) {
      const code = err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH'
        ? CloseCode.MESSAGE_TOO_BIG
        : err.code === 'WS_ERR_INVALID_UTF8' ? CloseCode.INVALID_PAYLOAD : CloseCode.PROTOCOL_ERROR
      conn[kCloseInfo] = { code, reason: code === CloseCode.MESSAGE_TOO_BIG ? 'message_too_big' : 'protocol_error' }
    }
    conn.log.debug({ err: { message: err.message, code: err.code } }, 'socket error')
  }

  /** @internal */
  onSocketClose (conn: Connection, code: number): void {
    if (conn[kState] === ConnState.CLOSED) return
    const wasRegistered = conn[kRegistered]
    conn[kState] = ConnState.CLOSED
    conn[kQueue] = null
    conn[kTimers]?.clear()
    conn[kTimers] = null
    const acks = conn[kAcks]
    if (acks !== null) {
      conn[kAcks] = null
      for (const a of acks.values()) {
        a.timer.cancel()
        a.reject(new SocketError('DISCONNECTED', `The connection closed before the __ack__ for '${a.event}'`, { event: a.event }))
      }
    }
    this.connections.delete(conn.id)
    const info = conn[kCloseInfo] ?? { code, reason: 'client_closed' }
    // before the rooms are left: the session keeps them
    if (wasRegistered && this.recovery !== null) saveSession(this, conn, info.code, conn[kCloseInfo] !== null)
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
    const retryAfter = Math.max(1000, Math.round(timeoutMs))
    for (const conn of this.connections.values()) {
      if (conn[kState] === ConnState.OPEN) this.emitSystem(conn, '__server_shutdown__', { retry_after_ms: retryAfter })
    }
    const deadline = Date.now() + timeoutMs
    while (this.inflight() > 0 && Date.now() < deadline) {
      await new Promise(resolve => setTimeout(resolve, 10))
    }
    const drained = new Promise<void>(resolve => { this.drained = resolve })
    for (const conn of [...this.connections.values()]) this.close(conn, CloseCode.SERVER_SHUTDOWN, 'server_shutdown')
    this.checkDrained()
    await Promise.race([drained, new Promise(resolve => setTimeout(resolve, CLOSE_GRACE_MS + 500).unref())])
    await this.recovery?.stop()
    await this.rooms.stop()
    this.metrics?.detach()
    this.metrics = null
  }
}
