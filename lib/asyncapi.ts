import type { TSchema } from '@sinclair/typebox'
import { WIRE_ERRORS } from './errors.js'
import type { EventDefinition, RateLimitConfig, SessionConfig, StaticRoom } from './types.js'

type Json = Record<string, unknown>

/** What `buildAsyncApi` needs to know about one namespace of a socketspec app. */
export interface AsyncApiInput {
  title?: string
  version?: string
  description?: string
  /** WebSocket route, the channel address. */
  path: string
  namespace: string
  events: EventDefinition[]
  rooms: StaticRoom[]
  /** Room guard patterns, e.g. 'admin:{section}'. */
  roomGuards: string[]
  /** Undefined when the namespace has no auth backend. */
  auth?: { kind?: string }
  session: Required<SessionConfig>
  /** Per connection token bucket. */
  rateLimit?: RateLimitConfig
  maxPayloadSize: number
}

interface SystemEvent {
  name: string
  /** 'in': client → server (the server receives it); 'out': server → client. */
  direction: 'in' | 'out'
  summary: string
  description: string
  payload: Json
  correlated?: boolean
}

interface Outbound {
  event: string
  schema?: TSchema
  description?: string
  rooms: string[]
  kinds: Set<'emit' | 'broadcast' | 'reply'>
  triggeredBy: string[]
}

const EPOCH_MS = 'Unix epoch milliseconds'
const CORRELATION_REF = { $ref: '#/components/correlationIds/requestId' }

const num = (description: string): Json => ({ type: 'number', description })
const obj = (properties: Record<string, Json>, required = Object.keys(properties)): Json =>
  ({ type: 'object', properties, required })

/** Payload schema of `__error__`: wire codes as an enum, plus application codes raised with SocketError. */
function errorPayloadSchema (): Json {
  return obj({
    code: {
      description: 'A wire error code, or an application code raised with SocketError.',
      anyOf: [
        { type: 'string', enum: Object.keys(WIRE_ERRORS).sort(), description: 'Wire error codes.' },
        { type: 'string', description: 'Application-defined code (SocketError).' }
      ]
    },
    message: { type: 'string', description: 'Human-readable message; generic for HANDLER_ERROR.' },
    request_id: { type: 'string', description: 'The client message id if it had one, else a server generated uuid.' },
    details: {
      type: 'object',
      description: 'Extra data: errors [{path, message, keyword}] for VALIDATION_ERROR, retry_after_ms for RATE_LIMIT_ERROR, event for UNKNOWN_EVENT.',
      additionalProperties: true
    }
  }, ['code', 'message', 'request_id', 'details'])
}

