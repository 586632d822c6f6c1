import { randomBytes } from 'node:crypto'
import type { Connection } from './connection.js'
import type { Engine } from './engine.js'
import { MemoryHistory, type HistoryLimits, type RoomPosition } from './history.js'
import { Timer, type Clock } from './clock.js'
import { CloseCode, ErrorCode, isSocketError, issueDetails } from './errors.js'
import type { PreparedFrame } from './frame.js'
import { kReplay, kResumeToken } from './symbols.js'

/** What a dropped connection leaves behind for `__resume__`. */
export interface ResumableSession {
  previousId: string
  userId: string | null
  /** The rooms it was in, with each room's position when it dropped. */
  rooms: Map<string, RoomPosition>
}

/** `onResume(conn, info)` hook. */
export type ResumeHook = (conn: Connection, info: { previousId: string, recovered: boolean }) => unknown

/** Room frames held back while a resume replays history, with the last offset replayed per room. */
export interface ReplayBuffer {
  frames: PreparedFrame[]
}

/** Closes the server makes on purpose (SPEC §12): their sessions are not resumable. */
const ON_PURPOSE = new Set<number>([CloseCode.AUTH_ERROR, CloseCode.AUTH_EXPIRED, CloseCode.SESSION_EXPIRED, CloseCode.IDLE_TIMEOUT, CloseCode.POLICY_VIOLATION, CloseCode.NORMAL])

/** Longest run of replays in one turn of the event loop: a storm of resumes must not stall it. */
const SLICE_MS = 10

/** Longest resume token accepted (ours are 32 characters). */
const MAX_TOKEN_LENGTH = 128

interface Stored {
  session: ResumableSession
  timer: Timer
}

/**
 * Session recovery of one namespace (SPEC §12), in process: the room history,
 * the sessions dropped connections left (single use, kept `ttl` seconds, and
 * holding their rooms open meanwhile), and the `__resume__` handshake.
 */
export class Recovery {
  readonly history: MemoryHistory
  readonly limits: HistoryLimits
  readonly hooks: ResumeHook[] = []
  readonly #clock: Clock
  readonly #sessions = new Map<string, Stored>()
  /** room → number of stored sessions holding it */
  readonly #held = new Map<string, number>()
  #sweeper: Timer | null = null
  /** Replays waiting for a turn of the event loop (see `schedule`). */
  readonly #replays: Array<() => void> = []
  #draining = false

  constructor (limits: HistoryLimits, clock: Clock) {
    this.limits = limits
    this.#clock = clock
    this.history = new MemoryHistory(limits, clock)
  }

