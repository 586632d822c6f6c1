import { Ajv, type ValidateFunction } from 'ajv'
import addFormats from 'ajv-formats'
import type { TSchema } from '@sinclair/typebox'
import {
  FST_SOCKETSPEC_DUPLICATE_EVENT,
  FST_SOCKETSPEC_INVALID_EVENT,
  FST_SOCKETSPEC_INVALID_SCHEMA,
  FST_SOCKETSPEC_RESERVED_EVENT
} from './errors.js'
import { isReservedName } from '../schemas/protocol.js'
import { checkSchema } from './schema-check.js'
import type { FrameSerializer } from './serializer.js'
export { toIssues } from './serializer.js'
export type { ValidationIssue } from './errors.js'
import type { EventDefinition, RateLimitConfig } from './types.js'

/** An event after `ready`: its validator and settings resolved once. */
export interface CompiledEvent {
  readonly def: EventDefinition
  /** Position in the registry; indexes per-connection event buckets. */
  readonly index: number
  readonly validate: ValidateFunction | undefined
  readonly rateLimit: RateLimitConfig | undefined
  readonly depNames: string[]
  readonly depFns: Array<(conn: any, ctx: any) => unknown>
  readonly replyEvent: string | undefined
}

/**
 * A fresh Ajv for untrusted input: first error only (allErrors: false),
 * defaults applied, no coercion. It does not check schemas against the
 * meta-schema itself: validatorFor does, with one checker per process.
 */
export function createAjv (): Ajv {
  const ajv = new Ajv({ allErrors: false, useDefaults: true, coerceTypes: false, strict: false, validateSchema: false })
  ;(addFormats as unknown as (a: Ajv) => void)(ajv)
  return ajv
}

/**
 * Validators compiled in this process, by schema object. Each was compiled by
 * an Ajv made by createAjv (the same options every time), so the validator one
 * app compiled for a schema object is the one another app, or another
 * namespace, would compile: apps that declare the same schema objects (module
 * constants, as TypeBox schemas usually are; tests that build an app per test)
 * compile each once per process instead of once per app. Ajv itself caches
 * by schema object the same way, and Fastify shares one Ajv between
 * instances of the same options. Weak: a validator goes with its schema.
 */
const validators = new WeakMap<object, ValidateFunction>()

/**
 * The validator of `schema`, compiled on first use in this process. `ajv` is
 * called only when it must compile: it returns an Ajv made by createAjv.
 */
export function validatorFor (schema: object, ajv: () => Ajv): ValidateFunction {
  let validate = validators.get(schema)
  if (validate === undefined) {
    checkSchema(schema)
    validate = ajv().compile(schema)
    validators.set(schema, validate)
  }
  return validate
}

/**
 * The events of one namespace. Declarations are collected as `on()` is called
 * and checked and compiled once, at `ready` (reserved names, duplicates, schemas).
 */
export class EventRegistry {
  private readonly pending: EventDefinition[] = []
  private readonly compiled = new Map<string, CompiledEvent>()
  private isCompiled = false

  add (def: EventDefinition): void {
    this.pending.push(def)
  }

  /** Every declaration, in registration order (for docs and AsyncAPI). */
  definitions (): EventDefinition[] {
    return this.pending.slice()
  }

  get size (): number {
    return this.pending.length
  }

  get (name: string): CompiledEvent | undefined {
    return this.compiled.get(name)
  }

  /**
   * Check and compile every declaration; throws the first configuration error,
   * its message pointing at the `on()` call that declared the event. `ajv`:
   * an Ajv made by createAjv, asked for when a schema is new to this process
   * (validatorFor).
   */
  compile (ajv: () => Ajv, serializer: FrameSerializer, namespace: string): void {
    if (this.isCompiled) return
    for (const def of this.pending) {
      try {
        this.compileOne(def, ajv, serializer, namespace)
      } catch (err) {
        const e = err as Error
        if (def.definedAt !== undefined) e.message += ` (declared by app.socket.on at ${def.definedAt})`
        const first = this.compiled.get(def.name)?.def.definedAt
        if ((e as { code?: string }).code === 'FST_SOCKETSPEC_DUPLICATE_EVENT' && first !== undefined) e.message += `; first declared at ${first}`
        throw e
      }
    }
    this.isCompiled = true
  }

  private compileOne (def: EventDefinition, ajv: () => Ajv, serializer: FrameSerializer, namespace: string): void {
    const name = def.name
    if (typeof name !== 'string' || name.length === 0) throw new FST_SOCKETSPEC_INVALID_EVENT(String(name), 'the name must be a non-empty string')
    if (isReservedName(name)) throw new FST_SOCKETSPEC_RESERVED_EVENT(name)
    if (this.compiled.has(name)) throw new FST_SOCKETSPEC_DUPLICATE_EVENT(name, namespace)
    if (typeof def.handler !== 'function') throw new FST_SOCKETSPEC_INVALID_EVENT(name, 'the handler must be a function')
    let validate: ValidateFunction | undefined
    if (def.payload !== undefined) {
      if (def.payload === null || typeof def.payload !== 'object') throw new FST_SOCKETSPEC_INVALID_SCHEMA(name, 'payload must be a TypeBox / JSON Schema object')
      try {
        validate = validatorFor(def.payload, ajv)
      } catch (err) {
        throw new FST_SOCKETSPEC_INVALID_SCHEMA(name, (err as Error).message)
      }
    }
    for (const key of ['emits', 'broadcasts', 'tags'] as const) {
      if (!Array.isArray(def[key])) throw new FST_SOCKETSPEC_INVALID_EVENT(name, `${key} must be an array`)
    }
    if (def.reply !== undefined && (def.reply === null || typeof def.reply !== 'object')) {
      throw new FST_SOCKETSPEC_INVALID_EVENT(name, 'reply must be an object { event, schema? }')
    }
    for (const out of [...def.emits, ...def.broadcasts, ...(def.reply !== undefined ? [def.reply] : [])]) {
      if (out === null || typeof out !== 'object' || typeof out.event !== 'string' || out.event.length === 0) {
        throw new FST_SOCKETSPEC_INVALID_EVENT(name, 'every emits/broadcasts/reply entry needs an event name')
      }
      serializer.declare(out.event, out.schema as TSchema | undefined, name)
    }
    for (const b of def.broadcasts) {
      if (typeof b.room !== 'string' || b.room.length === 0) throw new FST_SOCKETSPEC_INVALID_EVENT(name, `broadcast '${b.event}' needs a room`)
    }
    const rl = def.rateLimit
    if (rl !== undefined && !(rl.rate > 0 && rl.capacity >= 1)) {
      throw new FST_SOCKETSPEC_INVALID_EVENT(name, 'rateLimit needs rate > 0 and capacity >= 1')
    }
    const deps = def.deps ?? {}
    const depNames = Object.keys(deps)
    for (const k of depNames) {
      if (typeof deps[k] !== 'function') throw new FST_SOCKETSPEC_INVALID_EVENT(name, `dependency '${k}' must be a function`)
    }
    this.compiled.set(name, {
      def,
      index: this.compiled.size,
      validate,
      rateLimit: rl,
      depNames,
      depFns: depNames.map(k => deps[k]),
      replyEvent: def.reply?.event
    })
  }
}
