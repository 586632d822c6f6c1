import type { SchemaLike } from './schema-types.js'
import type { EventContract } from './contract-types.js'

export type { EventContract, AnyContract } from './contract-types.js'
import type { BroadcastDeclaration, DeclaredPayload, EmitDeclaration, EventOptions, OutboundMap, PayloadOf, ReplyDeclaration } from './types.js'

/** Any event declaration `defineEvents` accepts (the options of `app.socket.on`). */
export type AnyEventOptions = EventOptions<SchemaLike | undefined, any, readonly EmitDeclaration[], readonly BroadcastDeclaration[], ReplyDeclaration | undefined>

/**
 * Declare events once, in a module both the server and its tests (and, with the
 * client SDK, the browser) import: the literal types of event names and
 * schemas are kept, so `app.socket.on(name, events[name], handler)` is typed
 * as if the options were written inline, and `Contract<typeof events>` types
 * the other end.
 *
 * @example
 * export const events = defineEvents({
 *   add: { payload: Type.Object({ a: Type.Number(), b: Type.Number() }), reply: { event: 'sum', schema: Type.Object({ sum: Type.Number() }) } }
 * })
 * app.socket.on('add', events.add, (_conn, { a, b }) => ({ sum: a + b }))
 * const conn = await new TestClient<Contract<typeof events>>(app).connect()
 * const { payload } = await conn.request('add', { a: 1, b: 2 }) // payload: { sum: number }
 */
export function defineEvents<const T extends Record<string, AnyEventOptions>> (events: T): T {
  return events
}

type ReplyPayloadOf<R> = R extends { event: string } ? DeclaredPayload<R> : never

type EmitsOf<T> = T extends { emits: infer E extends readonly EmitDeclaration[] } ? E : []
type BroadcastsOf<T> = T extends { broadcasts: infer B extends readonly BroadcastDeclaration[] } ? B : []
type ReplyOf<T> = T extends { reply: infer R extends ReplyDeclaration } ? R : undefined
type PayloadSchemaOf<T> = T extends { payload: infer P extends SchemaLike } ? P : undefined

/** The contract of a `defineEvents` map: event name → {payload, reply, outbound}. */
export type Contract<T extends Record<string, AnyEventOptions>> = {
  [K in keyof T & string]: EventContract<
    PayloadOf<PayloadSchemaOf<T[K]>>,
    ReplyPayloadOf<ReplyOf<T[K]>>,
    OutboundMap<EmitsOf<T[K]>, BroadcastsOf<T[K]>, ReplyOf<T[K]>>
  >
}
