import type { SchemaLike } from './schema-types.js'
import { InboundEnvelope, OutboundEnvelope, SystemEvents, type SystemEventName, type SystemEventSpec } from '../schemas/protocol.js'
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

interface Outbound {
  event: string
  schema?: SchemaLike
  description?: string
  rooms: string[]
  kinds: Set<'emit' | 'broadcast' | 'reply'>
  triggeredBy: string[]
}

const EPOCH_MS = 'Unix epoch milliseconds'
const CORRELATION_REF = { $ref: '#/components/correlationIds/requestId' }

/** The system event table, in its order. */
const SYSTEM = Object.entries(SystemEvents) as Array<[SystemEventName, SystemEventSpec]>

const seconds = (s: number): string => `${+s.toFixed(3)} s`
const warnedBefore = (limit: number, cap: number): string => seconds(Math.min(cap, limit / 10))

/** What this server's session settings make of a system event, appended to its description. */
const SESSION_NOTES: Partial<Record<SystemEventName, (s: Required<SessionConfig>) => string>> = {
  __connect__: (s) => `heartbeatInterval ${seconds(s.heartbeatInterval)}, maxDuration ${s.maxDuration > 0 ? seconds(s.maxDuration) : 'none'}`,
  __ping__: (s) => `heartbeatInterval ${seconds(s.heartbeatInterval)}, heartbeatTimeout ${seconds(s.heartbeatTimeout)}`,
  __auth_expiring__: (s) => `tokenRefreshWindow ${seconds(s.tokenRefreshWindow)}`,
  __session_expiring__: (s) => s.maxDuration > 0
    ? `maxDuration ${seconds(s.maxDuration)}, so sent ${warnedBefore(s.maxDuration, 60)} before the end`
    : 'no maxDuration, never sent',
  __idle_warning__: (s) => s.idleTimeout > 0
    ? `idleTimeout ${seconds(s.idleTimeout)}, so sent ${warnedBefore(s.idleTimeout, 30)} before the idle close`
    : 'no idleTimeout, never sent'
}

function systemDescription (name: SystemEventName, spec: SystemEventSpec, session: Required<SessionConfig>): string {
  const note = SESSION_NOTES[name]
  return note === undefined ? spec.description : `${spec.description} (This server: ${note(session)}.)`
}

/** The table's payload schema as plain JSON; `__error__` also lists the wire codes as an enum. */
function systemPayload (name: SystemEventName, spec: SystemEventSpec): Json {
  const payload = plain(spec.payload)
  if (name === '__error__') {
    const properties = payload.properties as Record<string, Json>
    properties.code = {
      description: properties.code.description,
      anyOf: [
        { title: 'WireErrorCode', type: 'string', enum: Object.keys(WIRE_ERRORS).sort(), description: 'Wire error codes.' },
        { type: 'string', description: 'Application-defined code (SocketError).' }
      ]
    }
  }
  return payload
}

/** A JSON copy without TypeBox's symbol keys or undefined values. */
function plain (schema: SchemaLike | undefined): Json {
  return schema === undefined ? {} : JSON.parse(JSON.stringify(schema))
}

/** The frame of one event: the protocol's envelope with `event` fixed and the event's payload schema. */
function envelope (event: string, payload: Json, direction: 'in' | 'out', withId: boolean, title: string): Json {
  const table = direction === 'in' ? InboundEnvelope : OutboundEnvelope
  const properties: Record<string, Json> = {
    event: { type: 'string', const: event, description: table.properties.event.description },
    payload: Object.keys(payload).length === 0 ? { description: 'Any JSON value.' } : payload
  }
  if (withId) properties.id = plain(table.properties.id)
  return { title, description: table.description, type: 'object', properties, required: [...(table.required ?? [])] }
}

/** `echo_response` → `EchoResponse`; a usable type name for any event name. */
function pascal (name: string): string {
  const s = name.split(/[^A-Za-z0-9]+/).filter((w) => w !== '').map((w) => w[0].toUpperCase() + w.slice(1)).join('')
  return s === '' || /^[0-9]/.test(s) ? `Event${s}` : s
}

const TITLE_SUFFIXES = ['Message', 'Envelope', 'Payload'] as const

/**
 * Titles of messages and schemas (SPEC §4), unique within the document: event `echo` gets the
 * message `EchoMessage`, the envelope `EchoEnvelope` and the payload `EchoPayload`. A title the app
 * gave its own payload schema is kept unless another schema already has it.
 */
