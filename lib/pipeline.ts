import { randomUUID } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import sjson from 'secure-json-parse'
import type { FastifyBaseLogger } from 'fastify'
import type { Connection } from './connection.js'
import type { Engine } from './engine.js'
import type { CompiledEvent } from './registry.js'
import { toIssues } from './serializer.js'
import { CloseCode, ErrorCode, isSocketError, issueDetails } from './errors.js'
import type { TraceSpan } from './tracing.js'
import { resume } from './recovery.js'
import { TokenBucket } from './rate-limit.js'
import { normalizeIdentity } from './auth/identity.js'
import { kBuckets, kInflight, kOrdered, kQueue, kRefreshes, kSeen, kSocket, kState, kTimers } from './symbols.js'
import type { HandlerContext } from './types.js'

const OPEN = 1

/** Open on our side and on the socket (a received close frame makes ws CLOSING before 'close' fires). */
function alive (conn: Connection): boolean {
  return conn[kState] === OPEN && conn[kSocket].readyState === 1
}
const EMPTY_DEPS: Record<string, unknown> = Object.freeze({}) as Record<string, unknown>
const PARSE_OPTIONS = { protoAction: 'error', constructorAction: 'error' } as const
/** `__refresh_auth__` attempts allowed per connection per window, whatever `rateLimit` says (SPEC §2). */
export const REFRESH_LIMIT = 5
export const REFRESH_WINDOW_MS = 60_000
const ID_KEY = Buffer.from('"id"')
const ESCAPE = Buffer.from('\\u')

/**
 * The client's `id` of a frame rejected before its envelope was read (size,
 * binary, prototype-poisoning keys), when the text is JSON whose top-level
 * `id` is a string of at most 64 characters: the client waiting on it gets its
 * answer. Plain JSON.parse only defines own properties, so a poisoned text is
 * harmless here.
 */
export function recoverId (data: Buffer): string | undefined {
  if (data.indexOf(ID_KEY) === -1 && data.indexOf(ESCAPE) === -1) return undefined
  let msg: unknown
  try {
    msg = JSON.parse(data.toString())
  } catch {
    return undefined
  }
  if (msg === null || typeof msg !== 'object' || Array.isArray(msg)) return undefined
  const id = (msg as { id?: unknown }).id
  return typeof id === 'string' && id.length <= 64 ? id : undefined
}

/**
 * The context of a routed event. `log` is the connection's child logger,
 * created on first read: reading it eagerly made one per connection on its
 * first event, though most connections never log (issue 14).
 */
class EventContext implements HandlerContext {
  deps: Record<string, unknown> = EMPTY_DEPS
  #conn: Connection
  #log: FastifyBaseLogger | null = null

  constructor (public id: string, public clientId: boolean, public event: string, conn: Connection) {
    this.#conn = conn
  }

  get log (): FastifyBaseLogger {
    return this.#log ?? this.#conn.log
  }

  set log (log: FastifyBaseLogger) {
    this.#log = log
  }
}

/**
 * Steps 1–6 of the inbound pipeline (SPEC §2), synchronous so arrival order is
 * kept: size, parse and envelope, rate limits, system events, activity, lookup.
 * Steps 7–10 run in `runEvent`.
 */
