import type { Connection } from './connection.js'
import type { Engine } from './engine.js'
import { CloseCode, ErrorCode } from './errors.js'
import { kState } from './symbols.js'

const OPEN = 1

function later (ms: number, fn: () => void): NodeJS.Timeout {
  const t = setTimeout(fn, Math.max(0, ms))
  t.unref()
  return t
}

/**
 * Per-connection session timers: heartbeat, idle, max duration and token
 * expiry. Each concern owns at most one pending timer; activity does not
 * re-arm anything per message (the idle timer re-checks `lastActive` when it
 * fires), so the hot path stays timer-free.
 */
export class SessionTimers {
  private ping: NodeJS.Timeout | null = null
  private pong: NodeJS.Timeout | null = null
  private idle: NodeJS.Timeout | null = null
  private life: NodeJS.Timeout | null = null
  private token: NodeJS.Timeout | null = null
  private idleWarned = false

  constructor (private readonly engine: Engine, private readonly conn: Connection) {}

  start (): void {
    const cfg = this.engine.opts.session
    this.ping = later(cfg.heartbeatInterval * 1000, () => this.sendPing())
    if (cfg.idleTimeout > 0) this.armIdle()
    if (cfg.maxDuration > 0) this.armLifetime()
    this.armToken()
  }

  /** A `__pong__` arrived. */
  pongReceived (): void {
    if (this.pong !== null) {
      clearTimeout(this.pong)
      this.pong = null
    }
  }

  /** The identity changed (token refresh): reschedule the token timers. */
  tokenChanged (): void {
    if (this.token !== null) clearTimeout(this.token)
    this.token = null
    this.armToken()
  }

  clear (): void {
    for (const t of [this.ping, this.pong, this.idle, this.life, this.token]) {
      if (t !== null) clearTimeout(t)
    }
    this.ping = this.pong = this.idle = this.life = this.token = null
  }

  /** Number of pending timers (for leak tests). */
  get pending (): number {
    let n = 0
    for (const t of [this.ping, this.pong, this.idle, this.life, this.token]) if (t !== null) n++
    return n
  }

  private alive (): boolean {
    return this.conn[kState] === OPEN
  }

  private sendPing (): void {
    this.ping = null
    if (!this.alive()) return
    const cfg = this.engine.opts.session
    this.conn.emit('__ping__', { ts: Date.now() })
    if (this.pong === null) {
      this.pong = later(cfg.heartbeatTimeout * 1000, () => {
        this.pong = null
        this.engine.close(this.conn, CloseCode.HEARTBEAT_TIMEOUT, 'heartbeat_timeout')
      })
    }
    this.ping = later(cfg.heartbeatInterval * 1000, () => this.sendPing())
  }

  private idleLeadMs (): number {
    const idle = this.engine.opts.session.idleTimeout
    return Math.min(30, idle * 0.1) * 1000
  }

  private armIdle (): void {
    const idleMs = this.engine.opts.session.idleTimeout * 1000
    const warnAt = this.conn.lastActive + idleMs - this.idleLeadMs()
    this.idleWarned = false
    this.idle = later(warnAt - Date.now(), () => this.idleCheck())
  }

  private idleCheck (): void {
    this.idle = null
    if (!this.alive()) return
    const idleMs = this.engine.opts.session.idleTimeout * 1000
    const lead = this.idleLeadMs()
    const now = Date.now()
    const closeAt = this.conn.lastActive + idleMs
    if (!this.idleWarned) {
      if (now < closeAt - lead) {
        // activity since the timer was armed: wait for the new deadline
        this.idle = later(closeAt - lead - now, () => this.idleCheck())
        return
      }
      this.idleWarned = true
      this.conn.emit('__idle_warning__', { seconds_left: Math.max(0, (closeAt - now) / 1000) })
      this.idle = later(closeAt - now, () => this.idleCheck())
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
    const now = Date.now()
    this.life = later(expiresAt - lead - now, () => {
      this.life = null
      if (!this.alive()) return
      const left = Math.max(0, expiresAt - Date.now())
      this.conn.emit('__session_expiring__', { expires_at: expiresAt, seconds_left: left / 1000 })
      this.life = later(left, () => {
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
    const now = Date.now()
    const expire = (): void => {
      this.token = null
      if (!this.alive()) return
      this.engine.sendError(this.conn, ErrorCode.AUTH_EXPIRED, undefined, {}, undefined, undefined)
      this.engine.close(this.conn, CloseCode.AUTH_EXPIRED, 'auth_expired')
    }
    this.token = later(exp - windowMs - now, () => {
      this.token = null
      if (!this.alive()) return
      const left = Math.max(0, exp - Date.now())
      this.conn.emit('__auth_expiring__', { expires_at: exp, seconds_left: left / 1000 })
      this.token = later(left, expire)
    })
  }
}
