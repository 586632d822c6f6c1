import { randomUUID } from 'node:crypto'
import sjson from 'secure-json-parse'
import type { Connection } from './connection.js'
import { isSocketError, type Engine } from './engine.js'
import type { CompiledEvent } from './registry.js'
import { toIssues } from './registry.js'
import { CloseCode, ErrorCode } from './errors.js'
import { TokenBucket } from './rate-limit.js'
import { normalizeIdentity } from './auth/identity.js'
import { kBuckets, kInflight, kOrdered, kQueue, kSocket, kState, kTimers } from './symbols.js'
import type { HandlerContext } from './types.js'

const OPEN = 1

/** Open on our side and on the socket (a received close frame makes ws CLOSING before 'close' fires). */
function alive (conn: Connection): boolean {
  return conn[kState] === OPEN && conn[kSocket].readyState === 1
}
const EMPTY_DEPS: Record<string, unknown> = Object.freeze({}) as Record<string, unknown>
const PARSE_OPTIONS = { protoAction: 'error', constructorAction: 'error' } as const

/**
 * Steps 1–6 of the inbound pipeline (SPEC §2), synchronous so arrival order is
 * kept: size, parse and envelope, rate limits, system events, activity, lookup.
 * Steps 7–10 run in `runEvent`.
 */
export function onFrame (engine: Engine, conn: Connection, data: Buffer, isBinary: boolean): void {
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
    engine.sendError(conn, ErrorCode.PAYLOAD_TOO_LARGE, undefined, { max_bytes: engine.opts.maxPayloadSize, size }, undefined, undefined)
    return
  }

  // 2. parse and envelope
  if (isBinary) {
    engine.sendError(conn, ErrorCode.VALIDATION_ERROR, 'Binary frames are not supported; send JSON text frames', { errors: [{ path: '/', message: 'binary frame', keyword: 'type' }] }, undefined, undefined)
    return
  }
  let msg: any
  try {
    msg = sjson.parse(data.toString(), undefined, PARSE_OPTIONS)
  } catch (err) {
    const proto = (err as Error).message?.includes('prototype')
    engine.sendError(conn, ErrorCode.VALIDATION_ERROR,
      proto ? 'Forbidden prototype property in message' : 'Message is not valid JSON',
      { errors: [{ path: '/', message: proto ? 'forbidden prototype property' : 'invalid JSON', keyword: proto ? 'prototype' : 'json' }] },
      undefined, undefined)
    return
  }
  if (msg === null || typeof msg !== 'object' || Array.isArray(msg)) {
    engine.sendError(conn, ErrorCode.VALIDATION_ERROR, 'Message must be a JSON object', { errors: [{ path: '/', message: 'must be object', keyword: 'type' }] }, undefined, undefined)
    return
  }
  const rawId = msg.id
  let clientId: string | undefined
  if (rawId !== undefined) {
    if (typeof rawId !== 'string' || rawId.length > 64) {
      engine.sendError(conn, ErrorCode.VALIDATION_ERROR, 'id must be a string of at most 64 characters', { errors: [{ path: '/id', message: 'must be a string of at most 64 characters', keyword: typeof rawId !== 'string' ? 'type' : 'maxLength' }] }, undefined, undefined)
      return
    }
    clientId = rawId
  }
  const name = msg.event
  if (typeof name !== 'string' || name.length === 0) {
    engine.sendError(conn, ErrorCode.VALIDATION_ERROR, 'event must be a non-empty string', { errors: [{ path: '/event', message: name === undefined ? "must have required property 'event'" : 'must be a non-empty string', keyword: name === undefined ? 'required' : 'type' }] }, clientId, undefined)
    return
  }

  // 3. rate limits: the connection's bucket, then the event's own
  const ev = engine.registry.get(name)
  if (engine.connRate !== undefined || (ev !== undefined && ev.rateLimit !== undefined)) {
    const now = Date.now()
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
    if (name === '__pong__') {
      conn[kTimers]?.pongReceived()
      return
    }
    if (name === '__refresh_auth__') {
      refreshAuth(engine, conn, msg.payload, clientId).catch(/* c8 ignore next */ (err) => conn.log.error({ err }, 'refresh failed'))
      return
    }
  }

  // 5. activity
  conn.lastActive = Date.now()

  // 6. lookup
  if (ev === undefined) {
    engine.sendError(conn, ErrorCode.UNKNOWN_EVENT, `Unknown event '${name.length > 100 ? name.slice(0, 100) + '…' : name}'`, { event: name.length > 256 ? name.slice(0, 256) : name }, clientId, undefined)
    return
  }

  const payload = msg.payload === undefined ? {} : msg.payload
  const ctx: HandlerContext = {
    id: clientId ?? randomUUID(),
    clientId: clientId !== undefined,
    event: name,
    deps: EMPTY_DEPS,
    log: conn.log
  }
  if (ev.def.ordered) {
    const tail = conn[kOrdered]
    const next: Promise<void> = tail === null
      ? Promise.resolve(dispatch(engine, conn, ev, payload, ctx))
      : tail.then(() => dispatch(engine, conn, ev, payload, ctx))
    conn[kOrdered] = next
    next.then(() => { if (conn[kOrdered] === next) conn[kOrdered] = null })
  } else {
    void dispatch(engine, conn, ev, payload, ctx)
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
  const validate = ev.validate
  if (validate !== undefined && !validate(payload)) {
    engine.sendError(conn, ErrorCode.VALIDATION_ERROR, 'Payload failed validation', { errors: toIssues(validate) }, ctx.clientId ? ctx.id : undefined, ctx.id)
    return undefined
  }
  let result: any
  try {
    result = ev.def.handler(conn, payload, ctx)
  } catch (err) {
    if (alive(conn)) engine.handleError(conn, err, ctx)
    return undefined
  }
  if (result !== null && typeof result === 'object' && typeof result.then === 'function') {
    conn[kInflight]++
    return (result as Promise<unknown>).then(
      (value) => { conn[kInflight]--; reply(engine, conn, ev, value, ctx) },
      (err) => { conn[kInflight]--; if (alive(conn)) engine.handleError(conn, err, ctx) }
    )
  }
  reply(engine, conn, ev, result, ctx)
  return undefined
}