export function onFrame (engine: Engine, conn: Connection, data: Buffer, isBinary: boolean): void {
  conn[kSeen] = true
  if (conn[kQueue] !== null) {
    if (conn[kState] <= OPEN) engine.enqueue(conn, data, isBinary)
    return
  }
  if (conn[kState] !== OPEN) return
  engine.stats.eventsIn++

  // 1. size
  const size = data.length
  if (size > engine.opts.maxPayloadSize) {
    if (size > engine.hardCap) {
      engine.close(conn, CloseCode.MESSAGE_TOO_BIG, 'message_too_big')
      return
    }
    engine.sendError(conn, ErrorCode.PAYLOAD_TOO_LARGE, undefined, { max_bytes: engine.opts.maxPayloadSize, size }, recoverId(data), undefined)
    return
  }

  // 2. parse and envelope
  if (isBinary) {
    engine.sendError(conn, ErrorCode.VALIDATION_ERROR, 'Binary frames are not supported; send JSON text frames', issueDetails('/', 'binary frame', 'type'), recoverId(data), undefined)
    return
  }
  let msg: any
  try {
    msg = sjson.parse(data.toString(), undefined, PARSE_OPTIONS)
  } catch (err) {
    const proto = (err as Error).message?.includes('prototype')
    engine.sendError(conn, ErrorCode.VALIDATION_ERROR,
      proto ? 'Forbidden prototype property in message' : 'Message is not valid JSON',
      proto ? issueDetails('/', 'forbidden prototype property', 'prototype') : issueDetails('/', 'invalid JSON', 'json'),
      proto ? recoverId(data) : undefined, undefined)
    return
  }
  if (msg === null || typeof msg !== 'object' || Array.isArray(msg)) {
    engine.sendError(conn, ErrorCode.VALIDATION_ERROR, 'Message must be a JSON object', issueDetails('/', 'must be object', 'type'), undefined, undefined)
    return
  }
  const rawId = msg.id
  let clientId: string | undefined
  if (rawId !== undefined) {
    if (typeof rawId !== 'string' || rawId.length > 64) {
      engine.sendError(conn, ErrorCode.VALIDATION_ERROR, 'id must be a string of at most 64 characters', issueDetails('/id', 'must be a string of at most 64 characters', typeof rawId !== 'string' ? 'type' : 'maxLength'), undefined, undefined)
      return
    }
    clientId = rawId
  }
  const name = msg.event
  if (typeof name !== 'string' || name.length === 0) {
    engine.sendError(conn, ErrorCode.VALIDATION_ERROR, 'event must be a non-empty string', issueDetails('/event', name === undefined ? "must have required property 'event'" : 'must be a non-empty string', name === undefined ? 'required' : 'type'), clientId, undefined)
    return
  }

  // 3. rate limits: the connection's bucket, then the event's own
  const ev = engine.registry.get(name)
  const metrics = engine.metrics
  if (metrics !== null && ev !== undefined) metrics.received[ev.index]++
  if (engine.connRate !== undefined || (ev !== undefined && ev.rateLimit !== undefined)) {
    const now = engine.clock.now()
    if (engine.connRate !== undefined) {
      const wait = engine.connBucket(conn).take(now)
      if (wait > 0) {
        engine.sendError(conn, ErrorCode.RATE_LIMIT_ERROR, undefined, { retry_after_ms: wait, scope: 'connection' }, clientId, undefined)
        return
      }
    }
    if (ev !== undefined && ev.rateLimit !== undefined) {
      const buckets = conn[kBuckets]
      let b = buckets[ev.index + 1]
      if (b === undefined) b = buckets[ev.index + 1] = new TokenBucket(ev.rateLimit.rate, ev.rateLimit.capacity, now)
      const wait = b.take(now)
      if (wait > 0) {
        engine.sendError(conn, ErrorCode.RATE_LIMIT_ERROR, undefined, { retry_after_ms: wait, scope: 'event', event: name }, clientId, undefined)
        return
      }
    }
  }

  // 4. system events handled here, never routed
  if (ev === undefined && name.charCodeAt(0) === 95 /* _ */) {
    if (metrics !== null) metrics.receivedSystem(name)
    if (name === '__pong__') {
      conn[kTimers]?.pongReceived()
      return
    }
    if (name === '__resume__') {
      resume(engine, conn, clientId, msg.payload).catch(/* c8 ignore next */ (err) => conn.log.error({ err }, 'resume failed'))
      return
    }
    if (name === '__ack__') {
      engine.ack(conn, clientId, msg)
      return
    }
    if (name === '__refresh_auth__') {
      const wait = refreshWait(engine, conn)
      if (wait > 0) {
        engine.sendError(conn, ErrorCode.RATE_LIMIT_ERROR, `At most ${REFRESH_LIMIT} __refresh_auth__ per minute`, { retry_after_ms: wait, scope: 'refresh' }, clientId, undefined)
        return
      }
      refreshAuth(engine, conn, msg.payload, clientId).catch(/* c8 ignore next */ (err) => conn.log.error({ err }, 'refresh failed'))
      return
    }
  }

  // 5. activity
  conn.lastActive = engine.clock.now()

  // 6. lookup
  if (ev === undefined) {
    engine.sendError(conn, ErrorCode.UNKNOWN_EVENT, `Unknown event '${name.length > 100 ? name.slice(0, 100) + '…' : name}'`, { event: name.length > 256 ? name.slice(0, 256) : name }, clientId, undefined)
    return
  }

  const payload = msg.payload === undefined ? {} : msg.payload
  const ctx: HandlerContext = new EventContext(clientId ?? randomUUID(), clientId !== undefined, name, conn)
  let done: Promise<void> | undefined
  if (ev.def.ordered) {
    const tail = conn[kOrdered]
    const next: Promise<void> = tail === null
      ? Promise.resolve(dispatch(engine, conn, ev, payload, ctx))
      : tail.then(() => dispatch(engine, conn, ev, payload, ctx))
    conn[kOrdered] = next
    next.then(() => { if (conn[kOrdered] === next) conn[kOrdered] = null })
    done = next
  } else {
    done = dispatch(engine, conn, ev, payload, ctx)
  }
  const settled = engine.settled
  if (settled !== null) {
    if (done === undefined) settled(conn, ctx.id)
    else done.then(() => settled(conn, ctx.id))
  }
}