function systemEvents (session: Required<SessionConfig>): SystemEvent[] {
  return [
    {
      name: '__connect__',
      direction: 'out',
      summary: 'Connection accepted.',
      description: 'Sent once, after authentication succeeded and before the onConnect hooks run.',
      payload: obj({
        connection_id: { type: 'string', format: 'uuid', description: 'Id of this connection.' },
        namespace: { type: 'string', description: 'Namespace of the connection.' },
        heartbeat_interval: num(`Seconds between two __ping__ frames (${session.heartbeatInterval}).`),
        session_expires_at: { anyOf: [{ type: 'number' }, { type: 'null' }], description: `When the session ends (maxDuration), ${EPOCH_MS}; null without maxDuration.` }
      })
    },
    {
      name: '__disconnect__',
      direction: 'out',
      summary: 'The server is about to close the connection.',
      description: 'Sent just before any server-initiated close, with the close code and reason.',
      payload: obj({
        code: { type: 'integer', description: 'WebSocket close code (1000, 1001, 4001, 4002, 4004, 4005, 4006, 4009...).' },
        reason: { type: 'string', description: 'Close reason.' }
      })
    },
    {
      name: '__ping__',
      direction: 'out',
      summary: 'Heartbeat.',
      description: `Sent every heartbeatInterval (${session.heartbeatInterval} s); answer with __pong__ within heartbeatTimeout (${session.heartbeatTimeout} s) or the connection is closed 4006.`,
      payload: obj({ ts: num(`Server time, ${EPOCH_MS}.`) })
    },
    {
      name: '__pong__',
      direction: 'in',
      summary: 'Heartbeat answer.',
      description: 'Answers __ping__. Not routed to handlers and does not count as activity for the idle timeout.',
      payload: { type: 'object', properties: {} }
    },
    {
      name: '__error__',
      direction: 'out',
      summary: 'An error.',
      description: 'Every error, carrying the id of the client message that caused it when it had one.',
      payload: errorPayloadSchema(),
      correlated: true
    },
    {
      name: '__auth_expiring__',
      direction: 'out',
      summary: 'The token expires soon.',
      description: `Sent once, tokenRefreshWindow (${session.tokenRefreshWindow} s) before the token expires; send __refresh_auth__ to keep the connection.`,
      payload: obj({ expires_at: num(`Token expiry, ${EPOCH_MS}.`), seconds_left: num('Seconds until expiry.') })
    },
    {
      name: '__refresh_auth__',
      direction: 'in',
      summary: 'Replace the token of this connection.',
      description: 'Verified by the auth backend: on success the identity is replaced and __auth_refreshed__ is sent; on failure an AUTH_ERROR is sent and the connection stays open.',
      payload: obj({ token: { type: 'string', description: 'The new token.' } }),
      correlated: true
    },
    {
      name: '__auth_refreshed__',
      direction: 'out',
      summary: 'The token was replaced.',
      description: 'Answers a successful __refresh_auth__.',
      payload: obj({ expires_at: { anyOf: [{ type: 'number' }, { type: 'null' }], description: `New token expiry, ${EPOCH_MS}; null when it does not expire.` } }),
      correlated: true
    },
    {
      name: '__session_expiring__',
      direction: 'out',
      summary: 'The session ends soon.',
      description: 'Sent once, min(60 s, 10 % of maxDuration) before maxDuration; the connection is then closed 4004.',
      payload: obj({ expires_at: num(`Session end, ${EPOCH_MS}.`), seconds_left: num('Seconds until the session ends.') })
    },
    {
      name: '__idle_warning__',
      direction: 'out',
      summary: 'The connection is about to be closed for inactivity.',
      description: 'Sent once, min(30 s, 10 % of idleTimeout) before the idle close (4005). Any application event resets the timer.',
      payload: obj({ seconds_left: num('Seconds until the idle close.') })
    },
    {
      name: '__server_shutdown__',
      direction: 'out',
      summary: 'The server is shutting down.',
      description: 'Sent when the server starts closing; reconnect after retry_after_ms.',
      payload: obj({ retry_after_ms: { type: 'integer', description: 'Milliseconds to wait before reconnecting.' } })
    }
  ]
}

/** A JSON copy without TypeBox's symbol keys or undefined values. */
function plain (schema: TSchema | undefined): Json {
  return schema === undefined ? {} : JSON.parse(JSON.stringify(schema))
}

function envelope (event: string, payload: Json, direction: 'in' | 'out', withId: boolean): Json {
  const properties: Record<string, Json> = {
    event: { type: 'string', const: event, description: 'Event name.' },
    payload: Object.keys(payload).length === 0 ? { description: 'Any JSON value.' } : payload
  }
  if (withId) {
    properties.id = {
      type: 'string',
      maxLength: 64,
      description: direction === 'in'
        ? 'Optional client-chosen id; the reply and any __error__ carry it back.'
        : 'The id of the client message this answers, when it had one.'
    }
  }
  return {
    type: 'object',
    properties,
    required: direction === 'in' ? ['event'] : ['event', 'payload']
  }
}