function reply (engine: Engine, conn: Connection, ev: CompiledEvent, value: unknown, ctx: HandlerContext): void {
  if (ev.replyEvent !== undefined) engine.send(conn, engine.serializer.frame(ev.replyEvent, value, ctx.clientId ? ctx.id : undefined))
}

/** Steps 7–10: middleware, validation, dependencies, handler and reply. Never rejects. */
export async function runEvent (engine: Engine, conn: Connection, ev: CompiledEvent, payload: unknown, ctx: HandlerContext): Promise<void> {
  if (!alive(conn)) return
  conn[kInflight]++
  try {
    if (engine.middleware.length === 0) {
      await invoke(engine, conn, ev, payload, ctx)
    } else {
      await runMiddleware(engine, conn, ev, payload, ctx, 0)
    }
  } catch (err) {
    if (alive(conn)) engine.handleError(conn, err, ctx)
  } finally {
    conn[kInflight]--
  }
}

function runMiddleware (engine: Engine, conn: Connection, ev: CompiledEvent, payload: unknown, ctx: HandlerContext, i: number): Promise<void> {
  if (i === engine.middleware.length) return invoke(engine, conn, ev, payload, ctx)
  if (!alive(conn)) return Promise.resolve()
  let called = false
  const next = (): Promise<void> => {
    if (called) return Promise.resolve()
    called = true
    return runMiddleware(engine, conn, ev, payload, ctx, i + 1)
  }
  return Promise.resolve(engine.middleware[i](conn, ctx.event, payload, next)).then(() => undefined)
}

async function invoke (engine: Engine, conn: Connection, ev: CompiledEvent, payload: unknown, ctx: HandlerContext): Promise<void> {
  // 8. validation
  const validate = ev.validate
  if (validate !== undefined && !validate(payload)) {
    engine.sendError(conn, ErrorCode.VALIDATION_ERROR, 'Payload failed validation', { errors: toIssues(validate) }, ctx.clientId ? ctx.id : undefined, ctx.id)
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
  reply(engine, conn, ev, result, ctx)
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
  conn.identity = normalizeIdentity(init)
  conn.session.tokenExpiresAt = conn.identity.tokenExpiresAt
  conn[kTimers]?.tokenChanged()
  engine.send(conn, engine.serializer.frame('__auth_refreshed__', { expires_at: conn.identity.tokenExpiresAt }, clientId))
}
