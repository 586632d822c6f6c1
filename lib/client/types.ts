import type { AnyContract } from '../contract-types.js'

/** Where the client is: see `client.onState`. */
export type ClientState = 'connecting' | 'open' | 'reconnecting' | 'closed'

/** What `onState` listeners get with each state. */
export interface StateInfo {
  /** Close code of the connection that ended (with `reconnecting` and `closed`). */
  code?: number
  /** Its close reason. */
  reason?: string
  /** Reconnect attempts since the last connection that lasted 10 s (0 on the first connect). */
  attempt: number
  /** Milliseconds until the next attempt (with `reconnecting`). */
  delay?: number
  /** The connection id from `__connect__` (with `open`). */
  connectionId?: string
  /** `'stale'`, once, when the server's contract hash differs from the `contract` option. */
  contract?: 'stale'
  /** With `open` after a drop: whether the session and every missed room broadcast came back (§12). */
  recovered?: boolean
  /** Why the server refused to resume (with `recovered: false`). */
  resumeReason?: string
  /** The error that ended the connection, when there was one (AUTH_ERROR, AUTH_EXPIRED, ...). */
  error?: Error
}

/** Backoff of automatic reconnects. */
export interface ReconnectOptions {
  /** First delay in ms (default 500). */
  minDelay?: number
  /** Largest delay in ms (default 30 000). */
  maxDelay?: number
  /** Growth per attempt (default 2). */
  factor?: number
  /** Random share taken off or added to each delay, 0–1 (default 0.5). */
  jitter?: number
  /** Attempts before giving up in `closed` (default Infinity). */
  maxAttempts?: number
}

/** The subset of the WebSocket API the client uses (browsers, Node ≥ 22, `ws`). */
export interface WebSocketLike {
  readonly readyState: number
  onopen: ((ev: any) => void) | null
  onmessage: ((ev: { data: any }) => void) | null
  onclose: ((ev: { code: number, reason: string }) => void) | null
  onerror: ((ev: any) => void) | null
  send (data: string): void
  close (code?: number, reason?: string): void
}

/** A WebSocket constructor: the global one, or `ws` (which also takes `{ headers }`). */
export type WebSocketConstructor = new (url: string, protocols?: string | string[], options?: any) => WebSocketLike

/** Options of `connect()`. */
export interface ClientOptions {
  /** A token, or a function (async allowed) called on every connect and on `__auth_expiring__`. */
  token?: string | (() => string | Promise<string>)
  /** Reconnect backoff, or `false` to never reconnect (default: on, see ReconnectOptions). */
  reconnect?: ReconnectOptions | false
  /** Milliseconds before `request()` rejects with TIMEOUT (default 10 000). */
  requestTimeout?: number
  /** Milliseconds from opening a socket to `__connect__` before the attempt counts as failed (default 10 000). */
  connectTimeout?: number
  /** Frames kept while not connected, sent in order once connected (default 1000; beyond: QUEUE_FULL). */
  maxQueue?: number
  /** Resume the session after a drop when the server has `recovery` on (default true). */
  recover?: boolean
  /** The WebSocket implementation (default: the global one in browsers, `ws` in Node). */
  WebSocket?: WebSocketConstructor
  /** The contract hash a generated `api.ts` exports (`contract`): a different server hash is reported as `info.contract = 'stale'`. */
  contract?: string
  /** Sees every frame's text, both ways, system events included (for logs and dev tools). */
  onFrame?: (direction: 'in' | 'out', text: string) => void
}

/** A frame from the server, as `on()` listeners get it. */
export interface ServerFrame<P = unknown> {
  event: string
  payload: P
  id?: string
  /** Room broadcasts with recovery on: the room, its offset and epoch (§12). */
  room?: string
  offset?: number
  epoch?: string
}

/** Options of `request()`. */
export interface RequestOptions {
  /** Milliseconds before TIMEOUT (default: the client's `requestTimeout`). */
  timeout?: number
}

/** Names of the events the client may send. */
export type EventName<C extends AnyContract> = keyof C & string

/** Whether a payload may be left out: the event takes no payload (`unknown`), or its payload accepts `undefined` or `{}`. */
type PayloadOptional<P> = unknown extends P ? true : undefined extends P ? true : {} extends P ? true : false

/** The payload argument of `send()`: optional when the event takes no payload or accepts `{}`. */
export type PayloadArgs<P> = PayloadOptional<P> extends true ? [payload?: P] : [payload: P]

/** The arguments of `request()` after the event: the payload (optional as for `send()`), then options. */
export type RequestArgs<P> = PayloadOptional<P> extends true ? [payload?: P, options?: RequestOptions] : [payload: P, options?: RequestOptions]

/** Events that declare a reply (the only ones `request()` takes). */
export type RequestName<C extends AnyContract> = { [K in keyof C & string]: [C[K]['reply']] extends [never] ? never : K }[keyof C & string]

/** Names of the events the server sends (every `emits`, `broadcasts` and `reply` of the contract). */
export type ServerEventName<C extends AnyContract> = { [K in keyof C]: keyof C[K]['outbound'] & string }[keyof C]

/** The payload type of a server event (a union when several declarations send it). */
export type ServerPayload<C extends AnyContract, N extends string> = { [K in keyof C]: N extends keyof C[K]['outbound'] ? C[K]['outbound'][N] : never }[keyof C]
