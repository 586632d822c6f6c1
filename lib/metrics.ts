import type * as PromClient from 'prom-client'
import type { Engine } from './engine.js'
import type { PreparedFrame } from './frame.js'
import { FST_SOCKETSPEC_INVALID_OPTION, FST_SOCKETSPEC_MISSING_DEPENDENCY } from './errors.js'
import { SystemEvents } from '../schemas/protocol.js'

/*
 * Prometheus metrics (SPEC §14) through prom-client, an optional peer
 * dependency loaded only when `metrics` is on.
 *
 * The hot path counts in plain numbers (typed arrays indexed by event): a
 * prom-client `inc()`/`observe()` hashes its labels on every call, which costs
 * more than a whole echo. prom-client reads the numbers when the registry is
 * scraped (`collect()`), adds them to its metrics and the engine's counters
 * start again from zero.
 *
 * Several registrations (namespaces, or apps) in one process share one set of
 * metric objects per registry, found through the registry itself, with a
 * `namespace` label on every series.
 */

/** A prom-client `Registry`, described by what socketspec calls on it (so prom-client's types are not needed to use socketspec). */
export interface MetricsRegistry {
  registerMetric (metric: any): void
  getSingleMetric (name: string): unknown
}

/** What the engine and the pipeline count through (prom-client's types stay inside this file: it is an optional dependency). */
export interface EngineMetrics {
  /** Inbound frames by slot: declared events by their CompiledEvent index (the pipeline increments it directly). */
  readonly received: Float64Array
  /** An inbound system event (`__pong__`, `__resume__`...); any other undeclared name counts as UNKNOWN_EVENT. */
  receivedSystem (name: string): void
  /** A frame written by `engine.send`; `event` is its event when the sender knows it. */
  sent (frame: string, event?: string): void
  /** A system event written by `engine.emitSystem`. */
  sentSystem (event: string, payload: unknown): void
  /** A broadcast frame written to one receiver. */
  delivered (frame: PreparedFrame): void
  /** A handled event of declared index `index` took `ms` milliseconds. */
  handled (index: number, ms: number): void
  /** At close: hand what is still counted to the metrics, then stop reading the engine. */
  detach (): void
}

/** socketspec's metrics in one registry (shared by every namespace registered in it). */
export interface MetricsHub {
  /** Start counting for `engine` (at ready, once its events are compiled). */
  attach (engine: Engine): EngineMetrics
}

/** `metrics` after validation. */
export interface MetricsConfig {
  /** Prefix of every metric name (`socketspec_`). */
  prefix: string
  /** Where the metrics are registered (prom-client's default registry when absent). */
  registry?: MetricsRegistry
}

/** Label value of inbound frames that are no declared or system event (undeclared names, invalid JSON or envelope). */
export const UNKNOWN_EVENT = '__unknown__'
/** Label value of outbound frames of events no emits/broadcasts/reply declares. */
export const UNDECLARED_EVENT = '__undeclared__'

/** Upper bounds of `handler_duration_seconds`, in seconds: most handlers take well under a millisecond. */
export const DURATION_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const
const BOUNDS_MS = DURATION_BUCKETS.map((s) => s * 1000)
/** Buckets per event: one per bound, then the overflow (+Inf). */
const SLOTS = DURATION_BUCKETS.length + 1

const NAMES = {
  connections: 'connections',
  received: 'events_received_total',
  sent: 'events_sent_total',
  errors: 'errors_total',
  duration: 'handler_duration_seconds',
  deliveries: 'broadcast_deliveries_total',
  backendErrors: 'backend_errors_total',
  resumes: 'resumes_total'
} as const

/** `resumes_total{result}`: every rooms recovered, resumed with some rooms not recovered, or refused. */
export type ResumeResult = 'recovered' | 'partial' | 'refused'

type PromModule = typeof PromClient

let promClient: Promise<PromModule> | null = null

