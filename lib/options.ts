import { Ajv } from 'ajv'
import { OptionsSchema, SessionOptionsSchema } from '../schemas/options.js'
import { FST_SOCKETSPEC_INVALID_OPTION } from './errors.js'
import { resolveAuth } from './auth/index.js'
import { resolveBackend } from './backends/index.js'
import type { AuthBackend, RateLimitConfig, SessionConfig, StaticRoom } from './types.js'
import type { BackendAdapter } from './backends/types.js'

/** Options of `app.register(socketspec, options)`. Every field is documented in the README's options table. */
export interface SocketspecOptions {
  /** WebSocket route. Default '/ws'. */
  path?: string
  /** Event and room namespace. Default '/'. */
  namespace?: string
  /** Name of the Fastify decorator. Default 'socket'. */
  decorator?: string
  /** Serve the docs UI and AsyncAPI document. Default false. */
  docs?: boolean
  /** Docs UI route. Default '/socket-docs'. */
  docsUrl?: string
  /** Protect docs routes with a bearer / ?token= secret. */
  docsAccessToken?: string
  /** Auth backend: jwtAuth(...), apiKeyAuth(...) or { authenticate }. */
  auth?: AuthBackend
  /** 'memory' (default) or a BackendAdapter such as redisBackend({ url }). */
  backend?: 'memory' | BackendAdapter
  /** Allowed Origin headers. Default ['*']. */
  allowedOrigins?: string[]
  /** Bytes per inbound frame. Default 65536. */
  maxPayloadSize?: number
  /** Connection token bucket. */
  rateLimit?: RateLimitConfig
  /** Heartbeat and lifetimes in seconds. */
  session?: SessionConfig
  /** Static rooms. */
  rooms?: Array<string | StaticRoom>
  /** Connections per process. */
  maxConnections?: number
  /** Outbound bytes queued per client before it is closed 4009. Default 1 MiB. */
  maxBufferedBytes?: number
  /** Seconds in-flight handlers get on close. Default 5. */
  shutdownTimeout?: number
  /** Seconds the auth backend gets to answer at connect. Default 10. */
  authTimeout?: number
  /** AsyncAPI document title. */
  title?: string
  /** AsyncAPI document version. */
  version?: string
}

/** Options after validation, defaults applied. */
export interface ResolvedOptions {
  path: string
  namespace: string
  decorator: string
  docs: boolean
  docsUrl: string
  docsAccessToken?: string
  auth?: AuthBackend
  backend: BackendAdapter
  allowedOrigins: string[]
  maxPayloadSize: number
  rateLimit?: RateLimitConfig
  session: Required<SessionConfig>
  rooms: StaticRoom[]
  maxConnections?: number
  maxBufferedBytes: number
  shutdownTimeout: number
  authTimeout: number
  title?: string
  version?: string
}

const ajv = new Ajv({ allErrors: false, useDefaults: true, coerceTypes: false, strict: false })
const validateOptions = ajv.compile(OptionsSchema)
const validateSession = ajv.compile(SessionOptionsSchema)

function optionName (instancePath: string, params: Record<string, unknown>): string {
  let name = instancePath.replace(/^\//, '').replace(/\//g, '.')
  if (typeof params.additionalProperty === 'string') name = name === '' ? params.additionalProperty : name + '.' + params.additionalProperty
  if (typeof params.missingProperty === 'string') name = name === '' ? params.missingProperty : name + '.' + params.missingProperty
  return name === '' ? 'options' : name
}

/** Validate plugin options against the TypeBox schema and apply defaults; throws FST_SOCKETSPEC_INVALID_OPTION naming the option. */
export function resolveOptions (input: unknown): ResolvedOptions {
  if (input === null || typeof input !== 'object') input = {}
  // Fastify passes its own keys (prefix, logLevel...) through plugin options; they are not ours.
  const opts: Record<string, unknown> = { ...(input as Record<string, unknown>) }
  delete opts.prefix
  delete opts.logLevel
  delete opts.logSerializers
  if (opts.session !== undefined && (opts.session === null || typeof opts.session !== 'object')) {
    throw new FST_SOCKETSPEC_INVALID_OPTION('session', 'must be an object')
  }
  opts.session = { ...(opts.session as object ?? {}) }
  if (opts.allowedOrigins !== undefined && Array.isArray(opts.allowedOrigins)) opts.allowedOrigins = [...opts.allowedOrigins]
  if (opts.rooms !== undefined && Array.isArray(opts.rooms)) opts.rooms = [...opts.rooms]
  if (!validateOptions(opts)) {
    const e = validateOptions.errors![0]
    throw new FST_SOCKETSPEC_INVALID_OPTION(optionName(e.instancePath, e.params as Record<string, unknown>), e.message ?? 'is invalid')
  }
  if (!validateSession(opts.session)) {
    const e = validateSession.errors![0]
    throw new FST_SOCKETSPEC_INVALID_OPTION('session.' + optionName(e.instancePath, e.params as Record<string, unknown>), e.message ?? 'is invalid')
  }
  opts.auth = resolveAuth(opts.auth)
  // Resolved here so a bad adapter fails at register time, naming the missing method.
  const backend = resolveBackend(opts.backend)
  const session = opts.session as Required<SessionConfig>
  const rooms = (opts.rooms as Array<string | StaticRoom>).map(r => typeof r === 'string' ? { name: r } : { ...r })
  const origins = opts.allowedOrigins as string[]
  return {
    ...(opts as unknown as ResolvedOptions),
    backend,
    session,
    rooms,
    allowedOrigins: origins
  }
}
