import { randomBytes } from 'node:crypto'
import { Timer, type Clock } from './clock.js'

/** Where a room's broadcasts are: the last offset given out, in an epoch. */
export interface RoomPosition {
  offset: number
  epoch: string
}

/** Limits of recovery (SPEC §12): seconds a session stays resumable and history is kept, broadcasts kept per room. */
export interface HistoryLimits {
  ttl: number
  historySize: number
}

/** A broadcast as recorded: the frame with its position spliced in. */
export interface RecordedFrame {
  frame: string
  offset: number
  epoch: string
}

/** What a dropped connection leaves behind for `__resume__`. */
export interface ResumableSession {
  previousId: string
  userId: string | null
  /** The rooms it was in, with each room's position when it dropped. */
  rooms: Map<string, RoomPosition>
}

/** What is common to every room history: the dropped sessions and the rooms they hold. */
interface HistoryBase {
  /** True while a stored session known to this node holds `room` (a shared history answers through the backend's `exists`). */
  holds (room: string): boolean
  /** Rooms held by stored sessions known to this node. */
  held (): Iterable<string>
  /** Sessions waiting to be resumed that this node keeps (0 for a shared history: they are in the store). */
  readonly sessions: number
  /** Start background work (sweeping); `inUse(room)` says whether the room has members on this node. */
  start (inUse: (room: string) => boolean): void
  /** Stop it; resolves once the sessions being saved are written. */
  stop (): Promise<void>
}

/**
 * A history in this process (the memory backend's): every call answers at
 * once, so a broadcast is numbered, recorded and delivered by the caller in
 * one synchronous step.
 */
export interface LocalHistory extends HistoryBase {
  readonly shared: false
  /** Give the room its next offset, keep the frame with its position, and return that frame. */
  record (room: string, frame: string): RecordedFrame
  /** The room's position now (a room that never had a broadcast: offset 0). */
  position (room: string): RoomPosition
  /** The frames after `from`, in offset order; null when they are not all available. */
  since (room: string, from: RoomPosition): string[] | null
  /** Keep the session of a dropped connection for ttl seconds; its rooms' positions are read now. */
  saveSession (token: string, previousId: string, userId: string | null, rooms: Iterable<string>): void
  /** Take a session (single use): gone afterwards, whatever the resume's outcome. */
  takeSession (token: string): ResumableSession | null
}

/**
 * A history shared by every node (the Redis backend's): each call is a round
 * trip, and room broadcasts are delivered to every node's members, this one's
 * included, from the store's publication, so that every member sees offsets
 * in order whichever node published them.
 */
export interface SharedHistory extends HistoryBase {
  readonly shared: true
  /**
   * Number, record and publish a room broadcast in one round trip. Never
   * rejects: when the store is unreachable the frame is delivered to this
   * node's members only, in a local epoch, and the room's shared epoch is
   * changed before it records anything again (a resume across that gap is not
   * recovered).
   */
  publish (room: string, frame: string, except?: readonly string[]): Promise<void>
  /** The room's position now (its epoch is created when missing). Never rejects: a local position while the store is unreachable. */
  position (room: string): Promise<RoomPosition>
  /** For each `[room, from]`, the frames after `from` in offset order, or null when they are not all available (or the store is unreachable). */
  sinceAll (rooms: ReadonlyArray<[string, RoomPosition]>): Promise<Array<string[] | null>>
  /** Store the session of a dropped connection for ttl seconds with its rooms' positions (they hold their rooms on every node meanwhile). */
  saveSession (token: string, previousId: string, userId: string | null, rooms: Iterable<string>): Promise<void>
  /** Take a session (single use). Its rooms stay held until `releaseSession` (the resume re-joins them first). Rejects when the store is unreachable. */
  takeSession (token: string): Promise<ResumableSession | null>
  /** The taken session no longer holds its rooms (called once they are re-joined, so that they never stop existing meanwhile). */
  releaseSession (token: string, rooms: Iterable<string>): void
}

/** The seam between recovery and where room history lives (SPEC §12). */
export type RoomHistory = LocalHistory | SharedHistory

interface Ring {
  epoch: string
  /** The last offset given out. */
  offset: number
  /** Ring of the last frames: the frame of offset o is at (o - 1) % size. */
  frames: string[]
  /** When the last broadcast was recorded (history is dropped after ttl of silence, when unused). */
  lastAt: number
}

interface Stored {
  session: ResumableSession
  timer: Timer
}

/** A new epoch: random, short, never reused. */
export function newEpoch (): string {
  return randomBytes(6).toString('base64url')
}

/** The frame with the room's position spliced in at the top level, next to `event` and `payload`. */
export function positionedFrame (frame: string, room: string, offset: number, epoch: string): string {
  return `${frame.slice(0, -1)},"room":${JSON.stringify(room)},"offset":${offset},"epoch":"${epoch}"}`
}