/** prom-client, imported once; FST_SOCKETSPEC_MISSING_DEPENDENCY when it is not installed. */
async function loadPromClient (): Promise<PromModule> {
  promClient ??= import('prom-client').then((m) => (m as unknown as { default?: PromModule }).default ?? m)
  try {
    return await promClient
  } catch (err) {
    promClient = null
    const code = (err as { code?: string }).code
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') throw new FST_SOCKETSPEC_MISSING_DEPENDENCY('metrics', 'prom-client')
    /* c8 ignore next 2 - any other failure to load it (a broken install) */
    throw err
  }
}

/**
 * Load prom-client and find (or create) socketspec's metrics in the registry.
 * Called at register time, so a missing package or a name clash fails there.
 */
export async function metricsHub (config: MetricsConfig): Promise<MetricsHub> {
  return await promHub(config)
}

async function promHub (config: MetricsConfig): Promise<PromHub> {
  const pc = await loadPromClient()
  const registry = (config.registry ?? pc.register) as unknown as PromClient.Registry
  const existing = registry.getSingleMetric(config.prefix + NAMES.duration)
  if (existing instanceof HandlerDurations) return existing.hub
  for (const name of Object.values(NAMES)) {
    if (registry.getSingleMetric(config.prefix + name) !== undefined) {
      throw new FST_SOCKETSPEC_INVALID_OPTION('metrics', `the registry already has a metric named '${config.prefix + name}' that socketspec did not create; pass another metrics.registry or metrics.prefix`)
    }
  }
  return new PromHub(pc, registry, config.prefix)
}

/** One set of metric objects in one registry, fed by the engines (namespaces) attached to it. */
class PromHub implements MetricsHub {
  readonly sources = new Set<Counters>()
  readonly connections: PromClient.Gauge<'namespace'>
  readonly received: PromClient.Counter<'namespace' | 'event'>
  readonly sent: PromClient.Counter<'namespace' | 'event'>
  readonly errors: PromClient.Counter<'namespace' | 'code'>
  readonly durations: HandlerDurations
  readonly deliveries: PromClient.Counter<'namespace'>
  readonly backendErrors: PromClient.Counter<'namespace'>
  readonly resumes: PromClient.Counter<'namespace' | 'result'>
  /** Backend adapter → errors already counted (one adapter may serve several namespaces: its errors count once). */
  readonly backendReported = new WeakMap<object, number>()

  constructor (pc: PromModule, registry: PromClient.Registry, prefix: string) {
    const registers = [registry]
    this.connections = new pc.Gauge({
      name: prefix + NAMES.connections,
      help: 'Open WebSocket connections.',
      labelNames: ['namespace'],
      registers,
      collect: () => this.collectConnections()
    })
    this.received = new pc.Counter({
      name: prefix + NAMES.received,
      help: `Frames received, by event (declared and system events; anything else is ${UNKNOWN_EVENT}).`,
      labelNames: ['namespace', 'event'],
      registers,
      collect: () => { for (const s of this.sources) s.flushReceived() }
    })
    this.sent = new pc.Counter({
      name: prefix + NAMES.sent,
      help: `Frames sent to clients, by event (a broadcast counts once per receiver; events no emits/broadcasts/reply declares are ${UNDECLARED_EVENT}).`,
      labelNames: ['namespace', 'event'],
      registers,
      collect: () => { for (const s of this.sources) s.flushSent() }
    })
    this.errors = new pc.Counter({
      name: prefix + NAMES.errors,
      help: '__error__ frames sent, by code.',
      labelNames: ['namespace', 'code'],
      registers,
      collect: () => { for (const s of this.sources) s.flushErrors() }
    })
    this.durations = new HandlerDurations(prefix + NAMES.duration, this)
    registry.registerMetric(this.durations as unknown as PromClient.Metric)
    this.deliveries = new pc.Counter({
      name: prefix + NAMES.deliveries,
      help: 'Room broadcast and namespace emit frames written to connections of this node (from this node or from others).',
      labelNames: ['namespace'],
      registers,
      collect: () => { for (const s of this.sources) s.flushDeliveries() }
    })
    this.backendErrors = new pc.Counter({
      name: prefix + NAMES.backendErrors,
      help: "Errors of the backend adapter talking to its shared store (its stats().errors; an adapter serving several namespaces counts under the first one's).",
      labelNames: ['namespace'],
      registers,
      collect: () => { for (const s of this.sources) s.flushBackendErrors() }
    })
    this.resumes = new pc.Counter({
      name: prefix + NAMES.resumes,
      help: '__resume__ answers: recovered (every room), partial (resumed, some rooms not recovered) or refused.',
      labelNames: ['namespace', 'result'],
      registers,
      collect: () => { for (const s of this.sources) s.flushResumes() }
    })
  }

