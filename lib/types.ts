import type { SchemaLike, StaticOf } from './schema-types.js'
import type { FastifyBaseLogger } from 'fastify'
import type { IncomingHttpHeaders } from 'node:http'
import type { Connection } from './connection.js'
import type { RateLimitStatic, SessionStatic } from '../schemas/options.js'

/** Who is on the other end of a connection, as established by the auth backend. */
export interface Identity {
  userId: string | null
  role: string | null
  /** Token expiry in Unix epoch milliseconds, or null when the credential does not expire. */
  tokenExpiresAt: number | null
  extra: Record<string, unknown>
}

/** What an auth backend's `authenticate` receives. */
export interface AuthRequest {
  headers: IncomingHttpHeaders
  query: Record<string, string | string[] | undefined>
  /** The token found in `Authorization: Bearer`, the `bearer.<t>` subprotocol, or `?token=`, in that order. */
  token: string | null
}

/** Partial identity an auth backend may return; missing fields are filled with null / {}. */
export type IdentityInit = Partial<Identity> & { userId?: string | null }

/** An auth backend: `jwtAuth(...)`, `apiKeyAuth(...)` or your own `{ authenticate }`. */
export interface AuthBackend {
  /** Resolve an identity, or null (or throw) to refuse the connection. */
  authenticate (req: AuthRequest): IdentityInit | null | Promise<IdentityInit | null>
  /** Optional name used in logs and the AsyncAPI document (e.g. 'jwt'). */
  readonly kind?: string
}

/** Outbound event declared by an inbound event, sent to the sender. */
export interface EmitDeclaration {
  event: string
  schema?: SchemaLike
  description?: string
}

/** Outbound event declared by an inbound event, broadcast to a room (the room may be a pattern like 'chat:{room}'). */
export interface BroadcastDeclaration {
  event: string
  room: string
  schema?: SchemaLike
  description?: string
}

/** The reply a handler's return value is sent as. */
export interface ReplyDeclaration {
  event: string
  schema?: SchemaLike
  description?: string
}

/** Token bucket settings: `rate` tokens per second, `capacity` burst. */
export type RateLimitConfig = RateLimitStatic

/** Context passed to handlers, dependencies and error hooks. */
export interface HandlerContext<D = Record<string, unknown>> {
  /** The client's `id`, or a server uuid when the client sent none. */
  id: string
  /** True when `id` came from the client (replies and errors then carry it). */
  clientId: boolean
  event: string
  deps: D
  log: FastifyBaseLogger
}

export type DepFn<C = any> = (conn: C, ctx: HandlerContext) => unknown
export type DepsMap<C = any> = Record<string, DepFn<C>>
export type ResolvedDeps<D> = { [K in keyof D]: D[K] extends (...args: any[]) => infer R ? Awaited<R> : never }

/** Options of `socket.on(event, options, handler)`. */
export interface EventOptions<
  P extends SchemaLike | undefined = SchemaLike | undefined,
  D extends Record<string, unknown> = Record<string, unknown>,
  E extends readonly EmitDeclaration[] = readonly EmitDeclaration[],
  B extends readonly BroadcastDeclaration[] = readonly BroadcastDeclaration[],
  R extends ReplyDeclaration | undefined = ReplyDeclaration | undefined
> {
  payload?: P
  description?: string
  summary?: string
  tags?: string[]
  /** Events the handler sends to its client: `conn.emit(event, payload)` is typed by their schemas. */
  emits?: E
  /** Events the handler broadcasts to rooms: `conn.to(room).emit(event, payload)` is typed by their schemas. */
  broadcasts?: B
  /** The handler's return value is sent as this event (typed by its schema). */
  reply?: R
  /** Process this event one message at a time per connection, in arrival order. */
  ordered?: boolean
  deprecated?: boolean
  /** Per connection, per event token bucket, checked after the connection's own bucket. */
  rateLimit?: RateLimitConfig
  /** Dependencies resolved (awaited) before the handler, available as `ctx.deps`. */
  deps?: { [K in keyof D]: (conn: Connection, ctx: HandlerContext) => D[K] | Promise<D[K]> }
}

/** Payload type of an emits/broadcasts/reply declaration: its schema's Static type, unknown without a schema. */
export type DeclaredPayload<T> = T extends { schema: infer S extends SchemaLike } ? StaticOf<S> : unknown

/** Event name → payload type of everything one event declares it sends (emits, broadcasts and reply). */
export type OutboundMap<E extends readonly EmitDeclaration[], B extends readonly BroadcastDeclaration[], R extends ReplyDeclaration | undefined> = {
  [X in (E[number] | B[number] | Exclude<R, undefined>) as X['event']]: DeclaredPayload<X>
}

/** The payload argument of an emit: required and typed for a declared event, optional and unknown otherwise. */
export type EmitArgs<M, K extends string> = K extends keyof M ? [payload: M[K]] : [payload?: unknown]

/** `conn.to(room)` inside a handler whose event declares outbound events `M`. */
export interface TypedRoomTarget<M> {
  /** Send to every member of the room on every node except this connection. */
  emit<K extends string>(event: K, ...payload: EmitArgs<M, K>): Promise<void>
}

/** A Connection whose `emit` and `to(room).emit` are typed by the outbound events `M` the handler's event declares. */
export type TypedConnection<M> = Omit<Connection, 'emit' | 'to'> & {
  /** Send an event to this client; a declared event's payload must match its schema (checked at run time too). */
  emit<K extends string>(event: K, ...payload: EmitArgs<M, K>): void
  /** Target the members of `room` except this connection. */
  to(room: string): TypedRoomTarget<M>
}

/** The connection a handler receives: plain `Connection` when its event declares nothing it sends. */
export type ConnectionFor<M> = [keyof M] extends [never] ? Connection : TypedConnection<M>

/** What a handler may return: the declared reply's payload type (or a promise of it), anything without a reply schema. */
export type ReplyValue<R> = R extends { schema: infer S extends SchemaLike } ? StaticOf<S> | Promise<StaticOf<S>> : unknown

/** The payload type of a schema (`@sinclair/typebox` 0.34, `typebox` 1.x or an `as const` JSON Schema); unknown without one. */
export type PayloadOf<P> = P extends SchemaLike ? StaticOf<P> : unknown

/** A registered event, as kept in the registry (read by the pipeline, the AsyncAPI builder and the docs). */
export interface EventDefinition {
  name: string
  payload?: SchemaLike
  description?: string
  summary?: string
  tags: string[]
  emits: EmitDeclaration[]
  broadcasts: BroadcastDeclaration[]
  reply?: ReplyDeclaration
  ordered: boolean
  deprecated: boolean
  rateLimit?: RateLimitConfig
  deps?: DepsMap
  handler: (conn: any, payload: any, ctx: HandlerContext<any>) => unknown
  /** `file:line:column` of the `on()` call (for configuration errors at ready). */
  definedAt?: string
}

/** Session lifetimes and heartbeat, in seconds (fractions allowed); see SessionOptionsSchema for each field and its default. */
export type SessionConfig = Partial<SessionStatic>

export interface StaticRoom { name: string, description?: string }

/** `stats()` result. */
export interface SocketStats {
  connections: number
  rooms: number
  eventsIn: number
  eventsOut: number
  errors: Record<string, number>
}

/** Why a connection ended, as given to `onDisconnect`. */
export interface DisconnectReason {
  code: number
  reason: string
}