/** Component keys allow only [A-Za-z0-9_.-]; keep them unique. */
function idFactory () {
  const used = new Set<string>()
  return (name: string, suffix = ''): string => {
    const base = (name.replace(/[^A-Za-z0-9_.-]/g, '_') || 'event') + suffix
    let id = base
    for (let i = 2; used.has(id); i++) id = `${base}_${i}`
    used.add(id)
    return id
  }
}

const tagList = (tags: string[]): Json[] => tags.map((name) => ({ name }))

function collectOutbound (events: EventDefinition[]): Map<string, Outbound> {
  const out = new Map<string, Outbound>()
  const add = (event: string, kind: 'emit' | 'broadcast' | 'reply', from: string, schema?: TSchema, description?: string, room?: string) => {
    let o = out.get(event)
    if (o === undefined) {
      o = { event, rooms: [], kinds: new Set(), triggeredBy: [] }
      out.set(event, o)
    }
    o.schema ??= schema
    o.description ??= description
    o.kinds.add(kind)
    if (room !== undefined && !o.rooms.includes(room)) o.rooms.push(room)
    if (!o.triggeredBy.includes(from)) o.triggeredBy.push(from)
  }
  for (const ev of events) {
    for (const e of ev.emits) add(e.event, 'emit', ev.name, e.schema, e.description)
    for (const b of ev.broadcasts) add(b.event, 'broadcast', ev.name, b.schema, b.description, b.room)
    if (ev.reply !== undefined) add(ev.reply.event, 'reply', ev.name, ev.reply.schema, ev.reply.description)
  }
  return out
}

const roomExtension = (rooms: string[]): string | string[] | undefined =>
  rooms.length === 0 ? undefined : rooms.length === 1 ? rooms[0] : rooms

/** Drop undefined values so the document stays plain JSON with a stable shape. */
function compact (o: Json): Json {
  for (const k of Object.keys(o)) if (o[k] === undefined) delete o[k]
  return o
}

/**
 * Build the AsyncAPI 3.0.0 document of one socketspec namespace.
 * Deterministic: events keep their registration order, system events come last.
 *
 * @example
 * const doc = buildAsyncApi({ path: '/ws', namespace: '/', events, rooms: [], roomGuards: [], session, maxPayloadSize: 65536 })
 */
