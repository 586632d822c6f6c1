import type { Static, TSchema } from '@sinclair/typebox'
import type { FastifyBaseLogger } from 'fastify'
import type { IncomingHttpHeaders } from 'node:http'
import type { Connection } from './connection.js'

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
  schema?: TSchema
  description?: string
}

/** Outbound event declared by an inbound event, broadcast to a room (the room may be a pattern like 'chat:{room}'). */
export interface BroadcastDeclaration {
  event: string
  room: string
  schema?: TSchema
  description?: string
}

/** The reply a handler's return value is sent as. */
export interface ReplyDeclaration {
  event: string
  schema?: TSchema
  description?: string
}

/** Token bucket settings: `rate` tokens per second, `capacity` burst. */
export interface RateLimitConfig {
  rate: number
  capacity: number
}

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
export interface EventOptions<P extends TSchema | undefined = TSchema | undefined, D extends Record<string, unknown> = Record<string, unknown>> {
  payload?: P
  description?: string
  summary?: string
  tags?: string[]
  emits?: EmitDeclaration[]
  broadcasts?: BroadcastDeclaration[]
  reply?: ReplyDeclaration
  /** Process this event one message at a time per connection, in arrival order. */
  ordered?: boolean
  deprecated?: boolean
  /** Per connection, per event token bucket, checked after the connection's own bucket. */
  rateLimit?: RateLimitConfig
  /** Dependencies resolved (awaited) before the handler, available as `ctx.deps`. */
  deps?: { [K in keyof D]: (conn: Connection, ctx: HandlerContext) => D[K] | Promise<D[K]> }
}

export type PayloadOf<P> = P extends TSchema ? Static<P> : unknown

/** A registered event, as kept in the registry (read by the pipeline, the AsyncAPI builder and the docs). */
export interface EventDefinition {
  name: string
  payload?: TSchema
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
}

/** Session lifetimes and heartbeat, in seconds (fractions allowed). */
export interface SessionConfig {
  /** 0 = no limit. */
  maxDuration?: number
  /** 0 = no idle close. */
  idleTimeout?: number
  heartbeatInterval?: number
  heartbeatTimeout?: number
  tokenRefreshWindow?: number
}

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
