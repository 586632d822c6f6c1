import fastJson from 'fast-json-stringify'
import { Ajv, type ValidateFunction } from 'ajv'
import addFormats from 'ajv-formats'
import { checkSchema } from './schema-check.js'
import type { TSchema } from '@sinclair/typebox'
import { FST_SOCKETSPEC_CONFLICTING_SCHEMA, FST_SOCKETSPEC_INVALID_SCHEMA, outboundValidationError, type ValidationIssue } from './errors.js'
import { SystemEvents, isReservedName, type OutboundSystemEventName, type SystemPayload } from '../schemas/protocol.js'

type PayloadSerializer = (payload: unknown) => string

interface OutboundEntry {
  /** `{"event":"<name>","payload":` — computed once. */
  prefix: string
  /** Undefined for events declared without a schema. */
  serialize: PayloadSerializer | undefined
  validate: ValidateFunction | undefined
  schemaKey: string
}

/** Plain JSON Schema copy of a TypeBox schema (drops symbol keys such as [Kind]). */
export function plainSchema (schema: TSchema): Record<string, unknown> {
  return JSON.parse(JSON.stringify(schema))
}

/** Ajv for the server's own outbound payloads: never mutates them (no defaults, no coercion). */
function createOutboundAjv (): Ajv {
  // schemas are checked against the meta-schema by checkSchema (one checker per process)
  const ajv = new Ajv({ allErrors: false, useDefaults: false, coerceTypes: false, strict: false, validateSchema: false })
  ;(addFormats as unknown as (a: Ajv) => void)(ajv)
  return ajv
}

/** Turn Ajv errors into the wire's `[{path, message, keyword}]`. */
export function toIssues (validate: ValidateFunction): ValidationIssue[] {
  const errors = validate.errors ?? []
  const out: ValidationIssue[] = []
  for (const e of errors) {
    let path = e.instancePath
    const params = e.params as Record<string, unknown>
    if (e.keyword === 'required' && typeof params.missingProperty === 'string') {
      path += '/' + params.missingProperty
    } else if (e.keyword === 'additionalProperties' && typeof params.additionalProperty === 'string') {
      path += '/' + params.additionalProperty
    }
    out.push({ path: path === '' ? '/' : path, message: e.message ?? 'is invalid', keyword: e.keyword })
  }
  return out
}

/** Most undeclared event names remembered for the once-per-name warning. */
const MAX_WARNED = 1000

/** Options of a FrameSerializer. */
export interface FrameSerializerOptions {
  /** Check payloads of declared events against their schema before serializing them (`outboundValidation: 'always'`). Default true. */
  validate?: boolean
  /** Called once per event name sent without being declared in any emits/broadcasts/reply. */
  onUndeclared?: (event: string) => void
}

type SystemSerializers = Record<OutboundSystemEventName, { prefix: string, serialize: PayloadSerializer }>
let systemSerializers: SystemSerializers | null = null

/**
 * Serializers and validators of declared outbound schemas compiled in this
 * process, by schema object: like the inbound validators (validatorFor in
 * registry.ts), an app that declares a schema object another app (or
 * namespace) of this process declared compiles nothing for it. Weak: they go
 * with their schema.
 */
const compiledOutbound = new WeakMap<object, { serialize: PayloadSerializer, validate: ValidateFunction }>()

/** Compiled serializers of the server → client system events, from the protocol table (compiled once per process). */
function system (): SystemSerializers {
  if (systemSerializers !== null) return systemSerializers
  const out: Record<string, { prefix: string, serialize: PayloadSerializer }> = {}
  for (const [name, spec] of Object.entries(SystemEvents)) {
    if (spec.direction !== 'out') continue
    out[name] = { prefix: '{"event":' + JSON.stringify(name) + ',"payload":', serialize: fastJson(plainSchema(spec.payload) as any) as PayloadSerializer }
  }
  systemSerializers = out as SystemSerializers
  return systemSerializers
}

/**
 * Builds wire frames. Outbound events declared with a schema get a compiled
 * Ajv validator and a fast-json-stringify serializer, both made once at
 * ready; a payload that breaks its schema throws OUTBOUND_VALIDATION_ERROR
 * (nothing is sent). Other events go through JSON.stringify. The envelope is
 * assembled by string concatenation, so a frame is serialized exactly once
 * however many clients receive it.
 */