/**
 * In-process history of room broadcasts (the memory backend's, SPEC §12):
 * offsets that grow by one per broadcast, an epoch per room history, the
 * last `historySize` frames of each room, and the sessions dropped
 * connections left (single use, kept `ttl` seconds, holding their rooms open
 * meanwhile). Everything is synchronous, so a broadcast is recorded and
 * delivered in one step, in offset order.
 */
export class MemoryHistory implements LocalHistory {
  readonly shared = false
  readonly #rooms = new Map<string, Ring>()
  readonly #limits: HistoryLimits
  readonly #clock: Clock
  readonly #sessions = new Map<string, Stored>()
  /** room → number of stored sessions holding it */
  readonly #held = new Map<string, number>()
  #sweeper: Timer | null = null

  constructor (limits: HistoryLimits, clock: Clock) {
    this.#limits = limits
    this.#clock = clock
  }

  /** Rooms with history (for stats and tests). */
  get size (): number {
    return this.#rooms.size
  }

  record (room: string, frame: string): RecordedFrame {
    const h = this.#room(room)
    const offset = ++h.offset
    const positioned = positionedFrame(frame, room, offset, h.epoch)
    h.frames[(offset - 1) % this.#limits.historySize] = positioned
    h.lastAt = this.#clock.now()
    return { frame: positioned, offset, epoch: h.epoch }
  }

  position (room: string): RoomPosition {
    const h = this.#room(room)
    return { offset: h.offset, epoch: h.epoch }
  }

  since (room: string, from: RoomPosition): string[] | null {
    const h = this.#rooms.get(room)
    if (h === undefined) return from.offset === 0 ? [] : null
    if (h.epoch !== from.epoch || from.offset > h.offset || from.offset < 0) return null
    const missed = h.offset - from.offset
    if (missed > this.#limits.historySize) return null
    const out: string[] = new Array(missed)
    for (let i = 0; i < missed; i++) out[i] = h.frames[(from.offset + i) % this.#limits.historySize]
    return out
  }

  /** Drop the history of rooms silent for more than ttl that `inUse` says nobody holds (their next broadcast starts a new epoch). */
  sweep (inUse: (room: string) => boolean): number {
    const before = this.#clock.now() - this.#limits.ttl * 1000
    let dropped = 0
    for (const [room, h] of this.#rooms) {
      if (h.lastAt < before && !this.#held.has(room) && !inUse(room)) {
        this.#rooms.delete(room)
        dropped++
      }
    }
    return dropped
  }

  get sessions (): number {
    return this.#sessions.size
  }

  holds (room: string): boolean {
    return this.#held.has(room)
  }

  held (): Iterable<string> {
    return this.#held.keys()
  }

  saveSession (token: string, previousId: string, userId: string | null, rooms: Iterable<string>): void {
    const positions = new Map<string, RoomPosition>()
    for (const room of rooms) positions.set(room, this.position(room))
    const timer = new Timer(this.#clock, this.#limits.ttl * 1000, () => { this.#release(token) })
    this.#sessions.set(token, { session: { previousId, userId, rooms: positions }, timer })
    for (const room of positions.keys()) this.#held.set(room, (this.#held.get(room) ?? 0) + 1)
  }

  takeSession (token: string): ResumableSession | null {
    const stored = this.#sessions.get(token)
    if (stored === undefined) return null
    this.#release(token)
    return stored.session
  }

  /** Sweep silent histories every ttl (history nobody holds or listens to is dropped; its room restarts in a new epoch). */
  start (inUse: (room: string) => boolean): void {
    const every = this.#limits.ttl * 1000
    const tick = (): void => {
      this.sweep(inUse)
      this.#sweeper = new Timer(this.#clock, every, tick)
    }
    this.#sweeper = new Timer(this.#clock, every, tick)
  }

  async stop (): Promise<void> {
    this.#sweeper?.cancel()
    this.#sweeper = null
    for (const s of this.#sessions.values()) s.timer.cancel()
    this.#sessions.clear()
    this.#held.clear()
  }

  #release (token: string): void {
    const stored = this.#sessions.get(token)
    if (stored === undefined) return
    this.#sessions.delete(token)
    stored.timer.cancel()
    for (const room of stored.session.rooms.keys()) {
      const n = (this.#held.get(room) ?? 1) - 1
      if (n <= 0) this.#held.delete(room)
      else this.#held.set(room, n)
    }
  }

  #room (room: string): Ring {
    let h = this.#rooms.get(room)
    if (h === undefined) {
      h = { epoch: newEpoch(), offset: 0, frames: [], lastAt: this.#clock.now() }
      this.#rooms.set(room, h)
    }
    return h
  }
}