  /** Start counting for `engine` (at ready, once its events are compiled). */
  attach (engine: Engine): Counters {
    const source = new Counters(this, engine)
    this.sources.add(source)
    return source
  }

  private collectConnections (): void {
    this.connections.reset()
    for (const s of this.sources) this.connections.inc({ namespace: s.namespace }, s.engine.connections.size)
  }
}

/**
 * The counters of one engine (namespace), read and cleared by its hub at
 * each scrape. The engine and the pipeline write them directly.
 */
class Counters implements EngineMetrics {
  readonly namespace: string
  /** Inbound frames by slot: declared events by their CompiledEvent index, then the inbound system events. */
  readonly received: Float64Array
  /** Outbound frames by slot (see `#outSlots`); the last slot is UNDECLARED_EVENT. */
  readonly sentCounts: Float64Array
  /** `handler_duration_seconds`: SLOTS buckets per declared event (not cumulative), then their sums and counts. */
  readonly durationBuckets: Float64Array
  readonly durationSums: Float64Array
  readonly durationCounts: Float64Array
  deliveries = 0
  readonly resumes: Record<ResumeResult, number> = { recovered: 0, partial: 0, refused: 0 }

  readonly #hub: PromHub
  readonly #inLabels: string[]
  readonly #systemIn = new Map<string, number>()
  readonly #outLabels: string[]
  readonly #outSlots = new Map<string, number>()
  readonly #undeclared: number
  /** The event of the last frame `sent` counted, and its slot (none yet: a name no frame has). */
  #lastName = '\0'
  #lastSlot = 0
  #lastPrepared: PreparedFrame | null = null
  #lastPreparedSlot = 0
  #eventsInReported: number
  readonly #errorsReported: Record<string, number> = Object.create(null)

