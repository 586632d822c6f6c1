import type { Socket } from 'node:net'
import type { WebSocket } from 'ws'
import type { Connection } from './connection.js'
import type { PreparedFrame } from './frame.js'
import type { Clock } from './clock.js'
import { kCorked, kOverCap, kSocket, kState } from './symbols.js'
import { acceptsRawFrames, rawSocket, unsentBytes } from './ws-private.js'

/*
 * The only writer to a WebSocket. Every frame the server sends (replies,
 * emits, broadcasts, errors, system events, the shutdown notice, pings and
 * the close handshake) goes through `Outbound`, so corking, counting and
 * backpressure are decided in one place.
 *
 * The private fields of `ws` it needs are read through lib/ws-private.ts.
 */

const WS_OPEN = 1
const WS_CLOSED = 3
/** Connection states (mirrors ConnState; a number compare keeps this file free of a runtime import cycle). */
const OPEN = 1
/** How long a peer gets to complete the close handshake before the socket is destroyed. */
export const CLOSE_GRACE_MS = 2000
/** A client over the cap must take at least maxBufferedBytes of its backlog per this long, or it is a slow consumer. */
export const DRAIN_GRACE_MS = 1000

/** A connection seen over maxBufferedBytes: its backlog then, and whether I/O was polled since. */
export interface OverCap { bytes: number, polled: boolean }

/** What the writer reports to its engine. */
export interface OutboundOwner {
  readonly maxBufferedBytes: number
  readonly clock: Clock
  readonly stats: { eventsOut: number }
  /** Unsent bytes stayed above maxBufferedBytes after a flush: close the client (4009). */
  slowConsumer (conn: Connection, bufferedAmount: number): void
}

/**
 * Writes frames of one namespace's connections. Writes are corked until the
 * end of the tick, so the frames one batch of inbound messages produces leave
 * in one writev. Right after that flush (when the server has tried to write
 * them) the client's unsent bytes are compared with `maxBufferedBytes`; a
 * client above it is a slow consumer when its backlog grows at a later flush
 * (it does not take what it is sent: a client sending junk it never reads the
 * answers of is closed on the next tick) or has not shrunk by at least
 * `maxBufferedBytes` per DRAIN_GRACE_MS. A client that reads a large one-tick
 * burst drains it and stays. Every frame counts, error frames included.
 */
export class Outbound {
  constructor (private readonly owner: OutboundOwner) {}

  /** True while frames may be written to `conn` (pending auth or open, socket open). */
  writable (conn: Connection): boolean {
    return conn[kState] <= OPEN && conn[kSocket].readyState === WS_OPEN
  }

  /** Write one text frame. False when the connection no longer takes frames. */
  text (conn: Connection, frame: string): boolean {
    const ws = this.#ready(conn)
    if (ws === null) return false
    ws.send(frame)
    this.owner.stats.eventsOut++
    return true
  }

  /**
   * Write a frame serialized and encoded once for many receivers (broadcasts):
   * its bytes go straight to the socket when ws allows it, else through ws.
   */
  prepared (conn: Connection, frame: PreparedFrame): boolean {
    const ws = this.#ready(conn)
    if (ws === null) return false
    if (acceptsRawFrames(ws)) rawSocket(ws)!.write(frame.bytes)
    else ws.send(frame.text)
    this.owner.stats.eventsOut++
    return true
  }

  /** A WebSocket ping control frame (every RFC 6455 client answers it with a pong by itself). */
  ping (conn: Connection): void {
    this.#ready(conn)?.ping()
  }

  /**
   * The close handshake: a close frame now, the socket destroyed if the peer
   * has not completed the handshake within CLOSE_GRACE_MS. The caller has
   * already moved the connection out of the open state, so nothing else is
   * written after the close frame.
   */
  close (conn: Connection, code: number, reason: string): void {
    const ws = conn[kSocket]
    try {
      ws.close(code, reason)
    } catch /* c8 ignore next 2 */ {
      ws.terminate()
    }
    if (ws.readyState === WS_CLOSED) return
    const t = setTimeout(() => { if (ws.readyState !== WS_CLOSED) ws.terminate() }, CLOSE_GRACE_MS)
    t.unref()
    ws.once('close', () => clearTimeout(t))
  }

  /**
   * The socket to write to, or null when the connection no longer takes frames.
   * The first write of a tick corks the socket until the end of the tick; the
   * flush then checks backpressure.
   */
  #ready (conn: Connection): WebSocket | null {
    if (!this.writable(conn)) return null
    const ws = conn[kSocket]
    if (!conn[kCorked]) {
      conn[kCorked] = true
      const raw = rawSocket(ws)
      raw?.cork()
      process.nextTick(flush, this, conn, raw)
    }
    return ws
  }

  /** @internal Called after the flush: watch or close a client whose unsent bytes are over the cap. */
  afterFlush (conn: Connection): void {
    if (!this.writable(conn)) return
    const unsent = unsentBytes(conn[kSocket])
    const over = conn[kOverCap]
    if (unsent <= this.owner.maxBufferedBytes) {
      if (over !== null) conn[kOverCap] = null
      return
    }
    if (over === null) {
      const watch = { bytes: unsent, polled: false }
      conn[kOverCap] = watch
      // growth only counts once the event loop polled I/O: frames of the same turn are one burst
      setImmediate(() => { watch.polled = true })
      this.#watch(conn, watch)
    } else if (over.polled && unsent > over.bytes) {
      this.owner.slowConsumer(conn, unsent)
    }
  }

  /** Re-check a client over the cap after DRAIN_GRACE_MS: it must have taken some of its backlog. */
  #watch (conn: Connection, watch: OverCap): void {
    this.owner.clock.setTimeout(() => {
      if (conn[kOverCap] !== watch || !this.writable(conn)) return
      const unsent = unsentBytes(conn[kSocket])
      if (unsent <= this.owner.maxBufferedBytes) {
        conn[kOverCap] = null
      } else if (watch.bytes - unsent >= this.owner.maxBufferedBytes) {
        // it took at least maxBufferedBytes since the last look: a reader working through a burst
        watch.bytes = unsent
        this.#watch(conn, watch)
      } else {
        this.owner.slowConsumer(conn, unsent)
      }
    }, DRAIN_GRACE_MS)
  }
}

function flush (out: Outbound, conn: Connection, raw: Socket | null): void {
  conn[kCorked] = false
  raw?.uncork()
  out.afterFlush(conn)
}
