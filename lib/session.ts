import type { Connection } from './connection.js'
import type { Engine } from './engine.js'
import { MAX_TIMEOUT_MS, type Clock, type TimerHandle } from './clock.js'
import { CloseCode, ErrorCode } from './errors.js'
import { kSeen, kState } from './symbols.js'

const OPEN = 1
/** No deadline. */
const NONE = Infinity

/**
 * One clock timer for the session deadlines of all of an engine's
 * connections: a binary min-heap of their SessionTimers by earliest deadline
 * (issue 14: no timer, Timeout or closure per idle connection). When it fires
 * it takes every entry due, then runs them in due order; what they set at or
 * before now waits for the next turn of the clock, as a timer of its own
 * would. Delays above Node's 24.8-day limit are chained.
 */
export class SessionScheduler {
  readonly #clock: Clock
  readonly #heap: SessionTimers[] = []
  #handle: TimerHandle = null
  /** When the armed clock timer fires (NONE: not armed). */
  #armedAt = NONE
  readonly #wake = (): void => { this.#run() }

  constructor (clock: Clock) {
    this.#clock = clock
  }

  /** Connections with a deadline. */
  get size (): number {
    return this.#heap.length
  }

  /** Set when `t` is due next (NONE: never). */
  set (t: SessionTimers, at: number): void {
    const i = t.heapIndex
    if (at === NONE) {
      if (i !== -1) this.#remove(i)
    } else if (i === -1) {
      t.dueAt = at
      t.heapIndex = this.#heap.length
      this.#heap.push(t)
      this.#up(t.heapIndex)
    } else {
      const old = t.dueAt
      t.dueAt = at
      if (at < old) this.#up(i)
      else this.#down(i)
    }
    this.#arm()
  }

  #arm (): void {
    const top = this.#heap[0]
    const next = top === undefined ? NONE : top.dueAt
    if (next === NONE) {
      this.#disarm()
      return
    }
    // an earlier wake finds nothing due and re-arms
    if (this.#armedAt <= next) return
    this.#disarm()
    const now = this.#clock.now()
    const left = next - now
    const delay = left > MAX_TIMEOUT_MS ? MAX_TIMEOUT_MS : left > 0 ? left : 0
    this.#armedAt = now + delay
    this.#handle = this.#clock.setTimeout(this.#wake, delay)
  }

  #disarm (): void {
    if (this.#armedAt === NONE) return
    this.#clock.clearTimeout(this.#handle)
    this.#handle = null
    this.#armedAt = NONE
  }

  #run (): void {
    this.#handle = null
    this.#armedAt = NONE
    const heap = this.#heap
    const now = this.#clock.now()
    const due: SessionTimers[] = []
    while (heap.length > 0 && heap[0].dueAt <= now) {
      due.push(heap[0])
      this.#remove(0)
    }
    for (let i = 0; i < due.length; i++) due[i].fire()
    this.#arm()
  }

  #remove (i: number): void {
    const heap = this.#heap
    const gone = heap[i]
    gone.heapIndex = -1
    gone.dueAt = NONE
    const last = heap.pop() as SessionTimers
    if (last === gone) return
    heap[i] = last
    last.heapIndex = i
    this.#up(i)
    this.#down(last.heapIndex)
  }

  #up (i: number): void {
    const heap = this.#heap
    const t = heap[i]
    while (i > 0) {
      const p = (i - 1) >> 1
      const parent = heap[p]
      if (parent.dueAt <= t.dueAt) break
      heap[i] = parent
      parent.heapIndex = i
      i = p
    }
    heap[i] = t
    t.heapIndex = i
  }

  #down (i: number): void {
    const heap = this.#heap
    const n = heap.length
    const t = heap[i]
    for (;;) {
      const l = 2 * i + 1
      if (l >= n) break
      const r = l + 1
      const c = r < n && heap[r].dueAt < heap[l].dueAt ? r : l
      const child = heap[c]
      if (child.dueAt >= t.dueAt) break
      heap[i] = child
      child.heapIndex = i
      i = c
    }
    heap[i] = t
    t.heapIndex = i
  }
}

