// Compile-time tests of the client SDK's types with a contract from shared
// declarations (`Contract<typeof events>`, SPEC §11 "Types"): `npm run
// typecheck` (tsc over test/, under TypeScript 5.9 and 7) fails if an
// inference below regresses. Every `@ts-expect-error` line would be unused,
// and so an error, if the client accepted that misuse. The functions taking a
// client are never called: they only have to compile. The runtime part checks
// that the typed calls really work against the app the contract describes.
import t from 'tap'
import { connect, type SocketspecClient, type ServerFrame, type EventName, type RequestName, type ServerEventName, type ServerPayload, type AnyContract } from '../../lib/client/index.js'
import { Type, defineEvents, type Contract } from '../../lib/index.js'
import { buildClientTestApp } from '../fixtures/client/app.js'
import type { TestContract } from '../fixtures/client/events.js'
import { client } from '../helpers/client.js'
import { listen } from '../helpers/ws-client.js'

/** Exact type equality (distinguishes any, unknown and never). */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false
/** Compiles only when its type argument is `true`. */
function expectType<T extends true> (): T | undefined { return undefined }
type IsAny<T> = 0 extends (1 & T) ? true : false

/** Shared declarations with the constructs a payload type can be made of. */
export const events = defineEvents({
  post: {
    payload: Type.Object({
      text: Type.String(),
      count: Type.Integer(),
      tags: Type.Array(Type.String()),
      mood: Type.Union([Type.Literal('happy'), Type.Literal('sad')]),
      note: Type.Optional(Type.String())
    }),
    reply: { event: 'posted', schema: Type.Object({ id: Type.String(), at: Type.Number() }) },
    emits: [{ event: 'notice', schema: Type.Object({ level: Type.Union([Type.Literal('info'), Type.Literal('warn')]) }) }],
    broadcasts: [{ event: 'feed', room: 'feed', schema: Type.Object({ id: Type.String(), text: Type.String() }) }]
  },
  ping: {},
  flag: { payload: Type.Object({ on: Type.Boolean() }), emits: [{ event: 'notice', schema: Type.Object({ level: Type.Literal('error') }) }] },
  untyped_reply: { payload: Type.Object({}), reply: { event: 'whatever' } },
  plain: {
    payload: { type: 'object', properties: { n: { type: 'number' } }, required: ['n'] } as const,
    reply: { event: 'plain_done', schema: { type: 'object', properties: { ok: { type: 'boolean' } }, required: ['ok'] } as const }
  }
})
type Shared = Contract<typeof events>

export function sendIsTypedByThePayload (c: SocketspecClient<Shared>): void {
  c.send('post', { text: 'hi', count: 1, tags: [], mood: 'happy' })
  c.send('post', { text: 'hi', count: 1, tags: ['a'], mood: 'sad', note: 'optional' })
  c.send('ping')
  c.send('ping', { anything: true })
  c.send('flag', { on: true })
  c.send('untyped_reply')
  c.send('plain', { n: 1 })
  // @ts-expect-error an event the contract does not declare
  c.send('nope', {})
  // @ts-expect-error a payload of the wrong type
  c.send('flag', { on: 'yes' })
  // @ts-expect-error a literal outside the union
  c.send('post', { text: 'hi', count: 1, tags: [], mood: 'angry' })
  // @ts-expect-error a required property missing
  c.send('post', { text: 'hi', count: 1, tags: [] })
  // @ts-expect-error the payload is required when the schema requires properties
  c.send('flag')
  // @ts-expect-error a plain JSON Schema `as const` types the payload too
  c.send('plain', { n: '1' })
  // @ts-expect-error server events are not client events
  c.send('posted', { id: 'x', at: 1 })
}

export async function requestResolvesWithTheReply (c: SocketspecClient<Shared>): Promise<void> {
  const posted = c.request('post', { text: 'hi', count: 1, tags: [], mood: 'happy' })
  expectType<Equal<typeof posted, Promise<{ id: string, at: number }>>>()
  const { id } = await posted
  expectType<Equal<typeof id, string>>()
  void id
  const withOptions = c.request('post', { text: 'hi', count: 1, tags: [], mood: 'happy' }, { timeout: 500 })
  expectType<Equal<typeof withOptions, Promise<{ id: string, at: number }>>>()
  await withOptions
  const untyped = await c.request('untyped_reply', {})
  expectType<Equal<typeof untyped, unknown>>()
  void untyped
  const plain = await c.request('plain', { n: 1 })
  expectType<Equal<typeof plain, { readonly ok: boolean }>>() // StaticOf reads `as const` schemas as readonly
  void plain
  // @ts-expect-error an event that declares no reply: nothing would answer
  await c.request('flag', { on: true })
  // @ts-expect-error no reply either (and no payload schema)
  await c.request('ping')
  // @ts-expect-error a wrong payload
  await c.request('post', { text: 1, count: 1, tags: [], mood: 'happy' })
  // @ts-expect-error the payload is required when the schema requires properties
  await c.request('plain')
  // @ts-expect-error an undeclared event
  await c.request('nope', {})
}

