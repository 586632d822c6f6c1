// The client side of a contract, with no dependency on the server's types:
// the client SDK (and the docs UI that bundles it) import only this file.

/** What the client side needs to know of one event. */
export interface EventContract<P = unknown, R = unknown, O = Record<string, unknown>> {
  /** The inbound payload type. */
  payload: P
  /** The reply's payload type (`never` when the event declares no reply). */
  reply: R
  /** Event name → payload type of what the event sends (emits, broadcasts, reply). */
  outbound: O
}

/** A contract that knows nothing: every event name, any payload (the default of TestClient). */
export type AnyContract = Record<string, EventContract<any, any, Record<string, any>>>
