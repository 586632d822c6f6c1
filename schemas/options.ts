import { Type, type Static } from '@sinclair/typebox'

const Seconds = (description: string, def: number) => Type.Number({ minimum: 0, default: def, description })

/** SessionConfig: heartbeat and lifetimes, in seconds (fractions allowed). */
export const SessionOptionsSchema = Type.Object({
  maxDuration: Seconds('Close the connection (SESSION_EXPIRED, 4004) this many seconds after connect; 0 = never.', 0),
  idleTimeout: Seconds('Close the connection (IDLE_TIMEOUT, 4005) after this many seconds without an application event; 0 = never.', 0),
  heartbeatInterval: Type.Number({ exclusiveMinimum: 0, default: 25, description: 'Send __ping__ every this many seconds.' }),
  heartbeatTimeout: Type.Number({ exclusiveMinimum: 0, default: 10, description: 'Close 4006 when no __pong__ arrives this many seconds after a __ping__.' }),
  tokenRefreshWindow: Seconds('Send __auth_expiring__ this many seconds before the token expires.', 60)
}, { additionalProperties: false })

export const RateLimitSchema = Type.Object({
  rate: Type.Number({ exclusiveMinimum: 0, description: 'Tokens added per second.' }),
  capacity: Type.Number({ minimum: 1, description: 'Bucket size (burst).' })
}, { additionalProperties: false })

/** Session recovery (SPEC §12). */
export const RecoveryOptionsSchema = Type.Object({
  ttl: Type.Number({ exclusiveMinimum: 0, default: 120, description: 'Seconds a dropped session stays resumable (and its rooms exist, their broadcasts recorded).' }),
  historySize: Type.Integer({ minimum: 1, default: 1000, description: 'Broadcasts kept per room for replay.' })
}, { additionalProperties: false })

/** `publishApi` (SPEC §13): an HTTP endpoint that publishes to rooms, connections or the whole namespace. */
export const PublishApiOptionsSchema = Type.Object({
  path: Type.String({ pattern: '^/', description: 'Route of the POST endpoint, e.g. "/publish".' }),
  token: Type.String({ minLength: 16, description: 'Bearer token the endpoint requires (`Authorization: Bearer <token>`); at least 16 characters. Never logged.' }),
  bodyLimit: Type.Integer({ minimum: 64, default: 1048576, description: 'Largest request body in bytes (413 beyond).' })
}, { additionalProperties: false, description: 'HTTP publish endpoint (SPEC §13): POST {room?, connection?, event, payload} with the bearer token; 202 published, 401, 400 with the validation errors, 404 for an undeclared event or a missing room.' })

/** `admin` (SPEC §14): the Admin tab of the docs UI and its JSON routes. */
export const AdminOptionsSchema = Type.Object({
  token: Type.String({ minLength: 16, description: 'Bearer token of the admin routes and the Admin tab; at least 16 characters. The docs access token does not open them. Never logged.' })
}, { additionalProperties: false, description: 'Admin view (SPEC §14): an Admin tab in the docs UI and JSON routes under docsUrl + "/admin/" (connections and rooms of every node, per-event rates, disconnect, broadcast), behind their own bearer token.' })

/** `metrics` (SPEC §14) as an object; `true` takes the defaults. */
export const MetricsOptionsSchema = Type.Object({
  prefix: Type.String({ pattern: '^[a-zA-Z_:][a-zA-Z0-9_:]*$', default: 'socketspec_', description: 'Prefix of every metric name.' }),
  registry: Type.Optional(Type.Unsafe<unknown>({ description: "prom-client Registry the metrics are registered in (default: prom-client's default registry, `register`)." }))
}, { additionalProperties: false })

export const StaticRoomSchema = Type.Union([
  Type.String({ minLength: 1, maxLength: 256 }),
  Type.Object({ name: Type.String({ minLength: 1, maxLength: 256 }), description: Type.Optional(Type.String()) }, { additionalProperties: false })
])

/**
 * Plugin options, validated at register time. Functions and objects that JSON
 * Schema cannot describe (auth, backend, logger hooks) are checked by hand in
 * lib/options.ts and only declared here for documentation.
 */
