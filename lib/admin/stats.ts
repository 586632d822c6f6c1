import type { EventRate } from './wire.js'
import type { Clock, TimerHandle } from '../clock.js'
import type { Connection } from '../connection.js'

/** Event names tracked separately; beyond, they are counted under OTHER_EVENTS (undeclared names are app-chosen, the map stays bounded). */
export const MAX_TRACKED_EVENTS = 500
export const OTHER_EVENTS = '(other)'
/** How often the per-event counters are sampled into rates. */
export const SAMPLE_MS = 1000

/** Application events one connection received and was sent (system frames such as `__ping__` and `__error__` do not count). */
export interface ConnectionCounters { in: number, out: number }

/** Events per second of one event name over the last sample, and the totals since the admin view started. */

interface EventCounter { in: number, out: number, lastIn: number, lastOut: number, inRate: number, outRate: number }

const PREFIX = '{"event":"'

/**
 * The admin view's counters (SPEC §14): events in and out per connection and
 * per event name, the latter sampled every second into rates. Attached to the
 * engine only when `admin` is set, so nothing is counted otherwise.
 */
export class AdminCounters {
  readonly #perConnection = new WeakMap<Connection, ConnectionCounters>()
  readonly #perEvent = new Map<string, EventCounter>()
  readonly #clock: Clock
  #timer: TimerHandle | null = null
  #sampledAt = 0
  #lastFrame = ''
  #lastName = ''

  constructor (clock: Clock) {
    this.#clock = clock
  }

  /** Start sampling rates every second. */
  start (): void {
    if (this.#timer !== null) return
    this.#sampledAt = this.#clock.now()
    const tick = (): void => {
      this.sample()
      this.#timer = this.#clock.setTimeout(tick, SAMPLE_MS)
    }
    this.#timer = this.#clock.setTimeout(tick, SAMPLE_MS)
  }

  stop (): void {
    if (this.#timer !== null) this.#clock.clearTimeout(this.#timer)
    this.#timer = null
  }

  /** Turn the counts since the last sample into events per second. */
  sample (): void {
    const now = this.#clock.now()
    const seconds = (now - this.#sampledAt) / 1000
    this.#sampledAt = now
    if (!(seconds > 0)) return
    for (const c of this.#perEvent.values()) {
      c.inRate = (c.in - c.lastIn) / seconds
      c.outRate = (c.out - c.lastOut) / seconds
      c.lastIn = c.in
      c.lastOut = c.out
    }
  }

  /** A handler is about to run for `event` on `conn`. */
  received (conn: Connection, event: string): void {
    this.#of(conn).in++
    this.#event(event).in++
  }

  /** An application frame was written to `conn`. */
  sent (conn: Connection, frame: string): void {
    this.#of(conn).out++
    this.#event(this.#name(frame)).out++
  }

  /** Events in and out of one connection so far. */
  connection (conn: Connection): ConnectionCounters {
    return this.#perConnection.get(conn) ?? { in: 0, out: 0 }
  }

  /** Rates of every event seen, busiest first. */
  rates (): EventRate[] {
    const out: EventRate[] = []
    for (const [event, c] of this.#perEvent) {
      out.push({ event, inPerSec: round(c.inRate), outPerSec: round(c.outRate), totalIn: c.in, totalOut: c.out })
    }
    return out.sort(byBusiest)
  }

  #of (conn: Connection): ConnectionCounters {
    let c = this.#perConnection.get(conn)
    if (c === undefined) this.#perConnection.set(conn, c = { in: 0, out: 0 })
    return c
  }

  #event (name: string): EventCounter {
    let c = this.#perEvent.get(name)
    if (c === undefined) {
      if (this.#perEvent.size >= MAX_TRACKED_EVENTS) return this.#event(OTHER_EVENTS)
      this.#perEvent.set(name, c = { in: 0, out: 0, lastIn: 0, lastOut: 0, inRate: 0, outRate: 0 })
    }
    return c
  }

  /** The event name of a serialized frame (`{"event":"<name>",...`); a broadcast's frame is the same string for every member. */
  #name (frame: string): string {
    if (frame === this.#lastFrame) return this.#lastName
    let name = OTHER_EVENTS
    if (frame.startsWith(PREFIX)) {
      const end = frame.indexOf('"', PREFIX.length)
      if (end !== -1) {
        name = frame.slice(PREFIX.length, end)
        // an escaped character in the name: read it properly (rare)
        if (name.includes('\\')) name = readEvent(frame)
      }
    }
    this.#lastFrame = frame
    this.#lastName = name
    return name
  }
}

function readEvent (frame: string): string {
  try {
    const event = (JSON.parse(frame) as { event?: unknown }).event
    return typeof event === 'string' ? event : OTHER_EVENTS
  } catch {
    return OTHER_EVENTS
  }
}

const round = (n: number): number => Math.round(n * 100) / 100

function byBusiest (a: EventRate, b: EventRate): number {
  return (b.inPerSec + b.outPerSec) - (a.inPerSec + a.outPerSec) || (b.totalIn + b.totalOut) - (a.totalIn + a.totalOut) || (a.event < b.event ? -1 : 1)
}