/**
 * Fast path for events without middleware or deps: validate and call the
 * handler synchronously, so a synchronous handler costs no promise at all.
 * Returns a promise only while an async handler is pending. Never rejects.
 */
export function dispatch (engine: Engine, conn: Connection, ev: CompiledEvent, payload: unknown, ctx: HandlerContext): Promise<void> | undefined {
  if (engine.middleware.length !== 0 || ev.depNames.length !== 0) return runEvent(engine, conn, ev, payload, ctx)
  if (!alive(conn)) return undefined
  // metrics time the event and tracing gives it a span; neither costs anything when off
  const t0 = engine.metrics === null ? 0 : performance.now()
  const tracer = engine.tracer
  const span = tracer === null ? null : tracer.start(conn, ev)
  const validate = ev.validate
  if (validate !== undefined && !validate(payload)) {
    engine.sendError(conn, ErrorCode.VALIDATION_ERROR, 'Payload failed validation', { errors: toIssues(validate) }, ctx.clientId ? ctx.id : undefined, ctx.id)
    if (t0 !== 0 || span !== null) handled(engine, ev, t0, span, ErrorCode.VALIDATION_ERROR)
    return undefined
  }
  let result: any
  try {
    result = span === null ? ev.def.handler(conn, payload, ctx) : tracer!.run(span, ev.def.handler, ev.def, conn, payload, ctx)
  } catch (err) {
    const code = failed(engine, conn, err, ctx)
    if (t0 !== 0 || span !== null) handled(engine, ev, t0, span, code)
    return undefined
  }
  if (result !== null && typeof result === 'object' && typeof result.then === 'function') {
    conn[kInflight]++
    return (result as Promise<unknown>).then(
      (value) => {
        conn[kInflight]--
        const code = reply(engine, conn, ev, value, ctx)
        if (t0 !== 0 || span !== null) handled(engine, ev, t0, span, code)
      },
      (err) => {
        conn[kInflight]--
        const code = failed(engine, conn, err, ctx)
        if (t0 !== 0 || span !== null) handled(engine, ev, t0, span, code)
      }
    )
  }
  const code = reply(engine, conn, ev, result, ctx)
  if (t0 !== 0 || span !== null) handled(engine, ev, t0, span, code)
  return undefined
}

/** A handled event is over (`code`: the error sent for it, if any): observe its duration, end its span. */
function handled (engine: Engine, ev: CompiledEvent, t0: number, span: TraceSpan | null, code: string | undefined): void {
  if (t0 !== 0) engine.metrics?.handled(ev.index, performance.now() - t0)
  if (span !== null) engine.tracer?.end(span, code)
}

/** The `__error__` code `engine.handleError` sends for a thrown value. */
export function sentCode (err: unknown): string {
  return isSocketError(err) && err.code !== ErrorCode.OUTBOUND_VALIDATION_ERROR ? err.code : ErrorCode.HANDLER_ERROR
}

/** A handler, middleware or dependency threw: the `__error__` (while the connection is alive); returns its code. */
function failed (engine: Engine, conn: Connection, err: unknown, ctx: HandlerContext): string {
  return alive(conn) ? engine.handleError(conn, err, ctx) : sentCode(err)
}

/** Send the reply, if the event declares one; returns the error code when the reply broke its schema. */
function reply (engine: Engine, conn: Connection, ev: CompiledEvent, value: unknown, ctx: HandlerContext): string | undefined {
  if (ev.replyEvent === undefined) return undefined
  let frame: string
  try {
    frame = engine.serializer.frame(ev.replyEvent, value, ctx.clientId ? ctx.id : undefined)
  } catch (err) {
    // OUTBOUND_VALIDATION_ERROR: the handler's return value breaks the declared reply schema.
    return failed(engine, conn, err, ctx)
  }
  engine.send(conn, frame, ev.replyEvent)
  return undefined
}

/** Steps 7–10: middleware, validation, dependencies, handler and reply. Never rejects. */
export async function runEvent (engine: Engine, conn: Connection, ev: CompiledEvent, payload: unknown, ctx: HandlerContext): Promise<void> {
  if (!alive(conn)) return
  conn[kInflight]++
  const t0 = engine.metrics === null ? 0 : performance.now()
  const tracer = engine.tracer
  const span = tracer === null ? null : tracer.start(conn, ev)
  // with metrics or tracing: the code of the error sent for the event, if any
  const outcome: Outcome | null = t0 !== 0 || span !== null ? { code: undefined } : null
  try {
    if (span !== null) {
      await tracer!.run(span, runMiddleware, undefined, engine, conn, ev, payload, ctx, 0, outcome)
    } else if (engine.middleware.length === 0) {
      await invoke(engine, conn, ev, payload, ctx, outcome)
    } else {
      await runMiddleware(engine, conn, ev, payload, ctx, 0, outcome)
    }
  } catch (err) {
    const code = failed(engine, conn, err, ctx)
    if (outcome !== null) outcome.code = code
  } finally {
    conn[kInflight]--
  }
  if (outcome !== null) handled(engine, ev, t0, span, outcome.code)
}

