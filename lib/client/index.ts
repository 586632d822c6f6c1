// `socketspec/client` in Node: `ws` is the default WebSocket (Node 20 has no
// global one), and tokens go in the Authorization header.
import WebSocket from 'ws'
import type { AnyContract } from '../contract-types.js'
import { SocketspecClient } from './core.js'
import { corkUntilTick } from '../ws-private.js'
import type { ClientOptions, WebSocketConstructor } from './types.js'

export { SocketspecClient } from './core.js'
export { SocketError, isSocketError, CLIENT_ERRORS } from '../wire-errors.js'
export type * from './types.js'
export type { Contract, EventContract, AnyContract } from '../contract.js'

/** `ws` and classes built on it take `{ headers }`; a WHATWG WebSocket (Node ≥ 22's global) does not. */
function takesHeaders (ctor: WebSocketConstructor): boolean {
  return ctor === (WebSocket as unknown) || typeof (ctor as unknown as { createWebSocketStream?: unknown }).createWebSocketStream === 'function'
}

/**
 * Open a client to a socketspec server: it connects now, reconnects by itself,
 * and is typed by the server's contract.
 *
 * @example
 * import { connect } from 'socketspec/client'
 * import type { Contract } from './api.js'
 * const client = connect<Contract>('ws://localhost:3000/ws', { token: () => getToken() })
 * const { sum } = await client.request('add', { a: 1, b: 2 })
 */
export function connect<C extends AnyContract = AnyContract> (url: string, options: ClientOptions = {}): SocketspecClient<C> {
  const ctor = options.WebSocket ?? (WebSocket as unknown as WebSocketConstructor)
  const headers = takesHeaders(ctor)
  // With ws, the frames sent in one tick leave in one write (see corkUntilTick).
  return new SocketspecClient<C>(url, options, headers ? { WebSocket: ctor, headers, batch: corkUntilTick } : { WebSocket: ctor, headers })
}