export function listenersAreTypedByTheOutboundPayload (c: SocketspecClient<Shared>): void {
  c.on('posted', (payload, frame) => {
    expectType<Equal<typeof payload, { id: string, at: number }>>()
    expectType<Equal<typeof frame, ServerFrame<{ id: string, at: number }>>>()
    expectType<Equal<typeof frame.event, string>>()
  })
  c.on('feed', (payload) => {
    expectType<Equal<typeof payload, { id: string, text: string }>>()
  })
  c.on('notice', (payload) => {
    // two events declare `notice` with different schemas: either may arrive
    expectType<Equal<typeof payload.level, 'info' | 'warn' | 'error'>>()
  })
  c.on('whatever', (payload) => {
    expectType<Equal<typeof payload, unknown>>()
  })
  c.on('feed', (payload: { id: string }) => { void payload.id }) // a listener may ask for less
  const off = c.on('plain_done', () => {})
  expectType<Equal<typeof off, () => void>>()
  off()
  // @ts-expect-error a server event the contract does not declare
  c.on('nope', () => {})
  // @ts-expect-error client events are not server events
  c.on('post', () => {})
  // @ts-expect-error a listener expecting another payload type
  c.on('feed', (payload: { id: number }) => { void payload })
  c.on('posted', (payload) => {
    // @ts-expect-error no such property on the payload
    void payload.nope
  })
}

export function handleAndStateAreTyped (c: SocketspecClient<Shared>): void {
  c.handle('confirm', async (payload) => {
    expectType<Equal<IsAny<typeof payload>, true>>() // server requests are not part of the contract
    return { ok: true }
  })
  c.handle('notice', (payload) => {
    expectType<Equal<typeof payload.level, 'info' | 'warn' | 'error'>>()
  })
  c.onState((state, info) => {
    expectType<Equal<typeof state, 'connecting' | 'open' | 'reconnecting' | 'closed'>>()
    expectType<Equal<typeof info.contract, 'stale' | undefined>>()
  })
}

export function helperTypesOfTheContract (): void {
  expectType<Equal<EventName<Shared>, 'post' | 'ping' | 'flag' | 'untyped_reply' | 'plain'>>()
  expectType<Equal<RequestName<Shared>, 'post' | 'untyped_reply' | 'plain'>>()
  expectType<Equal<ServerEventName<Shared>, 'posted' | 'notice' | 'feed' | 'whatever' | 'plain_done'>>()
  expectType<Equal<ServerPayload<Shared, 'feed'>, { id: string, text: string }>>()
  expectType<Equal<Shared['ping']['payload'], unknown>>()
  expectType<Equal<Shared['flag']['reply'], never>>()
  // the shared fixture of the client tests: a few of its names (it grows with the tests)
  expectType<Equal<'echoed' | 'sum' | 'said' extends ServerEventName<TestContract> ? true : false, true>>()
  expectType<Equal<'echo' extends ServerEventName<TestContract> ? true : false, false>>()
  expectType<Equal<'add' | 'whoami' extends RequestName<TestContract> ? true : false, true>>()
  expectType<Equal<'echo' | 'say' extends RequestName<TestContract> ? true : false, false>>()
}

export async function withoutAContractEverythingIsAllowed (c: SocketspecClient): Promise<void> {
  c.send('anything', { at: 'all' })
  c.send('bare')
  const reply = await c.request('anything', 1)
  expectType<Equal<IsAny<typeof reply>, true>>()
  void reply
  c.on('whatever', (payload) => {
    expectType<Equal<IsAny<typeof payload>, true>>()
  })
  const typed: SocketspecClient<AnyContract> = c
  void typed
}

t.test('a client typed by shared declarations talks to the app declared with them', async (t) => {
  const app = await buildClientTestApp()
  t.teardown(() => app.close())
  const url = await listen(t, app)
  const c = client<TestContract>(t, url)
  await c.ready

  const sum = await c.request('add', { a: 2, b: 3 })
  expectType<Equal<typeof sum, { sum: number }>>()
  t.same(sum, { sum: 5 })

  const echoed = new Promise<{ text: string, from: string }>(resolve => c.on('echoed', (payload) => resolve(payload)))
  c.send('echo', { text: 'typed' })
  t.same(await echoed, { text: 'typed', from: c.connectionId })

  const who = await c.request('whoami')
  expectType<Equal<typeof who, { userId: string | null, expiresAt: number | null }>>()
  t.same(who, { userId: null, expiresAt: null })

  const untyped = connect(url, { reconnect: false })
  t.teardown(() => untyped.close())
  t.same(await untyped.request('add', { a: 1, b: 1 }), { sum: 2 }, 'the untyped client takes any event')
})
