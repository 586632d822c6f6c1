import type * as Otel from '@opentelemetry/api'
import type { Connection } from './connection.js'
import type { CompiledEvent, EventRegistry } from './registry.js'

/*
 * Tracing (SPEC §14): with @opentelemetry/api installed (an optional peer
 * dependency) and a tracer provider registered before the app is ready, every
 * handled event is a span `ws <event>`. Whether to trace is decided once per
 * namespace, at ready; without the package or a provider the engine keeps no
 * tracer and the pipeline creates nothing per message.
 */

type OtelModule = typeof Otel

/** Span attribute names. */
export const SpanAttributes = {
  CONNECTION_ID: 'socketspec.connection_id',
  EVENT: 'socketspec.event',
  NAMESPACE: 'socketspec.namespace',
  ERROR_CODE: 'socketspec.error_code'
} as const

/** What socketspec does with a span (OpenTelemetry's types stay inside this file: the API is an optional dependency). */
export interface TraceSpan {
  setAttribute (key: string, value: string): unknown
  end (): void
}

/** Starts and ends the spans of one namespace's handled events. */
export interface EventTracer {
  /** Start the span of a handled event. */
  start (conn: Connection, ev: CompiledEvent): TraceSpan
  /** Call `fn` with `span` as the active span. */
  run<A extends unknown[], R> (span: TraceSpan, fn: (...args: A) => R, thisArg: unknown, ...args: A): R
  /** End the span; `code` is the error code sent to the client when the event failed. */
  end (span: TraceSpan, code: string | undefined): void
}

let otel: Promise<OtelModule | null> | null = null

/** @opentelemetry/api when it is installed (imported once), else null. */
function loadApi (): Promise<OtelModule | null> {
  otel ??= import('@opentelemetry/api').then(
    (m) => m as OtelModule,
    /* c8 ignore next - @opentelemetry/api is a dev dependency: always found here */
    () => null
  )
  return otel
}

/** The registered tracer provider's tracer, or undefined when none is registered (the API's global is then a no-op proxy). */
function registeredTracer (api: OtelModule): Otel.Tracer | undefined {
  const provider = api.trace.getTracerProvider() as Otel.TracerProvider & Partial<Pick<Otel.ProxyTracerProvider, 'getDelegateTracer'>>
  if (typeof provider.getDelegateTracer === 'function') return provider.getDelegateTracer('socketspec')
  /* c8 ignore next 2 - an API without the proxy provider (no 1.x release) */
  return provider.getTracer('socketspec')
}

/**
 * The tracer of one namespace, or null when there is nothing to trace with
 * (no @opentelemetry/api, or no tracer provider registered). Call at ready,
 * after the events are compiled.
 */
export async function eventTracer (namespace: string, registry: EventRegistry): Promise<EventTracer | null> {
  const api = await loadApi()
  if (api === null) return null
  const tracer = registeredTracer(api)
  if (tracer === undefined) return null
  const names: string[] = []
  for (const def of registry.definitions()) names[registry.get(def.name)!.index] = 'ws ' + def.name
  return new OtelTracer(api, tracer, namespace, names)
}

/**
 * Starts and ends the span of each handled event. Each span is the root of its
 * own trace (a connection lives for hours: its events are not children of the
 * upgrade request), and the handler runs in its context, so spans the handler
 * starts (database calls...) are its children.
 */
class OtelTracer implements EventTracer {
  readonly #api: OtelModule
  readonly #tracer: Otel.Tracer
  readonly #namespace: string
  /** `ws <event>` by CompiledEvent index, built once. */
  readonly #names: string[]
  readonly #kind: Otel.SpanKind
  readonly #error: Otel.SpanStatusCode

  constructor (api: OtelModule, tracer: Otel.Tracer, namespace: string, names: string[]) {
    this.#api = api
    this.#tracer = tracer
    this.#namespace = namespace
    this.#names = names
    this.#kind = api.SpanKind.SERVER
    this.#error = api.SpanStatusCode.ERROR
  }

  start (conn: Connection, ev: CompiledEvent): Otel.Span {
    return this.#tracer.startSpan(this.#names[ev.index], {
      kind: this.#kind,
      attributes: {
        [SpanAttributes.CONNECTION_ID]: conn.id,
        [SpanAttributes.EVENT]: ev.def.name,
        [SpanAttributes.NAMESPACE]: this.#namespace
      }
    }, this.#api.ROOT_CONTEXT)
  }

  run<A extends unknown[], R> (span: Otel.Span, fn: (...args: A) => R, thisArg: unknown, ...args: A): R {
    return this.#api.context.with(this.#api.trace.setSpan(this.#api.ROOT_CONTEXT, span), fn, thisArg as ThisParameterType<typeof fn>, ...args)
  }

  end (span: Otel.Span, code: string | undefined): void {
    if (code !== undefined) {
      span.setAttribute(SpanAttributes.ERROR_CODE, code)
      span.setStatus({ code: this.#error, message: code })
    }
    span.end()
  }
}
