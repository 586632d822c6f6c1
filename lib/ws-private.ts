import type { Socket } from 'node:net'
import type { WebSocket } from 'ws'

/*
 * The only file that reads private fields of `ws` (`_socket`, `_sender`,
 * `_extensions`) and of Node's stream sockets. The server's writer
 * (lib/outbound.ts) and the Node client (lib/client/index.ts) use them;
 * package.json pins ws to a minor range and test/outbound.test.ts fails when
 * those fields change.
 */

/** The fields of a ws WebSocket this module relies on. */
interface WsPrivate {
  _socket?: PrivateSocket | null
  _sender?: { _queue?: unknown[], _bufferedBytes?: number } | null
  _extensions?: Record<string, unknown>
}

/** The fields of a Node stream socket `unsentBytes` reads. */
interface PrivateSocket extends Socket {
  _writableState?: { length: number, writing: boolean, writelen: number }
  /** libuv's queue: bytes of dispatched writes the kernel has not taken yet. */
  _handle?: { writeQueueSize?: number } | null
}

/**
 * Bytes the server produced for this client that have not reached the
 * kernel: frames queued inside ws, chunks buffered by the stream and not yet
 * dispatched, and what libuv could not write of the dispatched ones. Unlike
 * `ws.bufferedAmount`, a batch the kernel took at once does not count while
 * its completion callback is pending.
 */
export function unsentBytes (ws: WebSocket): number {
  const w = ws as unknown as WsPrivate
  const raw = w._socket
  let n = w._sender?._bufferedBytes ?? 0
  if (raw == null) return n + (ws.bufferedAmount || 0)
  const st = raw._writableState
  if (st === undefined) return n + raw.writableLength
  n += st.length - (st.writing ? st.writelen : 0)
  return n + (raw._handle?.writeQueueSize ?? 0)
}

/** The TCP (or injected duplex) socket under a ws WebSocket, or null. */
export function rawSocket (ws: WebSocket): Socket | null {
  return (ws as unknown as WsPrivate)._socket ?? null
}

/**
 * True when pre-encoded frame bytes may be written straight to the socket:
 * ws has nothing queued in its sender (order is kept) and no extension
 * (permessage-deflate) transforms frames.
 */
export function acceptsRawFrames (ws: WebSocket): boolean {
  const w = ws as unknown as WsPrivate
  if (w._socket == null || w._sender?._queue?.length !== 0) return false
  const ext = w._extensions
  return ext !== undefined && Object.keys(ext).length === 0
}

/** A Node socket this module corked until the end of the tick, with the frames written since it was. */
const kTickCorked = Symbol('socketspec.tickCorked')
type Corkable = Socket & { [kTickCorked]?: number }
let corked: Corkable[] = []

/**
 * Frames held at most before they are flushed within the same tick: the peer
 * starts on the first ones while the rest are produced, instead of the two
 * ends taking turns on one large batch.
 */
export const CORK_FRAMES = 16

function uncorkAll (): void {
  const list = corked
  corked = []
  for (const s of list) {
    s[kTickCorked] = 0
    s.uncork()
  }
}

/**
 * Hold the writes of `ws`'s socket until the end of the current tick, so the
 * frames sent in one tick leave in few writevs (one syscall per CORK_FRAMES
 * frames, fewer TCP segments) instead of one write each. Call it before each
 * send; does nothing for a WebSocket that is not `ws` or has no socket yet.
 */
export function corkUntilTick (ws: unknown): void {
  const s = (ws as WsPrivate)._socket as Corkable | null | undefined
  if (s == null || typeof s.cork !== 'function') return
  const n = s[kTickCorked] ?? 0
  if (n === 0) {
    s.cork()
    if (corked.push(s) === 1) process.nextTick(uncorkAll)
  } else if (n % CORK_FRAMES === 0) {
    // flush what is held, keep corking the rest of the tick
    s.uncork()
    s.cork()
  }
  s[kTickCorked] = n + 1
}
