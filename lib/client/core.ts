// The client SDK's engine, shared by the Node entry (index.ts) and the
// browser build (browser.ts). No imports but the dependency-free error table
// and types: this file is what ships to browsers.
import { SocketError } from '../wire-errors.js'
import type { AnyContract } from '../contract-types.js'
import type {
  ClientOptions, ClientState, EventName, PayloadArgs, ReconnectOptions, RequestArgs, RequestName, RequestOptions,
  ServerEventName, ServerFrame, ServerPayload, StateInfo, WebSocketConstructor, WebSocketLike
} from './types.js'

/** Time source of the client (tests inject a fake one under this symbol). */
export interface ClientClock {
  now (): number
  setTimeout (fn: () => void, ms: number): unknown
  clearTimeout (handle: unknown): void
}
export const kClientClock = Symbol.for('socketspec.clock')

/** How the entry point opens sockets. */
export interface Transport {
  WebSocket: WebSocketConstructor
  /** Send the token as `Authorization: Bearer` (`ws` in Node) instead of the `bearer.<t>` subprotocol. */
  headers: boolean
  /** Called before each send: lets the Node entry batch the writes of one tick into one syscall. */
  batch?: (ws: WebSocketLike) => void
}

interface Pending {
  /** Called with the answering frame's payload. */
  resolve: (payload: unknown) => void
  reject: (err: Error) => void
  /** clock.now() after which it times out (one sweeping timer serves every request). */
  deadline: number
  event: string
  timeout: number
  /** The socket it was written to (undefined while queued). */
  ws?: WebSocketLike
}

interface Queued { text: string, id?: string }

/** Wire errors followed by a close: the one received last is the `info.error` of that close. */
const CLOSING_ERRORS = new Set(['AUTH_ERROR', 'AUTH_EXPIRED', 'IDLE_TIMEOUT', 'SESSION_EXPIRED'])

/** A connection lasting this long resets the attempt counter. */
const STABLE_MS = 10_000
const MAX_DELAY_MS = 2 ** 31 - 1
/** readyState OPEN, the same in every implementation. */
const OPEN = 1

const realClock: ClientClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as number)
}

function clientError (code: 'TIMEOUT' | 'DISCONNECTED' | 'QUEUE_FULL', message: string, details: Record<string, unknown> = {}): SocketError {
  return new SocketError(code, message, details)
}

/**
 * A socketspec connection that reconnects, queues, matches requests and
 * answers the protocol's system events by itself. Made by `connect()`.
 */
export class SocketspecClient<C extends AnyContract = AnyContract> {
  /** Where the client is now. */
  state: ClientState = 'connecting'
  /** Id of the current (or last) server connection, from `__connect__`. */
  connectionId: string | undefined
  /** Resolves at the first `__connect__`; rejects if the client closes before. */
  readonly ready: Promise<void>

  readonly #url: string
  readonly #opts: ClientOptions
  readonly #reconnect: Required<ReconnectOptions> | false
  readonly #transport: Transport
  readonly #clock: ClientClock
  #ws: WebSocketLike | undefined
  /** Incremented for every socket: late callbacks of an abandoned one are ignored. */
  #gen = 0
  #queue: Queued[] = []
  readonly #pending = new Map<string, Pending>()
  readonly #listeners = new Map<string, Set<(payload: any, frame: ServerFrame) => void>>()
  readonly #handlers = new Map<string, (payload: any, frame: ServerFrame) => unknown>()
  readonly #stateListeners = new Set<(state: ClientState, info: StateInfo) => void>()
  readonly #errorListeners = new Set<(err: SocketError, frame: ServerFrame) => void>()
  #seq = 0
  #attempt = 0
  #timer: unknown
  /** The one timer of all request timeouts, and when it fires. */
  #sweep: unknown
  #sweepAt = Infinity
  #liveness: unknown
  #heartbeatMs = 0
  /** clock.now() of the last frame from the server; the liveness timer re-arms itself from it. */
  #lastFrameAt = 0
  /** true once the socket got `__connect__` (and, when resuming, `__resumed__`). */
  #open = false
  #openedAt = 0
  #retryAfter = 0
  #lastError: Error | undefined
  #last4001 = false
  #stale = false
  #ended = false
  #idle = false
  #resumeToken: string | undefined
  /** The server's contract hash from the last `__connect__`. */
  #contract: string | undefined
  #resuming = false
  readonly #rooms = new Map<string, { offset: number, epoch: string }>()
  #resolveReady!: () => void
  #rejectReady!: (err: Error) => void

