import type { FastifyBaseLogger } from 'fastify'
import type { IncomingHttpHeaders } from 'node:http'
import type { WebSocket } from 'ws'
import type { Identity } from './types.js'
import type { TokenBucket } from './rate-limit.js'
import type { PreparedFrame } from './frame.js'
import type { OverCap } from './outbound.js'
import type { Engine } from './engine.js'
import type { SessionTimers } from './session.js'
import type { ReplayBuffer } from './recovery.js'
import { kAcks, kReplay, kResumeToken, kLog, kCorked, kRegistered, kBuckets, kCloseInfo, kEngine, kInflight, kOrdered, kQueue, kOverCap, kQueueBytes, kRefreshes, kSeen, kSocket, kState, kTimers } from './symbols.js'

/** Connection lifecycle states. */
export const ConnState = { PENDING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 } as const

/** Session times of a connection (Unix epoch milliseconds). */
export interface SessionInfo {
  startedAt: number
  /** When maxDuration ends the session, or null. */
  expiresAt: number | null
  tokenExpiresAt: number | null
}

/** A `conn.request()` waiting for the client's `__ack__`. */
export interface PendingAck {
  event: string
  resolve: (payload: any) => void
  reject: (err: Error) => void
  timer: { cancel: () => void }
}

/** Options of `conn.request()`. */
export interface ConnectionRequestOptions {
  /** Seconds to wait for the client's `__ack__` before ACK_TIMEOUT (default 10). */
  timeout?: number
}

/** Target returned by `conn.to(room)`. */
export interface RoomTarget {
  /** Send to every member of the room on every node (except the sender for `conn.to`). */
  emit (event: string, payload?: unknown): Promise<void>
}

/**
 * One client connection. Handlers receive it as their first argument.
 *
 * @example
 * app.socket.on('whoami', {}, async (conn) => { conn.emit('me', { id: conn.id, user: conn.identity.userId }) })
 */
export class Connection {
  /** Connection id (uuid). */
  readonly id: string
  /** Identity established by the auth backend; all null without auth. */
  identity: Identity
  readonly session: SessionInfo
  /** Epoch ms of the upgrade. */
  readonly connectedAt: number
  /** Epoch ms of the last application event. */
  lastActive: number
  /** Rooms this connection is in (on this node). */
  readonly rooms = new Set<string>()
  /** Free-form per-connection state for the application. */
  metadata: Record<string, unknown> = {}
  readonly headers: IncomingHttpHeaders
  readonly query: Record<string, string | string[] | undefined>
  readonly namespace: string

  /** @internal */ [kEngine]: Engine
  /** @internal */ [kSocket]: WebSocket
  /** @internal */ [kState]: number
  /** @internal true once __connect__ was sent (onDisconnect runs only then) */ [kRegistered]: boolean
  /** @internal frames received while authentication runs */ [kQueue]: Array<[Buffer, boolean]> | null
  /** @internal tail of the ordered-event chain */ [kOrdered]: Promise<void> | null
  /** @internal connection bucket followed by per-event buckets, by event index */ [kBuckets]: Array<TokenBucket | undefined>
  /** @internal */ [kTimers]: SessionTimers | null
  /** @internal handlers running */ [kInflight]: number
  /** @internal why the server closed it */ [kCloseInfo]: { code: number, reason: string } | null
  /** @internal writes held until the end of the tick */ [kCorked]: boolean
  /** @internal bytes in kQueue */ [kQueueBytes]: number
  /** @internal set while the client's unsent bytes are over maxBufferedBytes */ [kOverCap]: OverCap | null
  /** @internal a frame or pong arrived since the last heartbeat ping */ [kSeen]: boolean
  /** @internal times of recent __refresh_auth__ attempts */ [kRefreshes]: number[] | null

  /** @internal server requests waiting for __ack__ */ [kAcks]: Map<string, PendingAck> | null
  /** @internal with recovery: the token of this session */ [kResumeToken]: string | null
  /** @internal with recovery: room frames held while a resume replays */ [kReplay]: ReplayBuffer | null
  /** @internal the child logger, created on first use (most connections never log) */ [kLog]: FastifyBaseLogger | null

