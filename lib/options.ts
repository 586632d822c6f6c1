import { Ajv } from 'ajv'
import { MetricsOptionsSchema, OptionsSchema, RecoveryOptionsSchema, SessionOptionsSchema, type OptionsStatic, type PublishApiStatic, type RecoveryStatic, type SessionStatic } from '../schemas/options.js'
import { FST_SOCKETSPEC_INVALID_OPTION } from './errors.js'
import { resolveAuth } from './auth/index.js'
import { resolveBackend } from './backends/index.js'
import type { AuthBackend, SessionConfig, StaticRoom } from './types.js'
import { systemClock, type Clock } from './clock.js'
import { kClock } from './symbols.js'
import type { BackendAdapter } from './backends/types.js'
import type { MetricsConfig, MetricsRegistry } from './metrics.js'

/**
 * Options of `app.register(socketspec, options)`, derived from the options
 * schema (schemas/options.ts), where every field is documented with its
 * default; the README's options table says the same. Objects JSON Schema
 * cannot describe (auth, backend) are typed here.
 */
export type SocketspecOptions = Partial<Omit<OptionsStatic, 'auth' | 'backend' | 'session' | 'rooms' | 'recovery' | 'publishApi' | 'metrics'>> & {
  /** Prometheus metrics (SPEC §14; needs prom-client): true, or `{ registry?, prefix? }` (a prom-client Registry; `'socketspec_'`). Default false. */
  metrics?: boolean | { registry?: MetricsRegistry, prefix?: string }
  /** HTTP publish endpoint (SPEC §13): `{ path, token, bodyLimit? }`. */
  publishApi?: Omit<PublishApiStatic, 'bodyLimit'> & { bodyLimit?: number }
  /** Session recovery: `{ ttl, historySize }` (seconds, broadcasts per room; each has a default; `true` = both defaults), or false (default). */
  recovery?: boolean | Partial<RecoveryStatic>
  /** Auth backend: jwtAuth(...), apiKeyAuth(...) or { authenticate }. */
  auth?: AuthBackend
  /** 'memory' (default) or a BackendAdapter such as redisBackend({ url }). */
  backend?: 'memory' | BackendAdapter
  /** Heartbeat and lifetimes in seconds. */
  session?: SessionConfig
  /** Static rooms. */
  rooms?: Array<string | StaticRoom>
}

/** Options after validation, defaults applied. */
export type ResolvedOptions = Omit<OptionsStatic, 'auth' | 'backend' | 'session' | 'rooms' | 'recovery' | 'metrics'> & {
  recovery: RecoveryStatic | false
  metrics: MetricsConfig | false
  auth?: AuthBackend
  backend: BackendAdapter
  session: SessionStatic
  rooms: StaticRoom[]
  /** Where timers and rate limiters read the time (tests inject a fake one under the kClock key). */
  clock: Clock
}

const ajv = new Ajv({ allErrors: false, useDefaults: true, coerceTypes: false, strict: false })
const validateOptions = ajv.compile(OptionsSchema)
const validateSession = ajv.compile(SessionOptionsSchema)
const validateRecovery = ajv.compile(RecoveryOptionsSchema)
const validateMetrics = ajv.compile(MetricsOptionsSchema)

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
  // Defaults inside a union branch are not applied by Ajv: the recovery object is checked on its own.
  if (opts.recovery === true) opts.recovery = {}
  if (opts.recovery !== undefined && opts.recovery !== false && opts.recovery !== null && typeof opts.recovery === 'object') {
    const recovery = { ...opts.recovery }
    if (!validateRecovery(recovery)) {
      const e = validateRecovery.errors![0]
      throw new FST_SOCKETSPEC_INVALID_OPTION('recovery.' + optionName(e.instancePath, e.params as Record<string, unknown>), e.message ?? 'is invalid')
    }
    opts.recovery = recovery
  }
  if (opts.metrics === true) opts.metrics = {}
  if (opts.metrics !== undefined && opts.metrics !== false && opts.metrics !== null && typeof opts.metrics === 'object') {
    const metrics = { ...opts.metrics } as Record<string, unknown>
    if (!validateMetrics(metrics)) {
      const e = validateMetrics.errors![0]
      throw new FST_SOCKETSPEC_INVALID_OPTION('metrics.' + optionName(e.instancePath, e.params as Record<string, unknown>), e.message ?? 'is invalid')
    }
    const registry = metrics.registry as Partial<MetricsRegistry> | null | undefined
    if (registry !== undefined && (registry === null || typeof registry.registerMetric !== 'function' || typeof registry.getSingleMetric !== 'function')) {
      throw new FST_SOCKETSPEC_INVALID_OPTION('metrics.registry', 'must be a prom-client Registry')
    }
    opts.metrics = metrics
  }
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
  if (opts.admin !== undefined && (opts.admin as { token: string }).token === opts.docsAccessToken) {
    throw new FST_SOCKETSPEC_INVALID_OPTION('admin.token', 'must differ from docsAccessToken (the docs token must not open the admin view)')
  }
  opts.auth = resolveAuth(opts.auth)
  // Resolved here so a bad adapter fails at register time, naming the missing method.
  const backend = resolveBackend(opts.backend)
  const session = opts.session as SessionStatic
  const clock = (input as Record<symbol, Clock | undefined>)[kClock] ?? systemClock
  const rooms = (opts.rooms as Array<string | StaticRoom>).map(r => typeof r === 'string' ? { name: r } : { ...r })
  const origins = opts.allowedOrigins as string[]
  return {
    ...(opts as unknown as ResolvedOptions),
    backend,
    session,
    rooms,
    allowedOrigins: origins,
    clock
  }
}