  constructor (hub: PromHub, readonly engine: Engine) {
    this.#hub = hub
    this.namespace = engine.namespace
    const declared: string[] = []
    for (const def of engine.registry.definitions()) declared[engine.registry.get(def.name)!.index] = def.name
    this.#inLabels = [...declared]
    const outbound = new Set<string>()
    for (const def of engine.registry.definitions()) {
      for (const out of [...def.emits, ...def.broadcasts]) outbound.add(out.event)
      if (def.reply !== undefined) outbound.add(def.reply.event)
    }
    for (const [name, spec] of Object.entries(SystemEvents)) {
      if (spec.direction === 'in') {
        this.#systemIn.set(name, this.#inLabels.length)
        this.#inLabels.push(name)
      } else {
        outbound.add(name)
      }
    }
    this.#outLabels = [...outbound, UNDECLARED_EVENT]
    this.#outLabels.forEach((name, i) => this.#outSlots.set(name, i))
    this.#undeclared = this.#outLabels.length - 1
    this.received = new Float64Array(this.#inLabels.length)
    this.sentCounts = new Float64Array(this.#outLabels.length)
    this.durationBuckets = new Float64Array(declared.length * SLOTS)
    this.durationSums = new Float64Array(declared.length)
    this.durationCounts = new Float64Array(declared.length)
    this.#eventsInReported = engine.stats.eventsIn
    for (const c of Object.keys(engine.stats.errors)) this.#errorsReported[c] = engine.stats.errors[c]
    // every declared event shows up at 0 before its first frame
    const ns = this.namespace
    for (const event of declared) hub.received.inc({ namespace: ns, event }, 0)
    for (const event of outbound) if (!Object.hasOwn(SystemEvents, event)) hub.sent.inc({ namespace: ns, event }, 0)
    hub.deliveries.inc({ namespace: ns }, 0)
    hub.backendErrors.inc({ namespace: ns }, 0)
  }

  /** An inbound system event (`__pong__`, `__resume__`...), or UNKNOWN_EVENT for any other undeclared name (derived at scrape). */
  receivedSystem (name: string): void {
    const slot = this.#systemIn.get(name)
    if (slot !== undefined) this.received[slot]++
  }

  /**
   * A frame written by `engine.send`. Replies and `conn.emit` pass their
   * event: the last one's slot is reused while the same name comes again (a
   * pointer comparison for the same string), else one map lookup. Other
   * frames (replays of recovery, requests) have their event read from the
   * frame (every socketspec frame starts `{"event":"<name>"`), the last
   * event's name checked first: a bounded `lastIndexOf` (V8's `startsWith` is
   * several times slower), not a substring and a map lookup each.
   */
  sent (frame: string, event?: string): void {
    if (event !== undefined) {
      if (event !== this.#lastName) {
        const slot = this.#outSlots.get(event)
        if (slot === undefined) {
          this.sentCounts[this.#undeclared]++
          return
        }
        this.#lastName = event
        this.#lastSlot = slot
      }
      this.sentCounts[this.#lastSlot]++
      return
    }
    const last = this.#lastName
    if (frame.charCodeAt(10 + last.length) !== 34 /* " */ || frame.lastIndexOf(last, 10) !== 10) {
      const end = frame.indexOf('"', 10)
      const slot = end === -1 ? undefined : this.#outSlots.get(frame.slice(10, end))
      if (slot === undefined) {
        this.sentCounts[this.#undeclared]++
        return
      }
      this.#lastName = this.#outLabels[slot]
      this.#lastSlot = slot
    }
    this.sentCounts[this.#lastSlot]++
  }

  /** A system event written by `engine.emitSystem`; `__resumed__` also counts in resumes_total. */
  sentSystem (event: string, payload: unknown): void {
    this.sentCounts[this.#outSlots.get(event) ?? this.#undeclared]++
    if (event === '__resumed__') {
      const p = payload as { recovered: boolean, reason?: string }
      this.resumes[p.recovered ? 'recovered' : p.reason === undefined ? 'partial' : 'refused']++
    }
  }

  /** A broadcast frame written to one receiver (the event name is read once per broadcast, not per receiver). */
  delivered (frame: PreparedFrame): void {
    this.deliveries++
    if (frame !== this.#lastPrepared) {
      this.#lastPrepared = frame
      const text = frame.text
      const end = text.indexOf('"', 10)
      this.#lastPreparedSlot = end === -1 ? this.#undeclared : (this.#outSlots.get(text.slice(10, end)) ?? this.#undeclared)
    }
    this.sentCounts[this.#lastPreparedSlot]++
  }

  /** A handled event of declared index `index` took `ms` milliseconds (validation, middleware, dependencies, handler, reply). */
  handled (index: number, ms: number): void {
    let b = 0
    while (b < BOUNDS_MS.length && ms > BOUNDS_MS[b]) b++
    this.durationBuckets[index * SLOTS + b]++
    this.durationSums[index] += ms / 1000
    this.durationCounts[index]++
  }

  flushReceived (): void {
    const counter = this.#hub.received
    let known = 0
    for (let i = 0; i < this.received.length; i++) {
      const n = this.received[i]
      if (n === 0) continue
      known += n
      counter.inc({ namespace: this.namespace, event: this.#inLabels[i] }, n)
      this.received[i] = 0
    }
    const total = this.engine.stats.eventsIn
    const unknown = total - this.#eventsInReported - known
    this.#eventsInReported = total
    if (unknown > 0) counter.inc({ namespace: this.namespace, event: UNKNOWN_EVENT }, unknown)
  }

  flushSent (): void {
    const counter = this.#hub.sent
    for (let i = 0; i < this.sentCounts.length; i++) {
      const n = this.sentCounts[i]
      if (n === 0) continue
      counter.inc({ namespace: this.namespace, event: this.#outLabels[i] }, n)
      this.sentCounts[i] = 0
    }
  }

  flushErrors (): void {
    const errors = this.engine.stats.errors
    for (const code of Object.keys(errors)) {
      const n = errors[code] - (this.#errorsReported[code] ?? 0)
      if (n <= 0) continue
      this.#errorsReported[code] = errors[code]
      this.#hub.errors.inc({ namespace: this.namespace, code }, n)
    }
  }

  flushDeliveries (): void {
    if (this.deliveries === 0) return
    this.#hub.deliveries.inc({ namespace: this.namespace }, this.deliveries)
    this.deliveries = 0
  }

  flushBackendErrors (): void {
    const adapter = this.engine.backend
    const total = this.engine.rooms.backendStats().errors
    const reported = this.#hub.backendReported.get(adapter) ?? 0
    if (total > reported) {
      this.#hub.backendReported.set(adapter, total)
      this.#hub.backendErrors.inc({ namespace: this.namespace }, total - reported)
    }
  }

  flushResumes (): void {
    for (const result of ['recovered', 'partial', 'refused'] as const) {
      const n = this.resumes[result]
      if (n === 0) continue
      this.#hub.resumes.inc({ namespace: this.namespace, result }, n)
      this.resumes[result] = 0
    }
  }

  flushDurations (): void {
    for (let i = 0; i < this.durationCounts.length; i++) {
      if (this.durationCounts[i] === 0) continue
      this.#hub.durations.add(this.namespace, this.#inLabels[i], this.durationBuckets.subarray(i * SLOTS, (i + 1) * SLOTS), this.durationSums[i], this.durationCounts[i])
      this.durationBuckets.fill(0, i * SLOTS, (i + 1) * SLOTS)
      this.durationSums[i] = 0
      this.durationCounts[i] = 0
    }
  }

  /** At close: hand what is still counted to the metrics, then stop reading this engine. */
  detach (): void {
    this.flushReceived()
    this.flushSent()
    this.flushErrors()
    this.flushDeliveries()
    this.flushBackendErrors()
    this.flushResumes()
    this.flushDurations()
    this.#hub.sources.delete(this)
  }
}

interface DurationSeries {
  labels: { namespace: string, event: string }
  /** Not cumulative; SLOTS entries. */
  buckets: Float64Array
  sum: number
  count: number
}

/**
 * `handler_duration_seconds`: a Prometheus histogram whose observations are
 * bucketed by the engines in plain numbers. It implements what a prom-client
 * registry reads from a metric (`name`, `help`, `type`, `aggregator`, `get()`,
 * `reset()`), the same shape prom-client's own Histogram returns, because a
 * prom-client Histogram can only be fed one observation at a time.
 */
class HandlerDurations {
  readonly type = 'histogram'
  readonly aggregator = 'sum'
  readonly help = 'Time from a frame\'s lookup to the end of its handling (validation, middleware, dependencies, handler, reply), by event.'
  readonly labelNames = ['namespace', 'event']
  readonly #series = new Map<string, DurationSeries>()

  constructor (readonly name: string, readonly hub: PromHub) {}

  /** Add one engine's observations for one event. */
  add (namespace: string, event: string, buckets: Float64Array, sum: number, count: number): void {
    const key = namespace + '\0' + event
    let s = this.#series.get(key)
    if (s === undefined) {
      s = { labels: { namespace, event }, buckets: new Float64Array(SLOTS), sum: 0, count: 0 }
      this.#series.set(key, s)
    }
    for (let b = 0; b < SLOTS; b++) s.buckets[b] += buckets[b]
    s.sum += sum
    s.count += count
  }

  async get (): Promise<{ name: string, help: string, type: 'histogram', aggregator: 'sum', values: Array<{ labels: Record<string, string | number>, value: number, metricName: string }> }> {
    for (const source of this.hub.sources) source.flushDurations()
    const values: Array<{ labels: Record<string, string | number>, value: number, metricName: string }> = []
    for (const s of this.#series.values()) {
      let cumulative = 0
      for (let b = 0; b < SLOTS; b++) {
        cumulative += s.buckets[b]
        values.push({ labels: { ...s.labels, le: b < DURATION_BUCKETS.length ? DURATION_BUCKETS[b] : '+Inf' }, value: cumulative, metricName: this.name + '_bucket' })
      }
      values.push({ labels: s.labels, value: s.sum, metricName: this.name + '_sum' })
      values.push({ labels: s.labels, value: s.count, metricName: this.name + '_count' })
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values }
  }

  reset (): void {
    this.#series.clear()
  }
}