function titleFactory () {
  /** title → JSON of the app schema carrying it; '' for generated titles, which are never shared. */
  const used = new Map<string, string>()
  const free = (base: string) => TITLE_SUFFIXES.every((suffix) => !used.has(base + suffix))
  return {
    /** Claim an app-given title for this schema: false when a different schema has it. */
    claim (title: string, json: string): boolean {
      const owner = used.get(title)
      if (owner === undefined) used.set(title, json)
      return owner === undefined || owner === json
    },
    /** A fresh base: `Echo`, else `EchoOut` (outbound), `Echo2`, `Echo3`… */
    base (candidate: string, outbound = false): string {
      let base = outbound && !free(candidate) ? `${candidate}Out` : candidate
      for (let i = 2; !free(base); i++) base = `${candidate}${i}`
      for (const suffix of TITLE_SUFFIXES) used.set(base + suffix, '')
      return base
    }
  }
}

/** The schema as plain JSON with this title; a missing schema (any JSON value) stays untitled. */
function titled (schema: SchemaLike | undefined, title: string): Json {
  const json = plain(schema)
  return Object.keys(json).length === 0 ? json : { ...json, title }
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
  const add = (event: string, kind: 'emit' | 'broadcast' | 'reply', from: string, schema?: SchemaLike, description?: string, room?: string) => {
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
  const systemIds = new Map<SystemEventName, string>()
  for (const [name] of SYSTEM) systemIds.set(name, newId(name))
  const errorRef = msgRef(systemIds.get('__error__') as string)

  // Titles: the protocol table's first (its payload titles are fixed), then the app's own, then generated ones.
  const titles = titleFactory()
  const systemBases = new Map<SystemEventName, string>()
  for (const [name, spec] of SYSTEM) systemBases.set(name, titles.base((spec.payload.title ?? pascal(name)).replace(/Payload$/, '')))
  const ownTitles = new Map<SchemaLike, string>()
  const claimOwn = (schema: SchemaLike | undefined) => {
    const title = (schema as { title?: unknown } | undefined)?.title
    if (schema === undefined || typeof title !== 'string' || ownTitles.has(schema)) return
    if (titles.claim(title, JSON.stringify(plain(schema)))) ownTitles.set(schema, title)
  }
  for (const ev of input.events) claimOwn(ev.payload)
  for (const o of outbound.values()) claimOwn(o.schema)
  const payloadTitle = (schema: SchemaLike | undefined, base: string) =>
    (schema === undefined ? undefined : ownTitles.get(schema)) ?? `${base}Payload`

  for (const ev of input.events) {
    const id = inboundIds.get(ev.name) as string
    const base = titles.base(pascal(ev.name))
    addMessage(id, {
      name: ev.name,
      title: `${base}Message`,
      summary: ev.summary,
      description: ev.description,
      tags: ev.tags.length > 0 ? tagList(ev.tags) : undefined,
      deprecated: ev.deprecated ? true : undefined,
      payload: envelope(ev.name, titled(ev.payload, payloadTitle(ev.payload, base)), 'in', true, `${base}Envelope`),
      correlationId: CORRELATION_REF,
      'x-socketspec-direction': 'client-to-server'
    })
  }
  for (const o of outbound.values()) {
    const id = outboundIds.get(o.event) as string
    const replied = o.kinds.has('reply')
    const base = titles.base(pascal(o.event), true)
    addMessage(id, {
      name: o.event,
      title: `${base}Message`,
      description: o.description,
      payload: envelope(o.event, titled(o.schema, payloadTitle(o.schema, base)), 'out', replied, `${base}Envelope`),
      correlationId: replied ? CORRELATION_REF : undefined,
      'x-socketspec-direction': 'server-to-client',
      'x-socketspec-room': roomExtension(o.rooms)
    })
  }
  for (const [name, spec] of SYSTEM) {
    const base = systemBases.get(name) as string
    addMessage(systemIds.get(name) as string, {
      name,
      title: `${base}Message`,
      summary: spec.summary,
      description: systemDescription(name, spec, input.session),
      payload: envelope(name, systemPayload(name, spec), spec.direction, spec.correlated === true || spec.direction === 'in', `${base}Envelope`),
      correlationId: spec.correlated === true ? CORRELATION_REF : undefined,
      'x-socketspec-direction': spec.direction === 'in' ? 'client-to-server' : 'server-to-client',
      'x-socketspec-system': true,
      'x-socketspec-error-codes': name === '__error__' ? errorCodes() : undefined
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
  for (const [name, spec] of SYSTEM) {
    const reply = spec.reply === undefined
      ? undefined
      : { channel: channelRef, messages: [msgRef(systemIds.get(spec.reply as SystemEventName) as string), errorRef] }
    const action = spec.direction === 'in' ? 'receive' : 'send'
    operations[opId(`${action}_${systemIds.get(name)}`)] = compact({
      action,
      channel: channelRef,
      messages: [msgRef(systemIds.get(name) as string)],
      title: name,
      summary: spec.summary,
      description: systemDescription(name, spec, input.session),
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