/**
 * Per-connection session deadlines: heartbeat ping, pong wait, idle, max
 * duration and token expiry, as plain numbers (epoch ms); the engine's
 * SessionScheduler wakes the connection at the earliest. Activity does not
 * re-arm anything per message (the idle deadline re-checks `lastActive` and
 * the heartbeat a flag when they come), so the hot path stays timer-free; a
 * `__pong__` only clears the pong deadline (the connection, if due for it,
 * wakes once for nothing). Deadlines run in due order, each when the clock
 * reaches it, never early.
 */
export class SessionTimers {
  #pingAt = NONE
  #pongAt = NONE
  #idleAt = NONE
  #lifeAt = NONE
  #tokenAt = NONE
  #idleWarned = false
  #lifeWarned = false
  #tokenWarned = false
  /** Expiry of the token the token deadline was set for. */
  #tokenExp = 0
  /** End of the session (maxDuration) the lifetime deadline was set for. */
  #lifeExp = 0
  /** @internal when the scheduler wakes this connection (NONE: not in its heap) */
  dueAt = NONE
  /** @internal position in the scheduler's heap, or -1 */
  heapIndex = -1
  readonly #engine: Engine
  readonly #conn: Connection

  constructor (engine: Engine, conn: Connection) {
    this.#engine = engine
    this.#conn = conn
  }

  start (): void {
    const cfg = this.#engine.opts.session
    this.#pingAt = this.#engine.clock.now() + cfg.heartbeatInterval * 1000
    if (cfg.idleTimeout > 0) this.#armIdle()
    if (cfg.maxDuration > 0) this.#armLifetime()
    this.#armToken()
    this.#schedule()
  }

  /** A `__pong__` arrived (any frame already counts as proof of life; this ends the wait at once). */
  pongReceived (): void {
    this.#conn[kSeen] = true
    this.#pongAt = NONE
  }

  /** The identity changed (token refresh): reschedule the token deadlines. */
  tokenChanged (): void {
    this.#armToken()
    this.#schedule()
  }

  clear (): void {
    this.#pingAt = this.#pongAt = this.#idleAt = this.#lifeAt = this.#tokenAt = NONE
    this.#engine.sessions.set(this, NONE)
  }