export class FrameSerializer {
  private readonly outbound = new Map<string, OutboundEntry>()
  /** Made on first use: only a schema new to this process needs one. */
  private ajv: Ajv | null = null
  private readonly validating: boolean
  private readonly onUndeclared: ((event: string) => void) | undefined
  private readonly warned = new Set<string>()

  constructor (options: FrameSerializerOptions = {}) {
    this.validating = options.validate !== false
    this.onUndeclared = options.onUndeclared
  }

  /** Declare an outbound event and its payload schema, if any (called at ready for every emits/broadcasts/reply entry). */
  declare (event: string, schema: TSchema | undefined, owner: string): void {
    const schemaKey = schema === undefined ? '' : JSON.stringify(schema)
    const existing = this.outbound.get(event)
    if (existing !== undefined) {
      if (schemaKey === '') return
      if (existing.schemaKey === '') {
        this.outbound.delete(event)
      } else {
        if (existing.schemaKey !== schemaKey) throw new FST_SOCKETSPEC_CONFLICTING_SCHEMA(event)
        return
      }
    }
    const prefix = '{"event":' + JSON.stringify(event) + ',"payload":'
    if (schema === undefined) {
      this.outbound.set(event, { prefix, serialize: undefined, validate: undefined, schemaKey })
      return
    }
    let compiled = compiledOutbound.get(schema)
    if (compiled === undefined) {
      try {
        const plain = plainSchema(schema)
        checkSchema(plain)
        compiled = { serialize: fastJson(plain as any) as PayloadSerializer, validate: (this.ajv ??= createOutboundAjv()).compile(plain) }
      } catch (err) {
        throw new FST_SOCKETSPEC_INVALID_SCHEMA(owner, `outbound '${event}': ${(err as Error).message}`)
      }
      compiledOutbound.set(schema, compiled)
    }
    this.outbound.set(event, { prefix, serialize: compiled.serialize, validate: compiled.validate, schemaKey })
  }

  /** True when `event` has a compiled serializer. */
  has (event: string): boolean {
    return this.outbound.get(event)?.serialize !== undefined
  }

  /**
   * Serialize a complete frame `{event, payload, id?}`. Throws SocketError
   * OUTBOUND_VALIDATION_ERROR when the payload breaks the event's declared schema.
   */
  frame (event: string, payload: unknown, id?: string): string {
    if (payload === undefined) payload = {}
    const entry = this.outbound.get(event)
    if (entry === undefined) {
      if (this.onUndeclared !== undefined && !this.warned.has(event) && this.warned.size < MAX_WARNED && !isReservedName(event)) {
        this.warned.add(event)
        this.onUndeclared(event)
      }
    } else if (entry.serialize !== undefined) {
      const validate = entry.validate!
      if (this.validating && !validate(payload)) throw outboundValidationError(event, toIssues(validate))
      let body: string | undefined
      if (payload !== null) {
        try {
          body = entry.serialize(payload)
        } catch {
          // outboundValidation 'never' and a payload fast-json-stringify cannot
          // handle: plain JSON rather than dropping the message.
        }
      }
      if (body !== undefined) {
        return id === undefined
          ? entry.prefix + body + '}'
          : entry.prefix + body + ',"id":' + JSON.stringify(id) + '}'
      }
    }
    return JSON.stringify(id === undefined ? { event, payload } : { event, payload, id })
  }

  /**
   * Check `payload` against the event's declared schema whatever
   * `outboundValidation` says: for payloads that come from outside the app
   * (the publish API, the admin view), which are input, not the app's own
   * output. Throws OUTBOUND_VALIDATION_ERROR; an undeclared event passes.
   */
  check (event: string, payload: unknown): void {
    const validate = this.outbound.get(event)?.validate
    if (validate !== undefined && !validate(payload === undefined ? {} : payload)) throw outboundValidationError(event, toIssues(validate))
  }

  /** Serialize a server → client system event with its compiled serializer (SPEC §2 table in schemas/protocol.ts). */
  system<N extends OutboundSystemEventName> (event: N, payload: SystemPayload<N>, id?: string): string {
    const s = system()[event]
    return id === undefined
      ? s.prefix + s.serialize(payload) + '}'
      : s.prefix + s.serialize(payload) + ',"id":' + JSON.stringify(id) + '}'
  }
}
