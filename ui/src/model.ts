import { makeResolver, type Resolver, type Schema } from './schema.js'

export interface OutboundInfo {
  event: string
  description?: string
  room?: string
  schema?: Schema
}

export interface EventInfo {
  name: string
  /** 'in': the client sends it; 'out': the server sends it. */
  direction: 'in' | 'out'
  summary?: string
  description?: string
  tags: string[]
  deprecated: boolean
  system: boolean
  payload?: Schema
  ordered: boolean
  rateLimit?: { rate: number, capacity: number }
  deps: string[]
  emits: OutboundInfo[]
  broadcasts: OutboundInfo[]
  reply?: OutboundInfo
}

export type OutboundKind = 'emit' | 'broadcast' | 'reply'

/** A server → client event an app event declares (`emits`, `broadcasts`, `reply`): it gets a card of its own. */
export interface ServerEventInfo {
  name: string
  /** How the document declares it, in this order: emit, broadcast, reply. */
  kinds: OutboundKind[]
  summary?: string
  description?: string
  /** Broadcast room patterns, e.g. `{room}`. */
  rooms: string[]
  /** The client events that cause it. */
  triggeredBy: string[]
  schema?: Schema
}

export interface ErrorCodeInfo { code: string, message?: string, description?: string, close?: number }

export interface ApiModel {
  title: string
  version: string
  description?: string
  address: string
  namespace?: string
  auth?: string
  tagDescriptions: Record<string, string>
  events: EventInfo[]
  /** Server → client events of the app (not the protocol's system events). */
  serverEvents: ServerEventInfo[]
  systemEvents: EventInfo[]
  errorCodes: ErrorCodeInfo[]
  rateLimit?: { rate: number, capacity: number }
  resolve: Resolver
}

type Json = Record<string, any>

/** The application payload schema inside an envelope message (`properties.payload`). */
function payloadOf (message: Json | undefined, resolve: Resolver): Schema | undefined {
  const envelope = resolve(message?.payload)
  const inner = envelope?.properties?.payload
  if (inner === undefined) return envelope
  const resolved = resolve(inner)
  return resolved === undefined || Object.keys(resolved).filter((k) => k !== 'description').length === 0 ? undefined : resolved
}

const KIND_ORDER: OutboundKind[] = ['emit', 'broadcast', 'reply']
const strings = (v: unknown): string[] => typeof v === 'string' ? [v] : Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []

const tagNames = (tags: unknown): string[] => Array.isArray(tags) ? tags.map((t: any) => t?.name).filter((n) => typeof n === 'string') : []

