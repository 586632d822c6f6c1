import { randomBytes } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import type { Connection } from './connection.js'
import type { Engine } from './engine.js'
import { MemoryHistory, type HistoryLimits, type LocalHistory, type ResumableSession, type RoomHistory, type RoomPosition } from './history.js'
import type { Clock } from './clock.js'
import { CloseCode, ErrorCode, isSocketError, issueDetails } from './errors.js'
import type { PreparedFrame } from './frame.js'
import { kReplay, kResumeToken } from './symbols.js'

export type { ResumableSession } from './history.js'

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

/**
 * Resumes taken through their steps at once. A storm of 2,000 is handled 32
 * at a time: the continuations of one step (a batch of Redis replies, a batch
 * of joins) then never run thousands in one turn of the event loop.
 */
const MAX_RESUMES_IN_FLIGHT = 32

/** Longest resume token accepted (ours are 32 characters). */
const MAX_TOKEN_LENGTH = 128

/**
 * Session recovery of one namespace (SPEC §12): the room history (in process,
 * or shared by the nodes through the backend), the sessions dropped
 * connections left, and the `__resume__` handshake.
 */
export class Recovery {
  readonly history: RoomHistory
  readonly limits: HistoryLimits
  readonly hooks: ResumeHook[] = []
  /** Sessions being written to a shared history (awaited at stop). */
  readonly #saving = new Set<Promise<void>>()
  /** Replays waiting for a turn of the event loop (see `schedule`). */
  readonly #replays: Array<() => void> = []
  /** Resumes waiting for a slot (see `admit`), and the slots in use. */
  readonly #admissions: Array<() => void> = []
  #inFlight = 0
  #draining = false

  /** `history`: a shared one from the backend; the in-process MemoryHistory by default. */
  constructor (limits: HistoryLimits, clock: Clock, history?: RoomHistory) {
    this.limits = limits
    this.history = history ?? new MemoryHistory(limits, clock)
  }

