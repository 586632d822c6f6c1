// `socketspec/client` in browsers (the package's "browser" condition, bundled
// into dist/client/socketspec-client.js): no dependencies, the global
// WebSocket, tokens as the `bearer.<t>` subprotocol entry.
import type { AnyContract } from '../contract-types.js'
import { SocketspecClient } from './core.js'
import type { ClientOptions, WebSocketConstructor } from './types.js'

export { SocketspecClient } from './core.js'
export { SocketError, isSocketError } from '../wire-errors.js'
export type * from './types.js'
export type { EventContract, AnyContract } from '../contract-types.js'

/**
 * Open a client to a socketspec server (see the Node entry for the options).
 *
 * @example
 * const client = connect<Contract>(`ws://${location.host}/ws`, { token: () => fetch('/token').then(r => r.text()) })
 */
export function connect<C extends AnyContract = AnyContract> (url: string, options: ClientOptions = {}): SocketspecClient<C> {
  const ctor = options.WebSocket ?? (globalThis as unknown as { WebSocket: WebSocketConstructor }).WebSocket
  return new SocketspecClient<C>(url, options, { WebSocket: ctor, headers: false })
}