  constructor (engine: Engine, socket: WebSocket, id: string, headers: IncomingHttpHeaders, query: Record<string, string | string[] | undefined>, identity: Identity) {
    this[kEngine] = engine
    this[kSocket] = socket
    this[kState] = ConnState.PENDING
    this[kRegistered] = false
    this[kQueue] = []
    this[kOrdered] = null
    this[kBuckets] = []
    this[kTimers] = null
    this[kInflight] = 0
    this[kCloseInfo] = null
    this[kCorked] = false
    this[kQueueBytes] = 0
    this[kOverCap] = null
    this[kSeen] = true
    this[kRefreshes] = null
    this[kAcks] = null
    this[kResumeToken] = null
    this[kReplay] = null
    this.id = id
    this.headers = headers
    this.query = query
    this.identity = identity
    this.namespace = engine.namespace
    this[kLog] = null
    const now = engine.clock.now()
    this.connectedAt = now
    this.lastActive = now
    this.session = { startedAt: now, expiresAt: null, tokenExpiresAt: null }
  }

  /** pino child logger bound to `connectionId`. */
  get log (): FastifyBaseLogger {
    let log = this[kLog]
    if (log === null) log = this[kLog] = this[kEngine].log.child({ connectionId: this.id })
    return log
  }

  /** True once the connection is closing or closed; nothing is delivered any more. */
  get closed (): boolean {
    return this[kState] >= ConnState.CLOSING
  }

  /**
   * Send an event to this client. A declared event's payload is checked
   * against its schema (SocketError OUTBOUND_VALIDATION_ERROR, nothing sent)
   * and serialized by its compiled serializer.
   */
  emit (event: string, payload?: unknown): void {
    const engine = this[kEngine]
    engine.send(this, engine.serializer.frame(event, payload), event)
  }

  /** True while the connection is open and authenticated. */
  get open (): boolean {
    return this[kState] === ConnState.OPEN
  }

  /** @internal Deliver an already serialized frame (used by rooms and broadcasts). */
  send (frame: string): void {
    this[kEngine].send(this, frame)
  }

  /** @internal Deliver a frame encoded once for many receivers (broadcasts). */
  sendPrepared (frame: PreparedFrame): void {
    const replay = this[kReplay]
    if (replay !== null && frame.offset !== undefined) {
      replay.frames.push(frame)
      return
    }
    this[kEngine].sendPrepared(this, frame)
  }

  /**
   * Ask the client something: sends `event` with a server-made `id` and resolves
   * with the payload of the client's `__ack__` for it. Rejects with a SocketError:
   * ACK_TIMEOUT, the code the client refused with, or DISCONNECTED when the
   * connection closes first. The client SDK answers with `client.handle(event, fn)`.
   *
   * @example
   * const { ok } = await conn.request('confirm', { question: 'Delete?' }, { timeout: 30 })
   */
  request (event: string, payload?: unknown, options: ConnectionRequestOptions = {}): Promise<any> {
    return this[kEngine].request(this, event, payload, options.timeout ?? 10)
  }

  /** Join a room (room guards run first; PERMISSION_ERROR when refused). */
  join (room: string): Promise<void> {
    return this[kEngine].rooms.join(this, room)
  }

  /** Leave a room. */
  leave (room: string): Promise<void> {
    return this[kEngine].rooms.leave(this, room)
  }

  /** Target the members of `room` except this connection. */
  to (room: string): RoomTarget {
    const engine = this[kEngine]
    const except = [this.id]
    return {
      emit: async (event: string, payload?: unknown) => {
        await engine.rooms.broadcast(room, engine.serializer.frame(event, payload), except)
      }
    }
  }

  /** Close the connection normally (1000), after a `__disconnect__` frame. */
  disconnect (reason = 'disconnect'): void {
    this[kEngine].close(this, 1000, reason)
  }
}
