import fastJson from 'fast-json-stringify'
import type { TSchema } from '@sinclair/typebox'
import { FST_SOCKETSPEC_CONFLICTING_SCHEMA, FST_SOCKETSPEC_INVALID_SCHEMA } from './errors.js'

type PayloadSerializer = (payload: unknown) => string

interface OutboundEntry {
  /** `{"event":"<name>","payload":` — computed once. */
  prefix: string
  serialize: PayloadSerializer
  schemaKey: string
}

/** Plain JSON Schema copy of a TypeBox schema (drops symbol keys such as [Kind]). */
export function plainSchema (schema: TSchema): Record<string, unknown> {
  return JSON.parse(JSON.stringify(schema))
}

/**
 * Builds wire frames. Outbound events declared with a schema get a
 * fast-json-stringify serializer compiled once at ready; everything else goes
 * through JSON.stringify. The envelope is assembled by string concatenation so
 * a frame is serialized exactly once however many clients receive it.
 */
export class FrameSerializer {
  private readonly outbound = new Map<string, OutboundEntry>()

  /** Declare an outbound event's payload schema (called at ready for every emits/broadcasts/reply entry). */
  declare (event: string, schema: TSchema, owner: string): void {
    const schemaKey = JSON.stringify(schema)
    const existing = this.outbound.get(event)
    if (existing !== undefined) {
      if (existing.schemaKey !== schemaKey) throw new FST_SOCKETSPEC_CONFLICTING_SCHEMA(event)
      return
    }
    let serialize: PayloadSerializer
    try {
      serialize = fastJson(plainSchema(schema) as any) as PayloadSerializer
    } catch (err) {
      throw new FST_SOCKETSPEC_INVALID_SCHEMA(owner, `outbound '${event}': ${(err as Error).message}`)
    }
    this.outbound.set(event, { prefix: '{"event":' + JSON.stringify(event) + ',"payload":', serialize, schemaKey })
  }

  /** True when `event` has a compiled serializer. */
  has (event: string): boolean {
    return this.outbound.has(event)
  }

  /** Serialize a complete frame `{event, payload, id?}`. */
  frame (event: string, payload: unknown, id?: string): string {
    if (payload === undefined) payload = {}
    const entry = payload === null ? undefined : this.outbound.get(event)
    if (entry !== undefined) {
      let body: string | undefined
      try {
        body = entry.serialize(payload)
      } catch {
        // A payload that does not fit its declared schema: fall back to plain JSON
        // rather than dropping the message.
      }
      if (body !== undefined) {
        return id === undefined
          ? entry.prefix + body + '}'
          : entry.prefix + body + ',"id":' + JSON.stringify(id) + '}'
      }
    }
    return JSON.stringify(id === undefined ? { event, payload } : { event, payload, id })
  }
}