/** The error code sent for an event without a throw (validation, reply schema). */
interface Outcome { code: string | undefined }

function runMiddleware (engine: Engine, conn: Connection, ev: CompiledEvent, payload: unknown, ctx: HandlerContext, i: number, outcome: Outcome | null): Promise<void> {
  if (i === engine.middleware.length) return invoke(engine, conn, ev, payload, ctx, outcome)
  if (!alive(conn)) return Promise.resolve()
  let called = false
  const next = (): Promise<void> => {
    if (called) return Promise.resolve()
    called = true
    return runMiddleware(engine, conn, ev, payload, ctx, i + 1, outcome)
  }
  return Promise.resolve(engine.middleware[i](conn, ctx.event, payload, next)).then(() => undefined)
}

async function invoke (engine: Engine, conn: Connection, ev: CompiledEvent, payload: unknown, ctx: HandlerContext, outcome: Outcome | null): Promise<void> {
  // 8. validation
  const validate = ev.validate
  if (validate !== undefined && !validate(payload)) {
    engine.sendError(conn, ErrorCode.VALIDATION_ERROR, 'Payload failed validation', { errors: toIssues(validate) }, ctx.clientId ? ctx.id : undefined, ctx.id)
    if (outcome !== null) outcome.code = ErrorCode.VALIDATION_ERROR
    return
  }
  // 9. dependencies
  const n = ev.depNames.length
  if (n > 0) {
    const deps: Record<string, unknown> = {}
    const values = await Promise.all(ev.depFns.map(fn => fn(conn, ctx)))
    for (let i = 0; i < n; i++) deps[ev.depNames[i]] = values[i]
    ctx.deps = deps
  }
  // A handler never runs after its connection closed.
  if (!alive(conn)) return
  // 10. handler and reply
  let result = ev.def.handler(conn, payload, ctx) as any
  if (result !== null && typeof result === 'object' && typeof result.then === 'function') result = await result
  const code = reply(engine, conn, ev, result, ctx)
  if (outcome !== null) outcome.code = code
}

/** 0 when a `__refresh_auth__` attempt is allowed now (and records it), else the milliseconds to wait. */
function refreshWait (engine: Engine, conn: Connection): number {
  const now = engine.clock.now()
  let times = conn[kRefreshes]
  if (times === null) times = conn[kRefreshes] = []
  while (times.length > 0 && times[0] <= now - REFRESH_WINDOW_MS) times.shift()
  if (times.length >= REFRESH_LIMIT) return Math.max(1, times[0] + REFRESH_WINDOW_MS - now)
  times.push(now)
  return 0
}

async function refreshAuth (engine: Engine, conn: Connection, payload: any, clientId: string | undefined): Promise<void> {
  const auth = engine.opts.auth
  const token = payload !== null && typeof payload === 'object' ? payload.token : undefined
  if (auth === undefined || typeof token !== 'string' || token.length === 0) {
    engine.sendError(conn, ErrorCode.AUTH_ERROR, auth === undefined ? 'Authentication is not configured' : 'payload.token must be a non-empty string', {}, clientId, undefined)
    return
  }
  let init = null
  let details: Record<string, unknown> = {}
  try {
    init = await auth.authenticate({ headers: conn.headers, query: conn.query, token })
  } catch (err) {
    if (isSocketError(err) && err.code === ErrorCode.AUTH_ERROR) details = err.details
    init = null
  }
  if (conn[kState] !== OPEN) return
  if (init === null || init === undefined) {
    engine.sendError(conn, ErrorCode.AUTH_ERROR, 'Refresh token rejected; the current session lasts until its token expires', details, clientId, undefined)
    return
  }
  const identity = normalizeIdentity(init)
  if (identity.userId !== conn.identity.userId) {
    // Rooms and state were admitted under the current identity: a refresh never switches users.
    engine.sendError(conn, ErrorCode.AUTH_ERROR, 'Refresh token belongs to another user; the identity is unchanged', { reason: 'user_mismatch' }, clientId, undefined)
    return
  }
  conn.identity = identity
  conn.session.tokenExpiresAt = identity.tokenExpiresAt
  conn[kTimers]?.tokenChanged()
  engine.emitSystem(conn, '__auth_refreshed__', { expires_at: identity.tokenExpiresAt }, clientId)
}