  /**
   * Run `work` (a replay: synchronous writes) soon, in FIFO order, at most
   * SLICE_MS of such work per turn of the event loop; the rest waits for the
   * next turn, so that 2,000 clients resuming at once never stall it long.
   */
  /**
   * Wait for one of MAX_RESUMES_IN_FLIGHT slots (FIFO); resolves with the
   * function that frees it. A freed slot is handed on in a later turn of the
   * event loop, so a storm advances by batches, never in one long turn.
   */
  admit (): Promise<() => void> {
    let released = false
    const release = (): void => {
      if (released) return
      released = true
      const next = this.#admissions.shift()
      if (next === undefined) this.#inFlight--
      else setImmediate(next)
    }
    if (this.#inFlight < MAX_RESUMES_IN_FLIGHT) {
      this.#inFlight++
      return Promise.resolve(release)
    }
    return new Promise((resolve) => { this.#admissions.push(() => resolve(release)) })
  }

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

  /** Sessions waiting to be resumed that this node keeps (bounded: each expires after ttl). */
  get sessions (): number {
    return this.history.sessions
  }

  /** True while a stored session holds `room`: the room exists, and its broadcasts are recorded. */
  holds (room: string): boolean {
    return this.history.holds(room)
  }

  /** Rooms held by stored sessions. */
  held (): Iterable<string> {
    return this.history.held()
  }

  /** A new secret, single-use resume token. */
  newToken (): string {
    return randomBytes(24).toString('base64url')
  }

  /** Start the history's background work (in process: sweeping silent histories every ttl). */
  start (inUse: (room: string) => boolean): void {
    this.history.start(inUse)
  }

  /** Stop; resolves once the sessions being saved to a shared history are written. */
  async stop (): Promise<void> {
    await Promise.all(this.#saving)
    await this.history.stop()
  }

  /** Whether a connection that closed with `code` (`byServer`: the server closed it) leaves a resumable session. */
  resumable (code: number, byServer: boolean): boolean {
    return byServer ? !ON_PURPOSE.has(code) : code !== CloseCode.NORMAL
  }

  /** Keep the session of a dropped connection for ttl seconds (its rooms' positions are read by the history). */
  save (token: string, previousId: string, userId: string | null, rooms: Iterable<string>): void {
    const history = this.history
    if (!history.shared) {
      history.saveSession(token, previousId, userId, rooms)
      return
    }
    // Sent now, before the connection's leaves: the store keeps the rooms held without a gap.
    const saving = history.saveSession(token, previousId, userId, rooms)
    this.#saving.add(saving)
    void saving.catch(() => {}).finally(() => this.#saving.delete(saving))
  }

  /** Take a session (single use): it is gone afterwards, whatever the resume's outcome. Rejects when a shared store is unreachable. */
  async take (token: string): Promise<ResumableSession | null> {
    return await this.history.takeSession(token)
  }
}

/** At close: leave a resumable session behind when the close allows it. */
export function saveSession (engine: Engine, conn: Connection, code: number, byServer: boolean): void {
  const recovery = engine.recovery
  const token = conn[kResumeToken]
  if (recovery === null || token === null || !recovery.resumable(code, byServer)) return
  recovery.save(token, conn.id, conn.identity.userId, conn.rooms)
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
  // Live broadcasts to the re-joined rooms wait until the replay is out (then de-duplicated by offset).
  // Set before waiting for a slot, so that a second __resume__ meanwhile is refused at once (one
  // waiting resume per connection: a client sending __resume__ in a loop queues nothing more).
  const buffer: ReplayBuffer = { frames: [] }
  conn[kReplay] = buffer
  const release = await recovery.admit()
  try {
    if (!conn.open) {
      conn[kReplay] = null
      return
    }
    await resumeAdmitted(engine, recovery, conn, clientId, p as { token: string, rooms?: unknown }, refuse, buffer)
  } finally {
    release()
  }
}

async function resumeAdmitted (engine: Engine, recovery: Recovery, conn: Connection, clientId: string | undefined, p: { token: string, rooms?: unknown }, refuse: (reason: string) => void, buffer: ReplayBuffer): Promise<void> {
  let session: ResumableSession | null = null
  let unavailable = false
  try {
    session = await recovery.take(p.token)
  } catch (err) {
    // the shared store is unreachable: nothing can be restored truthfully
    conn.log.warn({ err }, 'resume: session store unavailable')
    unavailable = true
  }
  const refusal = session === null
    ? (unavailable ? 'unavailable' : 'unknown_token')
    : session.previousId === conn.id
      ? 'unknown_token'
      : engine.opts.auth !== undefined && session.userId !== conn.identity.userId ? 'user_mismatch' : null
  if (refusal !== null || !conn.open) {
    conn[kReplay] = null
    for (const f of buffer.frames) conn.sendPrepared(f)
    if (refusal !== null) refuse(refusal)
    return
  }
  const taken = session!

  const claimed = (p.rooms ?? {}) as Record<string, { offset?: unknown, epoch?: unknown } | undefined>
  const joined: string[] = []
  const rooms: Record<string, { recovered: boolean, missed: number }> = {}
  let recovered = true
  try {
    for (const room of taken.rooms.keys()) {
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
  const history = recovery.history
  if (history.shared) history.releaseSession(p.token, taken.rooms.keys())
  const froms: Array<[string, RoomPosition]> = joined.map((room) => {
    const c = claimed[room]
    return [room, c !== undefined && c !== null && Number.isInteger(c.offset) && typeof c.epoch === 'string'
      ? { offset: c.offset as number, epoch: c.epoch }
      : taken.rooms.get(room)!]
  })
  // A shared history is read after the re-joins: this node already receives (and buffers) the rooms' live frames.
  const read = history.shared ? await history.sinceAll(froms) : null
  const replayed = new Map<string, number>()
  const epochs = new Map<string, string>()
  await recovery.schedule(() => {
    try {
      if (!conn.open) return
      for (let i = 0; i < froms.length; i++) {
        const [room, from] = froms[i]
        const frames = read !== null ? read[i] : (history as LocalHistory).since(room, from)
        if (frames === null) {
          rooms[room] = { recovered: false, missed: 0 }
          recovered = false
          continue
        }
        for (const frame of frames) engine.send(conn, frame)
        replayed.set(room, from.offset + frames.length)
        epochs.set(room, from.epoch)
        rooms[room] = { recovered: true, missed: frames.length }
      }
      engine.emitSystem(conn, '__resumed__', { recovered, previous_id: taken.previousId, rooms }, clientId)
    } finally {
      conn[kReplay] = null
      for (const f of buffer.frames) {
        const last = replayed.get(f.room!)
        if (last === undefined || f.offset! > last) conn.sendPrepared(f)
      }
      // frames up to what was replayed may still be on their way from the shared store: dropped when they come
      if (history.shared) for (const [room, last] of replayed) engine.rooms.setFloor(conn, room, { offset: last, epoch: epochs.get(room)! })
    }
  })
  if (!conn.open) return
  for (const hook of recovery.hooks) {
    try {
      await hook(conn, { previousId: taken.previousId, recovered })
    } catch (err) {
      conn.log.error({ err }, 'onResume hook failed')
    }
  }
}