export const OptionsSchema = Type.Object({
  path: Type.String({ pattern: '^/', default: '/ws', description: 'WebSocket route.' }),
  namespace: Type.String({ pattern: '^/', default: '/', description: 'Event and room namespace; register the plugin once per namespace, each in its own encapsulated context.' }),
  decorator: Type.String({ pattern: '^[A-Za-z_$][A-Za-z0-9_$]*$', default: 'socket', description: 'Name of the Fastify decorator holding the SocketApp.' }),
  docs: Type.Boolean({ default: false, description: 'Serve the docs UI and the AsyncAPI document.' }),
  docsUrl: Type.String({ pattern: '^/', default: '/socket-docs', description: 'Docs UI route; the AsyncAPI document is served at docsUrl + "/asyncapi.json".' }),
  docsAccessToken: Type.Optional(Type.String({ minLength: 1, description: 'When set, docs routes need `Authorization: Bearer <t>` or `?token=<t>` (401 otherwise).' })),
  auth: Type.Optional(Type.Unsafe<unknown>({ description: 'Auth backend: jwtAuth(...), apiKeyAuth(...) or { authenticate(req) }.' })),
  backend: Type.Optional(Type.Unsafe<unknown>({ description: "'memory' (default) or a BackendAdapter such as redisBackend({ url })." })),
  allowedOrigins: Type.Array(Type.String({ minLength: 1 }), { default: ['*'], description: "Allowed Origin headers; '*' allows any." }),
  maxPayloadSize: Type.Integer({ minimum: 64, default: 65536, description: 'Bytes per inbound frame; larger frames get PAYLOAD_TOO_LARGE, frames over 4x are closed 1009.' }),
  rateLimit: Type.Optional(RateLimitSchema),
  session: Type.Optional(SessionOptionsSchema),
  rooms: Type.Array(StaticRoomSchema, { default: [], description: 'Static rooms, which always exist.' }),
  maxConnections: Type.Optional(Type.Integer({ minimum: 1, description: 'Connections per process; more are refused with HTTP 503 before the upgrade.' })),
  maxBufferedBytes: Type.Integer({ minimum: 1024, default: 1048576, description: 'Slow-consumer limit: a client whose unsent bytes are above this after a flush and then grow, or shrink by less than this per second, is closed 4009.' }),
  authTimeout: Type.Number({ exclusiveMinimum: 0, default: 10, description: 'Seconds the auth backend gets to answer at connect; then AUTH_ERROR and close 4001.' }),
  shutdownTimeout: Type.Number({ minimum: 0, default: 5, description: 'Seconds in-flight handlers get on fastify.close().' }),
  outboundValidation: Type.Union([Type.Literal('always'), Type.Literal('never')], { default: 'always', description: "Check outbound payloads of declared events against their schema before serializing them ('always'; a mismatch throws OUTBOUND_VALIDATION_ERROR and nothing is sent), or skip the check ('never')." }),
  recovery: Type.Union([Type.Literal(false), RecoveryOptionsSchema], { default: false, description: 'Session recovery (SPEC §12): a client that drops and sends __resume__ within ttl seconds gets back its rooms and every room broadcast it missed, or is told which room could not be recovered. false (default) turns it off.' }),
  metrics: Type.Union([Type.Boolean(), MetricsOptionsSchema], { default: false, description: "Prometheus metrics through prom-client (SPEC §14; prom-client is an optional peer dependency, loaded only then): true registers them in prom-client's default registry, { registry, prefix } in another registry or under another prefix than 'socketspec_'. false (default) turns them off." }),
  publishApi: Type.Optional(PublishApiOptionsSchema),
  admin: Type.Optional(AdminOptionsSchema),
  title: Type.Optional(Type.String({ description: "Title of the AsyncAPI document (default: the name in the app's package.json, the nearest one above the working directory)." })),
  version: Type.Optional(Type.String({ description: "Version of the AsyncAPI document (default: the app's package.json version)." }))
}, { additionalProperties: false })

/** Options after validation and defaults, as the schema describes them. */
export type OptionsStatic = Static<typeof OptionsSchema>
/** SessionConfig after defaults. */
export type SessionStatic = Static<typeof SessionOptionsSchema>
/** `{ttl, historySize}` after defaults. */
export type RecoveryStatic = Static<typeof RecoveryOptionsSchema>
/** `metrics` as an object, after defaults. */
export type MetricsStatic = Static<typeof MetricsOptionsSchema>
/** `publishApi` after defaults. */
export type PublishApiStatic = Static<typeof PublishApiOptionsSchema>
/** `admin` options. */
export type AdminStatic = Static<typeof AdminOptionsSchema>
/** `{rate, capacity}` of a token bucket. */
export type RateLimitStatic = Static<typeof RateLimitSchema>
