import type { Connection } from './connection.js'
import type { Engine } from './engine.js'
import { Timer } from './clock.js'
import { CloseCode, ErrorCode } from './errors.js'
import { kSeen, kState } from './symbols.js'

const OPEN = 1

/**
 * Per-connection session timers: heartbeat, idle, max duration and token
 * expiry. Each concern owns at most one pending timer; activity does not
 * re-arm anything per message (the idle timer re-checks `lastActive` and the
 * heartbeat a flag when they fire), so the hot path stays timer-free. Timers
 * read the engine's clock and are chained past Node's 24.8-day limit, so any
 * lifetime works.
 */
export class SessionTimers {
  private ping: Timer | null = null
  private pong: Timer | null = null
  private idle: Timer | null = null
  private life: Timer | null = null
  private token: Timer | null = null
  private idleWarned = false

  constructor (private readonly engine: Engine, private readonly conn: Connection) {}

  private later (ms: number, fn: () => void): Timer {
    return new Timer(this.engine.clock, ms, fn)
  }

  start (): void {
    const cfg = this.engine.opts.session
    this.ping = this.later(cfg.heartbeatInterval * 1000, () => this.sendPing())
    if (cfg.idleTimeout > 0) this.armIdle()
    if (cfg.maxDuration > 0) this.armLifetime()
    this.armToken()
  }

  /** A `__pong__` arrived (any frame already counts as proof of life; this ends the wait at once). */
  pongReceived (): void {
    this.conn[kSeen] = true
    if (this.pong !== null) {
      this.pong.cancel()
      this.pong = null
    }
  }

  /** The identity changed (token refresh): reschedule the token timers. */
  tokenChanged (): void {
    this.token?.cancel()
    this.token = null
    this.armToken()
  }

  clear (): void {
    for (const t of [this.ping, this.pong, this.idle, this.life, this.token]) t?.cancel()
    this.ping = this.pong = this.idle = this.life = this.token = null
  }

  /** Number of pending timers (for leak tests). */
  get pending (): number {
    let n = 0
    for (const t of [this.ping, this.pong, this.idle, this.life, this.token]) if (t !== null && t.pending) n++
    return n
  }

  private alive (): boolean {
    return this.conn[kState] === OPEN
  }

  /**
   * `__ping__` plus a ping control frame. The client is alive if, within
   * heartbeatTimeout, it sends `__pong__`, a pong control frame or any other
   * frame; so plain RFC 6455 clients and browsers stay connected.
   */
  private sendPing (): void {
    this.ping = null
    if (!this.alive()) return
    const cfg = this.engine.opts.session
    const engine = this.engine
    engine.emitSystem(this.conn, '__ping__', { ts: engine.clock.now() })
    engine.out.ping(this.conn)
    if (this.pong === null) {
      this.conn[kSeen] = false
      this.pong = this.later(cfg.heartbeatTimeout * 1000, () => {
        this.pong = null
        if (!this.alive() || this.conn[kSeen]) return
        engine.close(this.conn, CloseCode.HEARTBEAT_TIMEOUT, 'heartbeat_timeout')
      })
    }
    this.ping = this.later(cfg.heartbeatInterval * 1000, () => this.sendPing())
  }

  private idleLeadMs (): number {
    const idle = this.engine.opts.session.idleTimeout
    return Math.min(30, idle * 0.1) * 1000
  }

  private armIdle (): void {
    const idleMs = this.engine.opts.session.idleTimeout * 1000
    const warnAt = this.conn.lastActive + idleMs - this.idleLeadMs()
    this.idleWarned = false
    this.idle = this.later(warnAt - this.engine.clock.now(), () => this.idleCheck())
  }

  private idleCheck (): void {
    this.idle = null
    if (!this.alive()) return
    const idleMs = this.engine.opts.session.idleTimeout * 1000
    const lead = this.idleLeadMs()
    const now = this.engine.clock.now()
    const closeAt = this.conn.lastActive + idleMs
    if (!this.idleWarned) {
      if (now < closeAt - lead) {
        // activity since the timer was armed: wait for the new deadline
        this.idle = this.later(closeAt - lead - now, () => this.idleCheck())
        return
      }
      this.idleWarned = true
      this.engine.emitSystem(this.conn, '__idle_warning__', { seconds_left: Math.max(0, (closeAt - now) / 1000) })
      this.idle = this.later(closeAt - now, () => this.idleCheck())
      return
    }
    if (now < closeAt) {
      // the client became active after the warning: start a new idle period
      this.armIdle()
      return
    }
    this.engine.sendError(this.conn, ErrorCode.IDLE_TIMEOUT, undefined, {}, undefined, undefined)
    this.engine.close(this.conn, CloseCode.IDLE_TIMEOUT, 'idle_timeout')
  }

  private armLifetime (): void {
    const max = this.engine.opts.session.maxDuration
    const expiresAt = this.conn.session.expiresAt as number
    const lead = Math.min(60, max * 0.1) * 1000
    const clock = this.engine.clock
    this.life = this.later(expiresAt - lead - clock.now(), () => {
      this.life = null
      if (!this.alive()) return
      const left = Math.max(0, expiresAt - clock.now())
      this.engine.emitSystem(this.conn, '__session_expiring__', { expires_at: expiresAt, seconds_left: left / 1000 })
      this.life = this.later(left, () => {
        this.life = null
        if (!this.alive()) return
        this.engine.sendError(this.conn, ErrorCode.SESSION_EXPIRED, undefined, {}, undefined, undefined)
        this.engine.close(this.conn, CloseCode.SESSION_EXPIRED, 'session_expired')
      })
    })
  }

  private armToken (): void {
    const exp = this.conn.identity.tokenExpiresAt
    if (exp === null || !Number.isFinite(exp)) return
    const windowMs = this.engine.opts.session.tokenRefreshWindow * 1000
    const clock = this.engine.clock
    const expire = (): void => {
      this.token = null
      if (!this.alive()) return
      this.engine.sendError(this.conn, ErrorCode.AUTH_EXPIRED, undefined, {}, undefined, undefined)
      this.engine.close(this.conn, CloseCode.AUTH_EXPIRED, 'auth_expired')
    }
    this.token = this.later(exp - windowMs - clock.now(), () => {
      this.token = null
      if (!this.alive()) return
      const left = Math.max(0, exp - clock.now())
      this.engine.emitSystem(this.conn, '__auth_expiring__', { expires_at: exp, seconds_left: left / 1000 })
      this.token = this.later(left, expire)
    })
  }
}