/** Turns the AsyncAPI 3 document served next to the page into what the UI renders. */
export function buildModel (doc: Json): ApiModel {
  const resolve = makeResolver(doc)
  const channels: Json = doc.channels ?? {}
  const channel: Json = resolve(Object.values(channels)[0]) ?? {}
  const message = (ref: Json | undefined): Json | undefined => resolve(ref)
  const outbound = (entry: Json): OutboundInfo => {
    const msg = message(entry.message)
    return { event: entry.event ?? msg?.name, description: entry.description ?? msg?.description, room: entry.room, schema: payloadOf(msg, resolve) }
  }

  const events: EventInfo[] = []
  const systemEvents: EventInfo[] = []
  const serverEvents = new Map<string, ServerEventInfo>()
  /** Merges what one place of the document says about a server → client event into its card. */
  const serverEvent = (name: unknown, msg: Json | undefined, kinds: string[], from: string[], rooms: string[], summary?: string) => {
    if (typeof name !== 'string' || name === '__error__') return
    let info = serverEvents.get(name)
    if (info === undefined) serverEvents.set(name, info = { name, kinds: [], rooms: [], triggeredBy: [] })
    info.summary ??= summary
    info.description ??= msg?.description
    info.schema ??= payloadOf(msg, resolve)
    for (const k of kinds as OutboundKind[]) if (KIND_ORDER.includes(k) && !info.kinds.includes(k)) info.kinds.push(k)
    info.kinds.sort((a, b) => KIND_ORDER.indexOf(a) - KIND_ORDER.indexOf(b))
    for (const r of [...rooms, ...strings(msg?.['x-socketspec-room'])]) if (!info.rooms.includes(r)) info.rooms.push(r)
    for (const f of from) if (!info.triggeredBy.includes(f)) info.triggeredBy.push(f)
  }
  let errorCodes: ErrorCodeInfo[] = []
  for (const op of Object.values<Json>(doc.operations ?? {})) {
    const msg = message(op.messages?.[0])
    if (msg === undefined) continue
    const name: string = msg.name ?? op.title ?? 'event'
    let reply: OutboundInfo | undefined
    let replyMessage: Json | undefined
    if (op['x-socketspec-reply'] !== undefined) {
      reply = outbound(op['x-socketspec-reply'])
      replyMessage = message(op['x-socketspec-reply'].message)
    } else if (Array.isArray(op.reply?.messages)) {
      replyMessage = op.reply.messages.map(message).find((m: Json | undefined) => m !== undefined && m.name !== '__error__')
      if (replyMessage !== undefined) reply = { event: replyMessage.name, description: replyMessage.description, schema: payloadOf(replyMessage, resolve) }
    }
    const info: EventInfo = {
      name,
      direction: op.action === 'receive' ? 'in' : 'out',
      summary: op.summary ?? msg.summary,
      description: op.description ?? msg.description,
      tags: tagNames(op.tags ?? msg.tags),
      deprecated: msg.deprecated === true || op['x-deprecated'] === true,
      system: op['x-socketspec-system'] === true || msg['x-socketspec-system'] === true,
      payload: payloadOf(msg, resolve),
      ordered: op['x-socketspec-ordered'] === true,
      rateLimit: op['x-socketspec-rate-limit'],
      deps: Array.isArray(op['x-socketspec-deps']) ? op['x-socketspec-deps'] : [],
      emits: (op['x-socketspec-emits'] ?? []).map(outbound),
      broadcasts: (op['x-socketspec-broadcasts'] ?? []).map(outbound),
      reply
    }
    if (!info.system && info.direction === 'out') {
      // A `send` operation of the app: an emitted or broadcast event.
      serverEvent(name, msg, strings(op['x-socketspec-kind']), strings(op['x-socketspec-triggered-by']), strings(op['x-socketspec-room']), op.summary)
    } else if (!info.system) {
      for (const e of op['x-socketspec-emits'] ?? []) serverEvent(e.event ?? message(e.message)?.name, message(e.message), ['emit'], [name], [])
      for (const b of op['x-socketspec-broadcasts'] ?? []) serverEvent(b.event ?? message(b.message)?.name, message(b.message), ['broadcast'], [name], strings(b.room))
      if (reply !== undefined) serverEvent(reply.event, replyMessage, ['reply'], [name], [])
    }
    if (info.system) {
      systemEvents.push(info)
      if (name === '__error__' && msg['x-socketspec-error-codes'] !== undefined) {
        errorCodes = Object.entries<Json>(msg['x-socketspec-error-codes']).map(([code, e]) => ({ code, ...e }))
      }
    } else if (info.direction === 'in') {
      events.push(info)
    }
  }

  const tagDescriptions: Record<string, string> = {}
  for (const tag of doc.info?.tags ?? []) if (typeof tag?.description === 'string') tagDescriptions[tag.name] = tag.description

  return {
    title: doc.info?.title ?? 'AsyncAPI',
    version: doc.info?.version ?? '',
    description: doc.info?.description,
    address: channel.address ?? '/ws',
    namespace: channel['x-socketspec-namespace'],
    auth: doc.info?.['x-socketspec-auth'],
    tagDescriptions,
    events,
    serverEvents: [...serverEvents.values()],
    systemEvents,
    errorCodes,
    rateLimit: channel['x-socketspec-rate-limit'],
    resolve
  }
}

/** Groups events by tag, in order of first appearance; untagged events go to 'default'. */
export function groupByTag (events: EventInfo[]): Array<{ tag: string, events: EventInfo[] }> {
  const groups = new Map<string, EventInfo[]>()
  for (const ev of events) {
    for (const tag of ev.tags.length > 0 ? ev.tags : ['default']) {
      let list = groups.get(tag)
      if (list === undefined) groups.set(tag, list = [])
      list.push(ev)
    }
  }
  return [...groups].map(([tag, list]) => ({ tag, events: list }))
}

/** WebSocket URL for the channel address, relative to the page's origin. */
export function wsUrlFor (address: string, location: { protocol: string, host: string }): string {
  if (/^wss?:\/\//.test(address)) return address
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:'
  return `${scheme}//${location.host}${address.startsWith('/') ? '' : '/'}${address}`
}
