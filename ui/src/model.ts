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
  let errorCodes: ErrorCodeInfo[] = []
  for (const op of Object.values<Json>(doc.operations ?? {})) {
    const msg = message(op.messages?.[0])
    if (msg === undefined) continue
    const name: string = msg.name ?? op.title ?? 'event'
    let reply: OutboundInfo | undefined
    if (op['x-socketspec-reply'] !== undefined) reply = outbound(op['x-socketspec-reply'])
    else if (Array.isArray(op.reply?.messages)) {
      const r = op.reply.messages.map(message).find((m: Json | undefined) => m !== undefined && m.name !== '__error__')
      if (r !== undefined) reply = { event: r.name, description: r.description, schema: payloadOf(r, resolve) }
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