export function buildAsyncApi (input: AsyncApiInput): Record<string, unknown> {
  const channelId = idFactory()(input.namespace === '/' ? 'root' : input.namespace.replace(/^\/+/, ''))
  const channelRef = { $ref: `#/channels/${channelId}` }
  const msgRef = (id: string) => ({ $ref: `#/channels/${channelId}/messages/${id}` })
  const newId = idFactory()
  const messages: Record<string, Json> = {}
  const channelMessages: Record<string, Json> = {}
  const operations: Record<string, Json> = {}
  const opId = idFactory()

  const security = input.auth === undefined
    ? undefined
    : [{ $ref: '#/components/securitySchemes/bearer' }, { $ref: '#/components/securitySchemes/queryToken' }]

  const addMessage = (id: string, message: Json) => {
    messages[id] = compact(message)
    channelMessages[id] = { $ref: `#/components/messages/${id}` }
  }

  const outbound = collectOutbound(input.events)
  const inboundIds = new Map<string, string>()
  for (const ev of input.events) inboundIds.set(ev.name, newId(ev.name))
  const outboundIds = new Map<string, string>()
  for (const o of outbound.values()) outboundIds.set(o.event, newId(o.event, inboundIds.has(o.event) ? '_out' : ''))
  const system = systemEvents(input.session)
  const systemIds = new Map<string, string>()
  for (const s of system) systemIds.set(s.name, newId(s.name))
  const errorRef = msgRef(systemIds.get('__error__') as string)

  for (const ev of input.events) {
    const id = inboundIds.get(ev.name) as string
    addMessage(id, {
      name: ev.name,
      title: ev.name,
      summary: ev.summary,
      description: ev.description,
      tags: ev.tags.length > 0 ? tagList(ev.tags) : undefined,
      deprecated: ev.deprecated ? true : undefined,
      payload: envelope(ev.name, plain(ev.payload), 'in', true),
      correlationId: CORRELATION_REF,
      'x-socketspec-direction': 'client-to-server'
    })
  }
  for (const o of outbound.values()) {
    const id = outboundIds.get(o.event) as string
    const replied = o.kinds.has('reply')
    addMessage(id, {
      name: o.event,
      title: o.event,
      description: o.description,
      payload: envelope(o.event, plain(o.schema), 'out', replied),
      correlationId: replied ? CORRELATION_REF : undefined,
      'x-socketspec-direction': 'server-to-client',
      'x-socketspec-room': roomExtension(o.rooms)
    })
  }
  for (const s of system) {
    addMessage(systemIds.get(s.name) as string, {
      name: s.name,
      title: s.name,
      summary: s.summary,
      description: s.description,
      payload: envelope(s.name, s.payload, s.direction, s.correlated === true || s.direction === 'in'),
      correlationId: s.correlated === true ? CORRELATION_REF : undefined,
      'x-socketspec-direction': s.direction === 'in' ? 'client-to-server' : 'server-to-client',
      'x-socketspec-system': true,
      'x-socketspec-error-codes': s.name === '__error__' ? errorCodes() : undefined
    })
  }

  for (const ev of input.events) {
    const ref = msgRef(inboundIds.get(ev.name) as string)
    const outRef = (event: string) => msgRef(outboundIds.get(event) as string)
    operations[opId(`receive_${inboundIds.get(ev.name)}`)] = compact({
      action: 'receive',
      channel: channelRef,
      messages: [ref],
      title: ev.name,
      summary: ev.summary ?? ev.description,
      description: ev.description,
      tags: ev.tags.length > 0 ? tagList(ev.tags) : undefined,
      security,
      reply: ev.reply === undefined ? undefined : { channel: channelRef, messages: [outRef(ev.reply.event), errorRef] },
      'x-deprecated': ev.deprecated ? true : undefined,
      'x-socketspec-ordered': ev.ordered,
      'x-socketspec-rate-limit': ev.rateLimit === undefined ? undefined : { rate: ev.rateLimit.rate, capacity: ev.rateLimit.capacity },
      'x-socketspec-deps': ev.deps === undefined || Object.keys(ev.deps).length === 0 ? undefined : Object.keys(ev.deps),
      'x-socketspec-emits': ev.emits.length === 0
        ? undefined
        : ev.emits.map((e) => compact({ event: e.event, description: e.description, message: outRef(e.event) })),
      'x-socketspec-broadcasts': ev.broadcasts.length === 0
        ? undefined
        : ev.broadcasts.map((b) => compact({ event: b.event, room: b.room, description: b.description, message: outRef(b.event) })),
      'x-socketspec-reply': ev.reply === undefined
        ? undefined
        : compact({ event: ev.reply.event, description: ev.reply.description, message: outRef(ev.reply.event) })
    })
  }
  for (const o of outbound.values()) {
    if (!o.kinds.has('emit') && !o.kinds.has('broadcast')) continue
    const kinds = [...o.kinds].filter((k) => k !== 'reply')
    operations[opId(`send_${outboundIds.get(o.event)}`)] = compact({
      action: 'send',
      channel: channelRef,
      messages: [msgRef(outboundIds.get(o.event) as string)],
      title: o.event,
      summary: o.description ?? `${kinds.join(' / ')} triggered by ${o.triggeredBy.join(', ')}`,
      security,
      'x-socketspec-room': roomExtension(o.rooms),
      'x-socketspec-kind': kinds,
      'x-socketspec-triggered-by': o.triggeredBy
    })
  }
  for (const s of system) {
    const ref = msgRef(systemIds.get(s.name) as string)
    const reply = s.name === '__refresh_auth__'
      ? { channel: channelRef, messages: [msgRef(systemIds.get('__auth_refreshed__') as string), errorRef] }
      : undefined
    operations[opId(`${s.direction === 'in' ? 'receive' : 'send'}_${systemIds.get(s.name)}`)] = compact({
      action: s.direction === 'in' ? 'receive' : 'send',
      channel: channelRef,
      messages: [ref],
      title: s.name,
      summary: s.summary,
      description: s.description,
      security,
      reply,
      'x-socketspec-system': true
    })
  }

  const allTags: string[] = []
  for (const ev of input.events) for (const tag of ev.tags) if (!allTags.includes(tag)) allTags.push(tag)

  const components: Json = {
    messages,
    correlationIds: {
      requestId: {
        location: '$message.payload#/id',
        description: 'The optional client-chosen `id` of the envelope (at most 64 characters); replies and errors carry it back.'
      }
    }
  }
  if (input.auth !== undefined) {
    components.securitySchemes = {
      bearer: compact({
        type: 'http',
        scheme: 'bearer',
        bearerFormat: input.auth.kind === 'jwt' ? 'JWT' : undefined,
        description: 'Token in the `Authorization: Bearer <token>` header of the upgrade request, or, from browsers, in the `Sec-WebSocket-Protocol` entry `bearer.<token>` (the server then selects the `socketspec` subprotocol).'
      }),
      queryToken: {
        type: 'httpApiKey',
        in: 'query',
        name: 'token',
        description: 'Token in the `token` query parameter of the WebSocket URL (never logged).'
      }
    }
  }

  return {
    asyncapi: '3.0.0',
    info: compact({
      title: input.title ?? 'socketspec API',
      version: input.version ?? '1.0.0',
      description: input.description,
      tags: allTags.length > 0 ? tagList(allTags) : undefined,
      'x-socketspec-auth': input.auth === undefined ? undefined : (input.auth.kind ?? 'custom')
    }),
    defaultContentType: 'application/json',
    channels: {
      [channelId]: compact({
        address: input.path,
        title: `WebSocket ${input.path}`,
        description: channelDescription(input),
        messages: channelMessages,
        'x-socketspec-namespace': input.namespace,
        'x-socketspec-max-payload-size': input.maxPayloadSize,
        'x-socketspec-rate-limit': input.rateLimit === undefined ? undefined : { rate: input.rateLimit.rate, capacity: input.rateLimit.capacity },
        'x-socketspec-session': {
          maxDuration: input.session.maxDuration,
          idleTimeout: input.session.idleTimeout,
          heartbeatInterval: input.session.heartbeatInterval,
          heartbeatTimeout: input.session.heartbeatTimeout,
          tokenRefreshWindow: input.session.tokenRefreshWindow
        },
        'x-socketspec-rooms': input.rooms.map((r) => compact({ name: r.name, description: r.description })),
        'x-socketspec-room-guards': [...input.roomGuards]
      })
    },
    operations,
    components
  }
}

function errorCodes (): Json {
  const codes: Json = {}
  for (const code of Object.keys(WIRE_ERRORS).sort()) {
    const e = WIRE_ERRORS[code as keyof typeof WIRE_ERRORS]
    codes[code] = compact({ message: e.message, description: e.description, close: e.close })
  }
  return codes
}

function channelDescription (input: AsyncApiInput): string {
  const lines = [
    'JSON text frames. Client → server: `{"event": "<name>", "payload": <JSON>, "id": "<optional, ≤ 64 chars>"}`; ' +
      'server → client: `{"event": "<name>", "payload": <JSON>, "id": "<id of the client message it answers>"}`.',
    `Frames larger than ${input.maxPayloadSize} bytes are refused with PAYLOAD_TOO_LARGE. Timestamps (\`ts\`, \`*_at\`) are ${EPOCH_MS}.`
  ]
  if (input.rateLimit !== undefined) {
    lines.push(`Rate limit per connection: ${input.rateLimit.rate} events/s, burst ${input.rateLimit.capacity}.`)
  }
  return lines.join('\n\n')
}
