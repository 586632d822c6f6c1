import { randomBytes } from 'node:crypto'
import type { Clock } from './clock.js'

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

interface RoomHistory {
  epoch: string
  /** The last offset given out. */
  offset: number
  /** Ring of the last frames: the frame of offset o is at (o - 1) % size. */
  frames: string[]
  /** When the last broadcast was recorded (history is dropped after ttl of silence, when unused). */
  lastAt: number
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
 * offsets that grow by one per broadcast, an epoch per room history, and the
 * last `historySize` frames of each room. Everything is synchronous, so a
 * broadcast is recorded and delivered in one step, in offset order.
 */
export class MemoryHistory {
  readonly #rooms = new Map<string, RoomHistory>()
  readonly #limits: HistoryLimits
  readonly #clock: Clock

  constructor (limits: HistoryLimits, clock: Clock) {
    this.#limits = limits
    this.#clock = clock
  }

  /** Rooms with history (for stats and tests). */
  get size (): number {
    return this.#rooms.size
  }

  /** Give the room its next offset, keep the frame with its position, and return that frame. */
  record (room: string, frame: string): { frame: string, offset: number, epoch: string } {
    const h = this.#room(room)
    const offset = ++h.offset
    const positioned = positionedFrame(frame, room, offset, h.epoch)
    h.frames[(offset - 1) % this.#limits.historySize] = positioned
    h.lastAt = this.#clock.now()
    return { frame: positioned, offset, epoch: h.epoch }
  }

  /** The room's position now (a room that never had a broadcast: offset 0, in a new epoch). */
  position (room: string): RoomPosition {
    const h = this.#room(room)
    return { offset: h.offset, epoch: h.epoch }
  }

  /**
   * The frames after `from` in the room, in offset order; null when they are not
   * all available (another epoch, or older than what the ring holds).
   */
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
      if (h.lastAt < before && !inUse(room)) {
        this.#rooms.delete(room)
        dropped++
      }
    }
    return dropped
  }

  #room (room: string): RoomHistory {
    let h = this.#rooms.get(room)
    if (h === undefined) {
      h = { epoch: newEpoch(), offset: 0, frames: [], lastAt: this.#clock.now() }
      this.#rooms.set(room, h)
    }
    return h
  }
}