  constructor (url: string, options: ClientOptions, transport: Transport) {
    this.#url = url
    this.#opts = options
    this.#transport = transport
    this.#clock = (options as Record<symbol, ClientClock | undefined>)[kClientClock] ?? realClock
    this.#reconnect = options.reconnect === false
      ? false
      : { minDelay: 500, maxDelay: 30_000, factor: 2, jitter: 0.5, maxAttempts: Infinity, ...options.reconnect }
    this.ready = new Promise((resolve, reject) => {
      this.#resolveReady = resolve
      this.#rejectReady = reject
    })
    // Nobody has to await `ready`: an unobserved rejection must not crash Node.
    this.ready.catch(() => {})
    // Start on the next microtask, so that listeners added right after connect() see every state.
    queueMicrotask(() => { this.#connect().catch(() => {}) })
  }

  /**
   * Listen to a server event (never a system `__x__` one); returns the function that unsubscribes.
   * @example const off = client.on('message', (payload, frame) => console.log(payload.text))
   */
  on<N extends ServerEventName<C>>(event: N, listener: (payload: ServerPayload<C, N>, frame: ServerFrame<ServerPayload<C, N>>) => void): () => void {
    let set = this.#listeners.get(event)
    if (set === undefined) this.#listeners.set(event, set = new Set())
    const fn = listener as (payload: any, frame: ServerFrame) => void
    set.add(fn)
    return () => { set.delete(fn) }
  }

  /**
   * Send an event. While not connected the frame is queued (up to `maxQueue`, else QUEUE_FULL is thrown) and sent in order once connected.
   * @example client.send('chat', { room: 'lobby', text: 'hi' })
   */
  send<E extends EventName<C>>(event: E, ...args: PayloadArgs<C[E]['payload']>): void {
    this.#write({ text: JSON.stringify({ event, payload: args[0] ?? {} }) }, true)
  }

  /**
   * Send with an `id` and resolve with the payload of the frame the server answers with; rejects with a SocketError:
   * the server's `__error__` code, TIMEOUT, QUEUE_FULL, or DISCONNECTED when the connection drops after the frame was sent.
   * @example const { sum } = await client.request('add', { a: 1, b: 2 })
   */
  request<E extends RequestName<C>>(event: E, ...args: RequestArgs<C[E]['payload']>): Promise<C[E]['reply']>
  request (event: string, payload?: unknown, options: RequestOptions = {}): Promise<unknown> {
    return this.#request(event, payload, options.timeout ?? this.#opts.requestTimeout ?? 10_000)
  }

  /**
   * Answer the server's `conn.request(event, ...)`: the function's result is sent back as `__ack__`; a throw refuses
   * the request with its `code` (a SocketError's) or HANDLER_ERROR. Returns the function that removes the handler.
   * @example client.handle('confirm', async ({ question }) => ({ ok: window.confirm(question) }))
   */
  handle<N extends string>(event: N, handler: (payload: N extends ServerEventName<C> ? ServerPayload<C, N> : any, frame: ServerFrame) => unknown): () => void {
    this.#handlers.set(event, handler)
    return () => { if (this.#handlers.get(event) === handler) this.#handlers.delete(event) }
  }

  /**
   * Be told of every state change; returns the function that unsubscribes.
   * @example client.onState((state, info) => { if (info.contract === 'stale') location.reload() })
   */
  onState (listener: (state: ClientState, info: StateInfo) => void): () => void {
    this.#stateListeners.add(listener)
    return () => { this.#stateListeners.delete(listener) }
  }

  /**
   * Errors the server sent that answer no `request()` (for example a RATE_LIMIT_ERROR after a `send()`).
   * @example client.onError((err) => console.warn(err.code, err.message))
   */
  onError (listener: (err: SocketError, frame: ServerFrame) => void): () => void {
    this.#errorListeners.add(listener)
    return () => { this.#errorListeners.delete(listener) }
  }

  /** Close for good (code 1000): no reconnect; queued frames are dropped and pending requests reject with DISCONNECTED. */
  close (): void {
    if (this.#ended && !this.#idle) return
    this.#idle = false
    const ws = this.#ws
    this.#end(1000, 'client closed', undefined)
    if (ws !== undefined) ws.close(1000)
  }

  #request (event: string, payload: unknown, timeout: number): Promise<unknown> {
    const id = String(++this.#seq)
    return new Promise((resolve, reject) => {
      const deadline = this.#clock.now() + timeout
      const pending: Pending = { resolve, reject, deadline, event, timeout }
      this.#pending.set(id, pending)
      if (deadline < this.#sweepAt) this.#armSweep(deadline)
      try {
        this.#write({ text: JSON.stringify({ event, payload: payload ?? {}, id }), id }, true)
      } catch (err) {
        this.#settle(id)
        reject(err)
      }
    })
  }

  #armSweep (at: number): void {
    this.#clock.clearTimeout(this.#sweep)
    this.#sweepAt = at
    this.#sweep = this.#clock.setTimeout(() => this.#onSweep(), Math.min(Math.max(0, at - this.#clock.now()), MAX_DELAY_MS))
  }

  /** Time out every request past its deadline, then wait for the next deadline. */
  #onSweep (): void {
    this.#sweep = undefined
    this.#sweepAt = Infinity
    const now = this.#clock.now()
    let next = Infinity
    for (const [id, p] of this.#pending) {
      if (p.deadline <= now) {
        this.#pending.delete(id)
        this.#queue = this.#queue.filter(q => q.id !== id)
        p.reject(clientError('TIMEOUT', `No answer to '${p.event}' within ${p.timeout} ms`, { event: p.event, timeout: p.timeout }))
      } else if (p.deadline < next) next = p.deadline
    }
    if (next !== Infinity) this.#armSweep(next)
  }

  /** The one way a frame goes out: written when open, else queued (or refused). */
  #write (q: Queued, app: boolean): void {
    const ws = this.#ws
    if (this.#open && ws !== undefined && ws.readyState === OPEN) {
      this.#sendText(ws, q)
      return
    }
    if (this.#ended) {
      // Closed after an idle timeout: the next send reconnects. Any other end is final.
      if (!this.#idle || !app) throw clientError('DISCONNECTED', 'The client is closed', { state: this.state })
      this.#idle = false
      this.#ended = false
      this.#attempt = 0
      this.#setState('connecting', { attempt: 0 })
      void this.#connect()
    }
    const max = this.#opts.maxQueue ?? 1000
    if (this.#queue.length >= max) throw clientError('QUEUE_FULL', `${max} frames are already waiting for the connection`, { maxQueue: max })
    this.#queue.push(q)
  }

  #sendText (ws: WebSocketLike, q: Queued): void {
    if (q.id !== undefined) {
      const p = this.#pending.get(q.id)
      if (p !== undefined) p.ws = ws
    }
    this.#opts.onFrame?.('out', q.text)
    this.#transport.batch?.(ws)
    ws.send(q.text)
  }

  #system (ws: WebSocketLike, event: string, payload: unknown): void {
    this.#sendText(ws, { text: JSON.stringify({ event, payload }) })
  }

  async #connect (): Promise<void> {
    const gen = ++this.#gen
    let token: string | undefined
    try {
      const t = this.#opts.token
      token = typeof t === 'function' ? await t() : t
    } catch (err) {
      if (gen === this.#gen && !this.#ended) this.#dropped(gen, 4001, 'token function failed', err as Error)
      return
    }
    if (gen !== this.#gen || this.#ended) return
    const protocols = ['socketspec']
    let options: unknown
    if (token !== undefined && token !== '') {
      if (this.#transport.headers) options = { headers: { Authorization: `Bearer ${token}` } }
      else protocols.push(`bearer.${token}`)
    }
    let ws: WebSocketLike
    try {
      ws = options === undefined ? new this.#transport.WebSocket(this.#url, protocols) : new this.#transport.WebSocket(this.#url, protocols, options)
    } catch (err) {
      // A malformed URL: retrying cannot help.
      this.#end(1006, String((err as Error).message), err as Error)
      return
    }
    this.#ws = ws
    this.#open = false
    this.#watch(gen, this.#opts.connectTimeout ?? 10_000)
    ws.onmessage = (ev) => { if (gen === this.#gen) this.#onMessage(ws, gen, String(ev.data)) }
    ws.onclose = (ev) => { if (gen === this.#gen) this.#dropped(gen, ev.code, ev.reason, undefined) }
    // A failed socket always closes next; the close decides what happens.
    ws.onerror = () => {}
  }

  /** (Re)arm the liveness deadline: no frame from the server for `ms` means the connection is dead. */
  #watch (gen: number, ms: number): void {
    this.#clock.clearTimeout(this.#liveness)
    this.#lastFrameAt = this.#clock.now()
    this.#arm(gen, ms, ms)
  }

  #arm (gen: number, ms: number, wait: number): void {
    this.#liveness = this.#clock.setTimeout(() => {
      if (gen !== this.#gen) return
      // Frames came in since the timer was set: wait for what is left of `ms` after the last one.
      const left = this.#lastFrameAt + ms - this.#clock.now()
      if (left > 0) return this.#arm(gen, ms, left)
      const ws = this.#ws
      // Abandon the socket (a dead TCP path may never deliver a close), then act as if it closed.
      this.#dropped(gen, 1006, 'no frame from the server in time', undefined)
      if (ws !== undefined) {
        const w = ws as WebSocketLike & { terminate?: () => void }
        try {
          if (typeof w.terminate === 'function') w.terminate(); else w.close(4000, 'timeout')
        } catch {}
      }
    }, wait)
  }

  #onMessage (ws: WebSocketLike, gen: number, text: string): void {
    this.#opts.onFrame?.('in', text)
    let frame: ServerFrame
    try {
      frame = JSON.parse(text)
    } catch {
      return
    }
    if (frame === null || typeof frame !== 'object' || typeof frame.event !== 'string') return
    // no timer per frame: the liveness timer reads this when it fires
    if (this.#heartbeatMs > 0) this.#lastFrameAt = this.#clock.now()
    const p = (frame.payload ?? {}) as Record<string, any>
    switch (frame.event) {
      case '__connect__': return this.#onConnect(ws, p)
      case '__ping__': return this.#system(ws, '__pong__', {})
      case '__error__': return this.#onError(frame, p)
      case '__auth_expiring__':
        this.#refresh(ws, gen).catch(() => {})
        return
      case '__server_shutdown__':
        this.#retryAfter = Number(p.retry_after_ms) || 0
        return
      case '__joined__':
        // while resuming, the replay brings the room up to date
        if (!this.#resuming) this.#rooms.set(p.room, { offset: p.offset, epoch: p.epoch })
        return
      case '__left__':
        this.#rooms.delete(p.room)
        return
      case '__resumed__': return this.#onResumed(ws, p)
    }
    if (frame.event.startsWith('__') && frame.event.endsWith('__')) return
    if (typeof frame.room === 'string' && typeof frame.offset === 'number') {
      const last = this.#rooms.get(frame.room)
      // already received (a replay after a resume overlapping what arrived before the drop)
      if (last !== undefined && last.epoch === frame.epoch && frame.offset <= last.offset) return
      this.#rooms.set(frame.room, { offset: frame.offset, epoch: String(frame.epoch) })
    }
    if (frame.id !== undefined) {
      const pending = this.#settle(frame.id)
      if (pending !== undefined) return pending.resolve(frame.payload)
      const handler = this.#handlers.get(frame.event)
      if (handler !== undefined) {
        this.#answer(ws, gen, frame, handler).catch(() => {})
        return
      }
    }
    const set = this.#listeners.get(frame.event)
    if (set !== undefined) for (const fn of set) fn(frame.payload, frame)
  }

  #onConnect (ws: WebSocketLike, p: Record<string, any>): void {
    this.connectionId = p.connection_id
    this.#contract = p.contract
    this.#heartbeatMs = Number(p.heartbeat_interval) > 0 ? Number(p.heartbeat_interval) * 1500 + 1000 : 0
    this.#clock.clearTimeout(this.#liveness)
    if (this.#heartbeatMs > 0) this.#watch(this.#gen, this.#heartbeatMs)
    this.#openedAt = this.#clock.now()
    this.#lastError = undefined
    this.#last4001 = false
    const previous = this.#resumeToken
    this.#resumeToken = typeof p.resume_token === 'string' ? p.resume_token : undefined
    if (this.#opts.recover !== false && previous !== undefined && this.#resumeToken !== undefined) {
      // Hold the queue until the server has replayed what this client missed.
      this.#resuming = true
      const rooms: Record<string, { offset: number, epoch: string }> = {}
      for (const [room, at] of this.#rooms) rooms[room] = at
      this.#system(ws, '__resume__', { token: previous, rooms })
      return
    }
    this.#rooms.clear()
    this.#opened(ws, {})
  }

  #onResumed (ws: WebSocketLike, p: Record<string, any>): void {
    if (!this.#resuming) return
    this.#resuming = false
    if (p.recovered !== true && p.reason !== undefined) this.#rooms.clear()
    this.#opened(ws, { recovered: p.recovered === true, ...(p.reason !== undefined ? { resumeReason: String(p.reason) } : {}) })
  }

  #opened (ws: WebSocketLike, extra: Partial<StateInfo>): void {
    this.#open = true
    const info: StateInfo = { attempt: this.#attempt, connectionId: this.connectionId, ...extra }
    if (this.#opts.contract !== undefined && !this.#stale && this.#opts.contract !== this.#contract) {
      this.#stale = true
      info.contract = 'stale'
    }
    const queue = this.#queue
    this.#queue = []
    for (const q of queue) this.#sendText(ws, q)
    this.#setState('open', info)
    this.#resolveReady()
  }

  #onError (frame: ServerFrame, p: Record<string, any>): void {
    const err = new SocketError(String(p.code ?? 'HANDLER_ERROR'), typeof p.message === 'string' ? p.message : undefined, p.details ?? {})
    if (frame.id !== undefined) {
      const pending = this.#settle(frame.id)
      if (pending !== undefined) return pending.reject(err)
    }
    // An error that closes the connection explains the close that follows (AUTH_ERROR before 4001, ...).
    if (frame.id === undefined && CLOSING_ERRORS.has(err.code)) this.#lastError = err
    for (const fn of this.#errorListeners) fn(err, frame)
  }

  async #refresh (ws: WebSocketLike, gen: number): Promise<void> {
    const t = this.#opts.token
    if (typeof t !== 'function') return
    let token: string
    try {
      token = await t()
    } catch {
      return // the server closes 4002 at expiry; the reconnect calls the function again
    }
    // with an id: a refused refresh (the connection stays open) is not mistaken for the cause of a later close
    if (gen === this.#gen && ws.readyState === OPEN) this.#sendText(ws, { text: JSON.stringify({ event: '__refresh_auth__', payload: { token }, id: `refresh-${++this.#seq}` }) })
  }

  async #answer (ws: WebSocketLike, gen: number, frame: ServerFrame, handler: (payload: any, frame: ServerFrame) => unknown): Promise<void> {
    let ack: Record<string, unknown>
    try {
      ack = { event: '__ack__', id: frame.id, payload: (await handler(frame.payload, frame)) ?? {} }
    } catch (err) {
      const e = err as SocketError
      ack = { event: '__ack__', id: frame.id, error: { code: typeof e?.code === 'string' ? e.code : 'HANDLER_ERROR', message: String(e?.message ?? e) } }
    }
    // An answer for a connection that is gone would reach nobody.
    if (gen === this.#gen && ws.readyState === OPEN) this.#sendText(ws, { text: JSON.stringify(ack) })
  }

  /** Remove a pending request and its timer. */
  #settle (id: string): Pending | undefined {
    const p = this.#pending.get(id)
    if (p === undefined) return undefined
    this.#pending.delete(id)
    return p
  }

  /** The current socket ended (closed, failed or abandoned): reconnect or stop, by close code. */
  #dropped (gen: number, code: number, reason: string, error: Error | undefined): void {
    if (gen !== this.#gen || this.#ended) return
    this.#gen++
    this.#ws = undefined
    this.#open = false
    this.#resuming = false
    this.#clock.clearTimeout(this.#liveness)
    error ??= this.#lastError
    this.#lastError = undefined
    // Requests already written cannot be answered on another connection.
    for (const [id, p] of this.#pending) {
      if (p.ws !== undefined) {
        this.#settle(id)
        p.reject(clientError('DISCONNECTED', `Connection closed (${code}) before the answer`, { code }))
      }
    }
    if (this.#openedAt !== 0 && this.#clock.now() - this.#openedAt >= STABLE_MS) this.#attempt = 0
    this.#openedAt = 0
    const tokenFn = typeof this.#opts.token === 'function'
    const again4001 = code === 4001 && this.#last4001
    this.#last4001 = code === 4001
    if (code === 4005) {
      // set first: a listener of the 'closed' state may send, which reconnects
      this.#idle = true
      this.#end(code, reason, error)
      return
    }
    const stop = this.#reconnect === false || code === 1000 || code === 1008 ||
      ((code === 4001 || code === 4002) && (!tokenFn || again4001)) ||
      this.#attempt >= this.#reconnect.maxAttempts
    if (stop) return this.#end(code, reason, error)
    const r = this.#reconnect as Required<ReconnectOptions>
    this.#attempt++
    let delay = Math.min(r.maxDelay, r.minDelay * r.factor ** (this.#attempt - 1))
    delay = Math.round(delay * (1 - r.jitter + 2 * r.jitter * Math.random()))
    if (code === 1001 && this.#retryAfter > delay) delay = this.#retryAfter
    this.#retryAfter = 0
    this.#setState('reconnecting', { code, reason, attempt: this.#attempt, delay, ...(error !== undefined ? { error } : {}) })
    this.#timer = this.#clock.setTimeout(() => { void this.#connect() }, Math.min(delay, MAX_DELAY_MS))
  }

  /** Stop: no reconnect until (after an idle close) the app sends again. */
  #end (code: number, reason: string, error: Error | undefined): void {
    this.#ended = true
    this.#gen++
    this.#ws = undefined
    this.#open = false
    this.#clock.clearTimeout(this.#timer)
    this.#clock.clearTimeout(this.#liveness)
    this.#clock.clearTimeout(this.#sweep)
    this.#sweepAt = Infinity
    const err = error ?? clientError('DISCONNECTED', `Connection closed (${code})`, { code })
    for (const id of [...this.#pending.keys()]) this.#settle(id)?.reject(clientError('DISCONNECTED', `Connection closed (${code}) before the answer`, { code }))
    this.#queue = []
    this.#setState('closed', { code, reason, attempt: this.#attempt, ...(error !== undefined ? { error } : {}) })
    if ((err as SocketError).closeCode === undefined) (err as SocketError).closeCode = code
    this.#rejectReady(err)
  }

  #setState (state: ClientState, info: StateInfo): void {
    this.state = state
    for (const fn of this.#stateListeners) fn(state, info)
  }
}