  /**
   * Run `work` (a replay: synchronous writes) soon, in FIFO order, at most
   * SLICE_MS of such work per turn of the event loop; the rest waits for the
   * next turn, so that 2,000 clients resuming at once never stall it long.
   */
  schedule (work: () => void): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#replays.push(() => {
        try {
          work()
          resolve()
        } catch (err) {
          reject(err)
        }
      })
      if (!this.#draining) {
        this.#draining = true
        setImmediate(() => this.#drain())
      }
    })
  }

  #drain (): void {
    const started = performance.now()
    while (this.#replays.length > 0 && performance.now() - started < SLICE_MS) this.#replays.shift()!()
    if (this.#replays.length > 0) setImmediate(() => this.#drain())
    else this.#draining = false
  }

  /** Sessions waiting to be resumed (bounded: each expires after ttl). */
  get sessions (): number {
    return this.#sessions.size
  }

  /** True while a stored session holds `room`: the room exists, and its broadcasts are recorded. */
  holds (room: string): boolean {
    return this.#held.has(room)
  }

  /** Rooms held by stored sessions. */
  held (): Iterable<string> {
    return this.#held.keys()
  }

  /** A new secret, single-use resume token. */
  newToken (): string {
    return randomBytes(24).toString('base64url')
  }

  /** Sweep silent histories every ttl (history nobody holds or listens to is dropped; its room restarts in a new epoch). */
  start (inUse: (room: string) => boolean): void {
    const every = this.limits.ttl * 1000
    const tick = (): void => {
      this.history.sweep((room) => this.#held.has(room) || inUse(room))
      this.#sweeper = new Timer(this.#clock, every, tick)
    }
    this.#sweeper = new Timer(this.#clock, every, tick)
  }

  stop (): void {
    this.#sweeper?.cancel()
    this.#sweeper = null
    for (const s of this.#sessions.values()) s.timer.cancel()
    this.#sessions.clear()
    this.#held.clear()
  }

  /** Whether a connection that closed with `code` (`byServer`: the server closed it) leaves a resumable session. */
  resumable (code: number, byServer: boolean): boolean {
    return byServer ? !ON_PURPOSE.has(code) : code !== CloseCode.NORMAL
  }

  /** Keep the session of a dropped connection for ttl seconds. */
  save (token: string, session: ResumableSession): void {
    const timer = new Timer(this.#clock, this.limits.ttl * 1000, () => { this.#release(token) })
    this.#sessions.set(token, { session, timer })
    for (const room of session.rooms.keys()) this.#held.set(room, (this.#held.get(room) ?? 0) + 1)
  }

  /** Take a session (single use): it is gone afterwards, whatever the resume's outcome. */
  take (token: string): ResumableSession | null {
    const stored = this.#sessions.get(token)
    if (stored === undefined) return null
    this.#release(token)
    return stored.session
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
}

/** At close: leave a resumable session behind when the close allows it. */
export function saveSession (engine: Engine, conn: Connection, code: number, byServer: boolean): void {
  const recovery = engine.recovery
  const token = conn[kResumeToken]
  if (recovery === null || token === null || !recovery.resumable(code, byServer)) return
  const rooms = new Map<string, RoomPosition>()
  for (const room of conn.rooms) rooms.set(room, recovery.history.position(room))
  recovery.save(token, { previousId: conn.id, userId: conn.identity.userId, rooms })
}

/** `__resume__ {token, rooms}`: take the old session over (SPEC §12). */
export async function resume (engine: Engine, conn: Connection, clientId: string | undefined, payload: unknown): Promise<void> {
  const recovery = engine.recovery
  const refuse = (reason: string): void => {
    engine.emitSystem(conn, '__resumed__', { recovered: false, reason, rooms: {} }, clientId)
  }
  if (recovery === null) return refuse('recovery_off')
  const p = payload as { token?: unknown, rooms?: unknown } | null
  if (p === null || typeof p !== 'object' || typeof p.token !== 'string' || p.token.length > MAX_TOKEN_LENGTH ||
    (p.rooms !== undefined && (p.rooms === null || typeof p.rooms !== 'object' || Array.isArray(p.rooms)))) {
    engine.sendError(conn, ErrorCode.VALIDATION_ERROR, '__resume__ takes {token: string, rooms?: {<room>: {offset, epoch}}}', issueDetails('/payload', 'must be {token, rooms}', 'type'), clientId, undefined)
    return
  }
  if (conn[kReplay] !== null) return refuse('already_resuming')
  const session = recovery.take(p.token)
  if (session === null) return refuse('unknown_token')
  if (session.previousId === conn.id) return refuse('unknown_token')
  if (engine.opts.auth !== undefined && session.userId !== conn.identity.userId) return refuse('user_mismatch')

  const claimed = (p.rooms ?? {}) as Record<string, { offset?: unknown, epoch?: unknown } | undefined>
  // Live broadcasts to the re-joined rooms wait until the replay is out (then de-duplicated by offset).
  const buffer: ReplayBuffer = { frames: [] }
  conn[kReplay] = buffer
  const joined: string[] = []
  const rooms: Record<string, { recovered: boolean, missed: number }> = {}
  let recovered = true
  try {
    for (const room of session.rooms.keys()) {
      try {
        await conn.join(room)
        joined.push(room)
      } catch (err) {
        // a guard refused this time: the room is not restored
        conn.log.debug({ err: isSocketError(err) ? err.code : err, room }, 'resume: room not re-joined')
        rooms[room] = { recovered: false, missed: 0 }
        recovered = false
      }
    }
  } catch (err) {
    conn[kReplay] = null
    throw err
  }
  const replayed = new Map<string, number>()
  await recovery.schedule(() => {
    try {
      if (!conn.open) return
      for (const room of joined) {
        const c = claimed[room]
        const from: RoomPosition = c !== undefined && c !== null && Number.isInteger(c.offset) && typeof c.epoch === 'string'
          ? { offset: c.offset as number, epoch: c.epoch }
          : session.rooms.get(room)!
        const frames = recovery.history.since(room, from)
        if (frames === null) {
          rooms[room] = { recovered: false, missed: 0 }
          recovered = false
          continue
        }
        for (const frame of frames) engine.send(conn, frame)
        replayed.set(room, from.offset + frames.length)
        rooms[room] = { recovered: true, missed: frames.length }
      }
      engine.emitSystem(conn, '__resumed__', { recovered, previous_id: session.previousId, rooms }, clientId)
    } finally {
      conn[kReplay] = null
      for (const f of buffer.frames) {
        const last = replayed.get(f.room!)
        if (last === undefined || f.offset! > last) conn.sendPrepared(f)
      }
    }
  })
  if (!conn.open) return
  for (const hook of recovery.hooks) {
    try {
      await hook(conn, { previousId: session.previousId, recovered })
    } catch (err) {
      conn.log.error({ err }, 'onResume hook failed')
    }
  }
}