  /** Number of pending deadlines (for leak tests). */
  get pending (): number {
    let n = 0
    for (const at of [this.#pingAt, this.#pongAt, this.#idleAt, this.#lifeAt, this.#tokenAt]) if (at !== NONE) n++
    return n
  }

  #alive (): boolean {
    return this.#conn[kState] === OPEN
  }

  /** Have the scheduler wake this connection at its earliest deadline (an earlier wake finds nothing due and comes back here). */
  #schedule (): void {
    const next = Math.min(this.#pingAt, this.#pongAt, this.#idleAt, this.#lifeAt, this.#tokenAt)
    if (next === NONE || this.heapIndex === -1 || next < this.dueAt) this.#engine.sessions.set(this, next)
  }

  /**
   * @internal The scheduler woke this connection: run the deadlines due now,
   * earliest first, then schedule the next. A deadline a handler sets at or
   * before now waits for the next turn of the clock.
   */
  fire (): void {
    const clock = this.#engine.clock
    const now = clock.now()
    const pong = this.#pongAt
    const ping = this.#pingAt
    const idle = this.#idleAt
    const life = this.#lifeAt
    const token = this.#tokenAt
    for (;;) {
      // ties keep one order: pong wait, ping, idle, lifetime, token
      let next = NONE
      let due = -1
      if (pong <= now && this.#pongAt === pong) { next = pong; due = 0 }
      if (ping <= now && this.#pingAt === ping && ping < next) { next = ping; due = 1 }
      if (idle <= now && this.#idleAt === idle && idle < next) { next = idle; due = 2 }
      if (life <= now && this.#lifeAt === life && life < next) { next = life; due = 3 }
      if (token <= now && this.#tokenAt === token && token < next) due = 4
      if (due === -1) break
      if (due === 0) this.#pongDue()
      else if (due === 1) this.#sendPing(clock.now())
      else if (due === 2) this.#idleCheck(clock.now())
      else if (due === 3) this.#lifeDue(clock.now())
      else this.#tokenDue(clock.now())
    }
    this.#schedule()
  }

  /**
   * `__ping__` plus a ping control frame. The client is alive if, within
   * heartbeatTimeout, it sends `__pong__`, a pong control frame or any other
   * frame; so plain RFC 6455 clients and browsers stay connected.
   */
  #sendPing (now: number): void {
    this.#pingAt = NONE
    if (!this.#alive()) return
    const cfg = this.#engine.opts.session
    const engine = this.#engine
    engine.emitSystem(this.#conn, '__ping__', { ts: now })
    engine.out.ping(this.#conn)
    if (this.#pongAt === NONE) {
      this.#conn[kSeen] = false
      this.#pongAt = now + cfg.heartbeatTimeout * 1000
    }
    this.#pingAt = now + cfg.heartbeatInterval * 1000
  }

  #pongDue (): void {
    this.#pongAt = NONE
    if (!this.#alive() || this.#conn[kSeen]) return
    this.#engine.close(this.#conn, CloseCode.HEARTBEAT_TIMEOUT, 'heartbeat_timeout')
  }

  #idleLeadMs (): number {
    const idle = this.#engine.opts.session.idleTimeout
    return Math.min(30, idle * 0.1) * 1000
  }

  #armIdle (): void {
    const idleMs = this.#engine.opts.session.idleTimeout * 1000
    this.#idleWarned = false
    this.#idleAt = this.#conn.lastActive + idleMs - this.#idleLeadMs()
  }

  #idleCheck (now: number): void {
    this.#idleAt = NONE
    if (!this.#alive()) return
    const idleMs = this.#engine.opts.session.idleTimeout * 1000
    const lead = this.#idleLeadMs()
    const closeAt = this.#conn.lastActive + idleMs
    if (!this.#idleWarned) {
      if (now < closeAt - lead) {
        // activity since the deadline was set: wait for the new one
        this.#idleAt = closeAt - lead
        return
      }
      this.#idleWarned = true
      this.#engine.emitSystem(this.#conn, '__idle_warning__', { seconds_left: Math.max(0, (closeAt - now) / 1000) })
      this.#idleAt = Math.max(now, closeAt)
      return
    }
    if (now < closeAt) {
      // the client became active after the warning: start a new idle period
      this.#armIdle()
      return
    }
    this.#engine.sendError(this.#conn, ErrorCode.IDLE_TIMEOUT, undefined, {}, undefined, undefined)
    this.#engine.close(this.#conn, CloseCode.IDLE_TIMEOUT, 'idle_timeout')
  }

  #armLifetime (): void {
    const max = this.#engine.opts.session.maxDuration
    const expiresAt = this.#lifeExp = this.#conn.session.expiresAt as number
    const lead = Math.min(60, max * 0.1) * 1000
    this.#lifeWarned = false
    this.#lifeAt = expiresAt - lead
  }

  #lifeDue (now: number): void {
    this.#lifeAt = NONE
    if (!this.#alive()) return
    const expiresAt = this.#lifeExp
    if (!this.#lifeWarned) {
      this.#lifeWarned = true
      const left = Math.max(0, expiresAt - now)
      this.#engine.emitSystem(this.#conn, '__session_expiring__', { expires_at: expiresAt, seconds_left: left / 1000 })
      this.#lifeAt = now + left
      return
    }
    this.#engine.sendError(this.#conn, ErrorCode.SESSION_EXPIRED, undefined, {}, undefined, undefined)
    this.#engine.close(this.#conn, CloseCode.SESSION_EXPIRED, 'session_expired')
  }

  #armToken (): void {
    this.#tokenAt = NONE
    this.#tokenWarned = false
    const exp = this.#conn.identity.tokenExpiresAt
    if (exp === null || !Number.isFinite(exp)) return
    this.#tokenExp = exp
    this.#tokenAt = exp - this.#engine.opts.session.tokenRefreshWindow * 1000
  }

  #tokenDue (now: number): void {
    this.#tokenAt = NONE
    if (!this.#alive()) return
    const exp = this.#tokenExp
    if (!this.#tokenWarned) {
      this.#tokenWarned = true
      const left = Math.max(0, exp - now)
      this.#engine.emitSystem(this.#conn, '__auth_expiring__', { expires_at: exp, seconds_left: left / 1000 })
      this.#tokenAt = now + left
      return
    }
    this.#engine.sendError(this.#conn, ErrorCode.AUTH_EXPIRED, undefined, {}, undefined, undefined)
    this.#engine.close(this.#conn, CloseCode.AUTH_EXPIRED, 'auth_expired')
  }
}
