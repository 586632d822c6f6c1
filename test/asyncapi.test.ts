import t, { type Test } from 'tap'
import { Parser } from '@asyncapi/parser'
import { Type } from '@sinclair/typebox'
import { buildApp } from '../examples/chat/app.js'
import { buildAsyncApi, type AsyncApiInput } from '../lib/asyncapi.js'
import { WIRE_ERRORS } from '../lib/errors.js'
import type { EventDefinition } from '../lib/types.js'
import { InboundEnvelope, OutboundEnvelope, SystemEvents, type SystemEventName, type SystemEventSpec } from '../schemas/protocol.js'
import { TypeScriptGenerator } from '@asyncapi/modelina'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { appPackage } from '../lib/app-package.js'
import { build } from './helpers/build.js'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import Fastify, { type FastifyInstance } from 'fastify'
import docs, { DOCS_COOKIE, defaultUiRoot, type DocsPluginOptions } from '../plugins/docs.js'

type Json = Record<string, any>

const SESSION = { maxDuration: 3600, idleTimeout: 300, heartbeatInterval: 25, heartbeatTimeout: 10, tokenRefreshWindow: 60 }
const SYSTEM = Object.keys(SystemEvents) as SystemEventName[]
const SYSTEM_ROWS = Object.entries(SystemEvents) as Array<[SystemEventName, SystemEventSpec]>

const ev = (e: Partial<EventDefinition> & { name: string }): EventDefinition =>
  ({ tags: [], emits: [], broadcasts: [], ordered: false, deprecated: false, handler: () => undefined, ...e })

const input = (events: EventDefinition[], extra: Partial<AsyncApiInput> = {}): AsyncApiInput =>
  ({ path: '/ws', namespace: '/', events, rooms: [], roomGuards: [], session: SESSION, maxPayloadSize: 65536, ...extra })

const parser = new Parser()
async function errorsOf (doc: Record<string, unknown>): Promise<Array<{ code: string | number, message: string, path: string }>> {
  const diagnostics = await parser.validate(doc as any)
  return diagnostics.filter((d) => d.severity === 0).map((d) => ({ code: d.code, message: d.message, path: d.path.join('.') }))
}

/** Message object (resolved from components) whose `name` is `event`. */
function message (doc: Json, event: string): Json {
  const found = Object.values<Json>(doc.components.messages).filter((m) => m.name === event)
  if (found.length !== 1) throw new Error(`expected one message named ${event}, found ${found.length}`)
  return found[0]
}

function operationFor (doc: Json, action: 'send' | 'receive', event: string): Json {
  const id = Object.entries<Json>(doc.components.messages).find(([, m]) => m.name === event)?.[0]
  const ops = Object.values<Json>(doc.operations).filter((op) => op.action === action && op.messages[0].$ref.endsWith(`/messages/${id}`))
  if (ops.length !== 1) throw new Error(`expected one ${action} operation for ${event}, found ${ops.length}`)
  return ops[0]
}

/** A TypeBox schema as the plain JSON the document carries. */
const plain = (schema: unknown): Json => JSON.parse(JSON.stringify(schema))

/** Every title the document gives a message, an envelope or a declared payload schema. */
function titlesOf (doc: Json): Array<{ where: string, title: unknown }> {
  const out: Array<{ where: string, title: unknown }> = []
  for (const [id, m] of Object.entries<Json>(doc.components.messages)) {
    out.push({ where: `message ${id}`, title: m.title }, { where: `envelope of ${id}`, title: m.payload.title })
    const inner = m.payload.properties.payload
    if (Object.keys(inner).some((k) => k !== 'description')) out.push({ where: `payload of ${id}`, title: inner.title })
  }
  return out
}

function deref (doc: Json, ref: string): Json {
  return ref.slice(2).split('/').reduce((node: any, key) => node[key], doc)
}

function hasSymbols (value: unknown): boolean {
  if (value === null || typeof value !== 'object') return false
  if (Object.getOwnPropertySymbols(value).length > 0) return true
  return Object.values(value).some(hasSymbols)
}

const ChatMessage = Type.Object({
  room: Type.String({ description: 'Room name', minLength: 1 }),
  text: Type.String({ maxLength: 500 }),
  meta: Type.Optional(Type.Object({
    color: Type.Union([Type.Literal('red'), Type.Literal('blue')], { default: 'red' }),
    mentions: Type.Array(Type.Object({ user: Type.String(), at: Type.Integer({ minimum: 0 }) }))
  }))
})

const everyOption: EventDefinition[] = [
  ev({
    name: 'chat:send',
    payload: ChatMessage,
    summary: 'Send a chat message',
    description: 'Posts a message to a room; everyone in it receives `chat:message`.',
    tags: ['chat', 'messages'],
    emits: [{ event: 'chat:ack', schema: Type.Object({ at: Type.Number() }), description: 'Acknowledgement to the sender' }],
    broadcasts: [{ event: 'chat:message', room: 'chat:{room}', schema: Type.Object({ room: Type.String(), text: Type.String(), from: Type.String() }), description: 'The message, to the room' }],
    reply: { event: 'chat:sent', schema: Type.Object({ id: Type.String({ format: 'uuid' }) }) },
    ordered: true,
    deprecated: true,
    rateLimit: { rate: 2, capacity: 5 },
    deps: { user: () => 'u1', db: async () => ({}) }
  }),
  ev({ name: 'echo', payload: Type.Object({ echo: Type.String() }), tags: ['demo'], reply: { event: 'echo', schema: Type.Object({ echo: Type.String() }) } }),
  ev({ name: 'ping-me', emits: [{ event: 'chat:ack' }] })
]

t.test('a tiny app validates with @asyncapi/parser', async (t) => {
  const doc = buildAsyncApi(input([ev({ name: 'echo', payload: Type.Object({ echo: Type.String() }), reply: { event: 'echo_response' } })]))
  t.same(await errorsOf(doc), [])
  t.equal(doc.asyncapi, '3.0.0')
  const channels = doc.channels as Json
  t.same(Object.values<Json>(channels).map((c) => c.address), ['/ws'])
  t.notOk((doc.components as Json).securitySchemes, 'no security scheme without auth')
})

t.test('an app using every `on` option validates and is described', async (t) => {
  const doc: Json = buildAsyncApi(input(everyOption, {
    title: 'Chat',
    version: '2.1.0',
    description: 'A chat',
    auth: { kind: 'jwt' },
    rateLimit: { rate: 20, capacity: 50 },
    rooms: [{ name: 'lobby', description: 'Everyone' }, { name: 'news' }],
    roomGuards: ['admin:{section}']
  }))
  t.same(await errorsOf(doc), [])
  t.notOk(hasSymbols(doc), 'TypeBox symbol keys are stripped')
  t.same(doc.info, { title: 'Chat', version: '2.1.0', description: 'A chat', tags: [{ name: 'chat' }, { name: 'messages' }, { name: 'demo' }], 'x-socketspec-auth': 'jwt' })

  const channel = Object.values<Json>(doc.channels)[0]
  t.equal(channel.address, '/ws')
  t.same(channel['x-socketspec-rate-limit'], { rate: 20, capacity: 50 })
  t.same(channel['x-socketspec-rooms'], [{ name: 'lobby', description: 'Everyone' }, { name: 'news' }])
  t.same(channel['x-socketspec-room-guards'], ['admin:{section}'])
  t.equal(channel['x-socketspec-max-payload-size'], 65536)

  const send = message(doc, 'chat:send')
  t.equal(send.summary, 'Send a chat message')
  t.equal(send.description, 'Posts a message to a room; everyone in it receives `chat:message`.')
  t.same(send.tags, [{ name: 'chat' }, { name: 'messages' }])
  t.equal(send.deprecated, true)
  t.same(send.correlationId, { $ref: '#/components/correlationIds/requestId' })
  t.equal(doc.components.correlationIds.requestId.location, '$message.payload#/id')
  t.same(send.payload.required, ['event'], 'payload may be omitted by the client')
  t.same(send.payload.properties.event, { type: 'string', const: 'chat:send', description: 'Event name.' })
  t.equal(send.payload.properties.id.type, 'string')
  t.equal(send.payload.properties.id.maxLength, 64)
  t.same(send.payload.properties.payload, { ...plain(ChatMessage), title: 'ChatSendPayload' }, 'nested payload schema kept as plain JSON Schema, titled')
  t.same(send.payload.properties.id, plain(InboundEnvelope.properties.id), 'the id is the protocol envelope\'s')
  t.equal(send.title, 'ChatSendMessage')
  t.equal(send.payload.title, 'ChatSendEnvelope')
  for (const key of Object.keys(doc.components.messages)) t.match(key, /^[A-Za-z0-9_.-]+$/, `component key ${key} is valid`)

  const op = operationFor(doc, 'receive', 'chat:send')
  t.equal(op['x-socketspec-ordered'], true)
  t.same(op['x-socketspec-rate-limit'], { rate: 2, capacity: 5 })
  t.equal(op['x-deprecated'], true)
  t.same(op['x-socketspec-deps'], ['user', 'db'])
  t.same(op.security, [{ $ref: '#/components/securitySchemes/bearer' }, { $ref: '#/components/securitySchemes/queryToken' }])
  const replyMessages = op.reply.messages.map((r: Json) => deref(doc, r.$ref)).map((r: Json) => deref(doc, r.$ref).name)
  t.same(replyMessages, ['chat:sent', '__error__'])
  t.same(deref(doc, op.reply.channel.$ref).address, '/ws')
  t.same(op['x-socketspec-emits'].map((e: Json) => e.event), ['chat:ack'])
  t.same(op['x-socketspec-broadcasts'].map((b: Json) => [b.event, b.room]), [['chat:message', 'chat:{room}']])

  const broadcast = message(doc, 'chat:message')
  t.equal(broadcast['x-socketspec-room'], 'chat:{room}')
  t.same(broadcast.payload.required, ['event', 'payload'])
  t.same(broadcast.payload.properties.payload.required, ['room', 'text', 'from'])
  t.equal(operationFor(doc, 'send', 'chat:message')['x-socketspec-room'], 'chat:{room}')
  t.same(operationFor(doc, 'send', 'chat:ack')['x-socketspec-triggered-by'], ['chat:send', 'ping-me'])
  t.equal(message(doc, 'chat:sent').correlationId.$ref, '#/components/correlationIds/requestId', 'replies carry the id')
  t.notOk(message(doc, 'chat:ack').correlationId, 'plain emits are not correlated')

  // `echo` is both an inbound event and its own reply: two distinct messages.
  const echoes = Object.values<Json>(doc.components.messages).filter((m) => m.name === 'echo')
  t.same(echoes.map((m) => m['x-socketspec-direction']).sort(), ['client-to-server', 'server-to-client'])

  for (const [name, spec] of SYSTEM_ROWS) {
    const m = message(doc, name)
    t.equal(m['x-socketspec-system'], true, `${name} is a system message`)
    t.ok(m.payload.properties.payload.properties, `${name} has a payload schema`)
    t.ok(operationFor(doc, spec.direction === 'in' ? 'receive' : 'send', name), `${name} has an operation`)
  }
  const error = message(doc, '__error__').payload.properties.payload
  t.same(error.required, ['code', 'message', 'request_id', 'details'])
  t.same(error.properties.code.anyOf[0].enum, Object.keys(WIRE_ERRORS).sort())
  t.same(Object.keys(message(doc, '__error__')['x-socketspec-error-codes']), Object.keys(WIRE_ERRORS).sort())
  t.same(Object.keys(message(doc, '__connect__').payload.properties.payload.properties), ['connection_id', 'namespace', 'heartbeat_interval', 'session_expires_at', 'contract', 'resume_token'])
  t.same(message(doc, '__connect__').payload.properties.payload.properties.session_expires_at.anyOf, [{ type: 'number' }, { type: 'null' }])
  t.match(message(doc, '__ping__').payload.properties.payload.properties.ts.description, /epoch milliseconds/)
  t.same(operationFor(doc, 'receive', '__refresh_auth__').reply.messages.map((r: Json) => deref(doc, deref(doc, r.$ref).$ref).name), ['__auth_refreshed__', '__error__'])

  t.same(doc.components.securitySchemes.bearer, {
    type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: doc.components.securitySchemes.bearer.description
  })
  t.same({ ...doc.components.securitySchemes.queryToken, description: undefined }, { type: 'httpApiKey', in: 'query', name: 'token', description: undefined })
})

t.test('events without a payload schema', async (t) => {
  const doc: Json = buildAsyncApi(input([ev({ name: 'ping-me' }), ev({ name: 'hello', emits: [{ event: 'hi' }], broadcasts: [{ event: 'joined', room: 'lobby' }] })], { auth: {} }))
  t.same(await errorsOf(doc), [])
  t.same(message(doc, 'ping-me').payload.properties.payload, { description: 'Any JSON value.' })
  t.same(message(doc, 'hi').payload.properties.payload, { description: 'Any JSON value.' })
  t.notOk(doc.components.securitySchemes.bearer.bearerFormat, 'no JWT hint for other auth kinds')
  t.equal(doc.info['x-socketspec-auth'], 'custom')
  t.equal(operationFor(doc, 'receive', 'ping-me')['x-socketspec-ordered'], false)
  t.notOk(operationFor(doc, 'receive', 'ping-me').reply)
})

t.test('the document is deterministic and keeps registration order', async (t) => {
  const a = JSON.stringify(buildAsyncApi(input(everyOption, { auth: { kind: 'jwt' } })))
  const b = JSON.stringify(buildAsyncApi(input(everyOption, { auth: { kind: 'jwt' } })))
  t.equal(a, b)
  const doc: Json = JSON.parse(a)
  const names = Object.values<Json>(doc.components.messages).map((m) => m.name)
  t.same(names.slice(0, 3), ['chat:send', 'echo', 'ping-me'])
  t.same(names.slice(-SYSTEM.length), SYSTEM)
})

t.test('namespaces get their own channel id and address', async (t) => {
  const doc: Json = buildAsyncApi(input([ev({ name: 'x' })], { path: '/admin/ws', namespace: '/admin' }))
  t.same(Object.keys(doc.channels), ['admin'])
  t.equal(doc.channels.admin.address, '/admin/ws')
  t.equal(doc.channels.admin['x-socketspec-namespace'], '/admin')
  t.same(await errorsOf(doc), [])
})

t.test('the example app serves a valid document', async (t) => {
  const app = await buildApp()
  t.teardown(() => app.close())
  await app.ready()
  const doc: Json = app.socket.asyncapi()
  t.same(await errorsOf(doc), [])
  t.equal(message(doc, 'echo').payload.properties.event.const, 'echo')
  const served = await app.inject('/socket-docs/asyncapi.json')
  t.equal(served.statusCode, 200)
  t.same(served.json(), doc, 'GET {docsUrl}/asyncapi.json is app.socket.asyncapi()')
})

t.test('system events in the document come from the protocol table', async (t) => {
  const doc: Json = buildAsyncApi(input(everyOption, { auth: { kind: 'jwt' } }))
  const system = Object.values<Json>(doc.components.messages).filter((m) => m['x-socketspec-system'] === true)
  t.same(system.map((m) => m.name), SYSTEM, 'exactly the table\'s events, in its order')

  for (const [name, spec] of SYSTEM_ROWS) {
    const m = message(doc, name)
    const expected = plain(spec.payload)
    const actual = m.payload.properties.payload
    if (name === '__error__') {
      // The one refinement: the wire codes as an enum next to any application code.
      t.same(actual.properties.code, {
        description: spec.payload.properties.code.description,
        anyOf: [
          { title: 'WireErrorCode', type: 'string', enum: Object.keys(WIRE_ERRORS).sort(), description: 'Wire error codes.' },
          { type: 'string', description: 'Application-defined code (SocketError).' }
        ]
      }, '__error__ code lists every wire code')
      t.same({ ...actual, properties: { ...actual.properties, code: expected.properties.code } }, expected, `${name} payload is the table's`)
    } else {
      t.same(actual, expected, `${name} payload is the table's`)
    }
    t.equal(m.summary, spec.summary)
    t.ok(m.description.startsWith(spec.description), `${name} description is the table's`)
    t.equal(m['x-socketspec-direction'], spec.direction === 'in' ? 'client-to-server' : 'server-to-client')
    t.equal(m.payload.properties.event.const, name)
    t.same(m.payload.required, spec.direction === 'in' ? InboundEnvelope.required : OutboundEnvelope.required)
    const correlated = spec.correlated === true
    t.equal(m.correlationId?.$ref, correlated ? '#/components/correlationIds/requestId' : undefined, `${name} correlated: ${correlated}`)
    const withId = correlated || spec.direction === 'in'
    t.same(m.payload.properties.id, withId ? plain((spec.direction === 'in' ? InboundEnvelope : OutboundEnvelope).properties.id) : undefined)

    const op = operationFor(doc, spec.direction === 'in' ? 'receive' : 'send', name)
    t.equal(op['x-socketspec-system'], true)
    t.equal(op.summary, spec.summary)
    t.equal(op.description, m.description)
    const replies = op.reply?.messages.map((r: Json) => deref(doc, deref(doc, r.$ref).$ref).name)
    t.same(replies, spec.reply === undefined ? undefined : [spec.reply, '__error__'], `${name} reply`)
  }
})

t.test('system descriptions carry this server\'s session settings', async (t) => {
  const describe = (session: AsyncApiInput['session']) => {
    const doc: Json = buildAsyncApi(input([], { session }))
    return (name: string) => message(doc, name).description as string
  }
  const d = describe(SESSION)
  t.match(d('__connect__'), '(This server: heartbeatInterval 25 s, maxDuration 3600 s.)')
  t.match(d('__ping__'), '(This server: heartbeatInterval 25 s, heartbeatTimeout 10 s.)')
  t.match(d('__auth_expiring__'), '(This server: tokenRefreshWindow 60 s.)')
  t.match(d('__session_expiring__'), 'maxDuration 3600 s, so sent 60 s before the end')
  t.match(d('__idle_warning__'), 'idleTimeout 300 s, so sent 30 s before the idle close')
  t.equal(d('__disconnect__'), SystemEvents.__disconnect__.description, 'events without a setting are the table\'s text')

  const short = describe({ maxDuration: 0, idleTimeout: 0.3, heartbeatInterval: 0.1 + 0.2, heartbeatTimeout: 10, tokenRefreshWindow: 60 })
  t.match(short('__connect__'), 'heartbeatInterval 0.3 s, maxDuration none')
  t.match(short('__session_expiring__'), 'no maxDuration, never sent')
  t.match(short('__idle_warning__'), 'idleTimeout 0.3 s, so sent 0.03 s before the idle close')
  t.match(describe({ ...SESSION, idleTimeout: 0 })('__idle_warning__'), 'no idleTimeout, never sent')
})

t.test('every message and payload schema has a title, unique in the document', async (t) => {
  const app = await buildApp()
  t.teardown(() => app.close())
  await app.ready()
  const docs: Array<[string, Json]> = [
    ['every option', buildAsyncApi(input(everyOption, { auth: { kind: 'jwt' } }))],
    ['no schemas', buildAsyncApi(input([ev({ name: 'ping-me' }), ev({ name: 'hello', emits: [{ event: 'hi' }] })]))],
    ['example app', app.socket.asyncapi()]
  ]
  for (const [label, doc] of docs) {
    const titles = titlesOf(doc)
    t.same(titles.filter((x) => typeof x.title !== 'string' || x.title === ''), [], `${label}: all titled`)
    const seen = new Map<unknown, string>()
    for (const x of titles) {
      t.notOk(seen.has(x.title), `${label}: ${x.where} title ${String(x.title)} is unique${seen.has(x.title) ? ` (also ${seen.get(x.title)})` : ''}`)
      seen.set(x.title, x.where)
    }
  }

  const doc: Json = docs[0][1]
  const titleOf = (name: string, direction: string) => {
    const m = Object.values<Json>(doc.components.messages).find((x) => x.name === name && x['x-socketspec-direction'] === direction) as Json
    return [m.title, m.payload.title, m.payload.properties.payload.title]
  }
  t.same(titleOf('echo', 'client-to-server'), ['EchoMessage', 'EchoEnvelope', 'EchoPayload'])
  t.same(titleOf('echo', 'server-to-client'), ['EchoOutMessage', 'EchoOutEnvelope', 'EchoOutPayload'], 'an outbound event named like an inbound one')
  t.same(titleOf('chat:message', 'server-to-client'), ['ChatMessageMessage', 'ChatMessageEnvelope', 'ChatMessagePayload'])
  t.same(titleOf('__connect__', 'server-to-client'), ['ConnectMessage', 'ConnectEnvelope', 'ConnectPayload'])
  t.same(titleOf('ping-me', 'client-to-server'), ['PingMeMessage', 'PingMeEnvelope', undefined], 'a payload without a schema (any JSON) stays untitled')
})

t.test('titles: PascalCase from the event name, the app\'s own kept when free', async (t) => {
  const Shared = Type.Object({ text: Type.String() }, { title: 'Note' })
  const Untitled = Type.Object({ a: Type.String() })
  const doc: Json = buildAsyncApi(input([
    ev({ name: 'echo_response', payload: Untitled }),
    ev({ name: 'chat:send', payload: Type.Object({ a: Type.String() }) }),
    ev({ name: 'chat_send', payload: Type.Object({ a: Type.String() }) }),
    ev({ name: '2fa', payload: Type.Object({ a: Type.String() }) }),
    ev({ name: 'connect', payload: Type.Object({ a: Type.String() }) }),
    ev({ name: 'note', payload: Shared, emits: [{ event: 'noted', schema: Shared }] }),
    ev({ name: 'other-note', payload: Type.Object({ other: Type.Number() }, { title: 'Note' }) }),
    ev({ name: 'spoof', payload: Type.Object({ x: Type.Number() }, { title: 'ConnectPayload' }) })
  ]))
  t.same(await errorsOf(doc), [])
  const payloadTitle = (name: string) => message(doc, name).payload.properties.payload.title
  t.equal(payloadTitle('echo_response'), 'EchoResponsePayload')
  t.equal(payloadTitle('chat:send'), 'ChatSendPayload')
  t.equal(payloadTitle('chat_send'), 'ChatSend2Payload', 'names that PascalCase alike get a number')
  t.equal(payloadTitle('2fa'), 'Event2faPayload', 'a title never starts with a digit')
  t.equal(payloadTitle('connect'), 'Connect2Payload', 'system titles are taken first')
  t.equal(payloadTitle('__connect__'), 'ConnectPayload')
  t.equal(payloadTitle('note'), 'Note', 'the app\'s own title is kept')
  t.equal(payloadTitle('noted'), 'Note', 'the same schema keeps its one title')
  t.equal(payloadTitle('other-note'), 'OtherNotePayload', 'another schema with a taken title gets a generated one')
  t.equal(payloadTitle('spoof'), 'SpoofPayload', 'a system title is never reused')
  t.notOk('title' in Untitled, 'the app\'s schema objects are not modified')
  t.equal(message(doc, 'noted').title, 'NotedMessage')
})

// Code generators get named models from the AsyncAPI document: AsyncAPI
// Modelina (what `asyncapi generate models` runs) on the example app.
t.test('Modelina turns the example app\'s document into named models, no AnonymousSchema', async (t) => {
  const app = await buildApp({ logger: false })
  t.teardown(() => app.close())
  await app.ready()
  const doc = app.socket.asyncapi()
  const models = await new TypeScriptGenerator({ modelType: 'interface' }).generate(doc)
  const names = models.map(m => m.modelName).sort()
  t.comment(`${names.length} models: ${names.join(', ')}`)
  t.same(names.filter(n => /^Anonymous/i.test(n)), [], 'no anonymous model')
  for (const expected of ['EchoPayload', 'EchoResponsePayload', 'JoinPayload', 'ConnectPayload', 'ErrorPayload']) {
    t.ok(names.includes(expected), `a model named ${expected}`)
  }
  const echo = models.find(m => m.modelName === 'EchoPayload')
  t.match(echo?.result, /echo: string/, 'EchoPayload has its typed field')
  t.equal(new Set(names).size, names.length, 'model names are unique')
})

// info.title and info.version: the app's package.json (lib/app-package.ts).
t.test('appPackage reads the nearest package.json above a directory', async (t) => {
  const dir = t.testdir({
    app: { 'package.json': JSON.stringify({ name: 'chat-api', version: '2.3.4', description: 'Chat', private: true }), src: { deep: {} } },
    broken: { 'package.json': '{ nope' },
    odd: { 'package.json': JSON.stringify({ name: 42, version: '' }) }
  })
  t.same(appPackage(join(dir, 'app/src/deep')), { name: 'chat-api', version: '2.3.4', description: 'Chat' })
  const broken = appPackage(join(dir, 'broken'))
  t.equal(broken.name, undefined, 'unreadable JSON: nothing')
  t.equal(broken.version, undefined)
  const odd = appPackage(join(dir, 'odd'))
  t.equal(odd.name, undefined, 'non-strings are left out')
  t.equal(odd.version, undefined, 'empty strings too')
  mkdirSync(join(dir, 'app/other'))
  writeFileSync(join(dir, 'app/other/x.txt'), '')
  t.equal(appPackage(join(dir, 'app/other')).name, 'chat-api')
})

t.test("the AsyncAPI info defaults to the app's package.json; options win", async (t) => {
  const pkg = appPackage()
  t.ok(pkg.name !== undefined, 'tests run in a directory with a package.json')
  const app = await build(t)
  await app.ready()
  t.match(app.socket.asyncapi().info, { title: pkg.name, version: pkg.version })
  const named = await build(t, { title: 'My API', version: '9.9.9' })
  await named.ready()
  t.match(named.socket.asyncapi().info, { title: 'My API', version: '9.9.9' })
})

// The docs route (plugins/docs.ts): the UI and the document it serves.
const INDEX = '<!doctype html>\n<html><head><script type="module" crossorigin src="./assets/app-abc123.js"></script></head><body><div id="app"></div></body></html>\n'
const DOC = { asyncapi: '3.0.0', info: { title: 'Test', version: '1.0.0' }, channels: {} }

/** A fake built UI, so these tests do not depend on `npm run build:ui`. */
async function fakeUi (t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'socketspec-ui-'))
  await mkdir(join(dir, 'assets'))
  await writeFile(join(dir, 'index.html'), INDEX)
  await writeFile(join(dir, 'assets', 'app-abc123.js'), 'console.log("ui")\n')
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

interface Built { app: FastifyInstance, calls: () => number, routes: Array<{ url: string, hide: unknown }> }

async function docsApp (t: Test, opts: Partial<DocsPluginOptions> = {}, fastifyOpts: Record<string, unknown> = {}): Promise<Built> {
  const app = Fastify({ logger: false, ...fastifyOpts })
  const routes: Built['routes'] = []
  app.addHook('onRoute', (r) => { routes.push({ url: r.url, hide: (r.schema as { hide?: unknown } | undefined)?.hide }) })
  let calls = 0
  const uiRoot = 'uiRoot' in opts ? opts.uiRoot : await fakeUi(t)
  await app.register(docs, { docsUrl: '/socket-docs', document: () => { calls++; return DOC }, ...opts, uiRoot })
  app.get('/health', async () => ({ ok: true }))
  await app.ready()
  t.teardown(() => app.close())
  return { app, calls: () => calls, routes }
}

t.test('serves the index with and without the trailing slash', async (t) => {
  const { app } = await docsApp(t)
  const slash = await app.inject('/socket-docs/')
  t.equal(slash.statusCode, 200)
  t.match(slash.headers['content-type'], /^text\/html/)
  t.equal(slash.body, INDEX, 'no <base> needed under the trailing slash')
  t.equal(slash.headers['cache-control'], 'no-store')
  t.match(slash.headers['content-security-policy'], /connect-src 'self' ws: wss:/)
  t.equal(slash.headers['referrer-policy'], 'no-referrer')

  const bare = await app.inject('/socket-docs?x=1')
  t.equal(bare.statusCode, 200)
  t.match(bare.body, '<head><base href="socket-docs/">', 'relative assets resolve inside docsUrl')
  t.equal((await app.inject({ method: 'HEAD', url: '/socket-docs/' })).statusCode, 200)
})

t.test('serves assets and the AsyncAPI document, built lazily', async (t) => {
  const { app, calls } = await docsApp(t)
  t.equal(calls(), 0, 'document() is not called before the first request')
  const asset = await app.inject('/socket-docs/assets/app-abc123.js')
  t.equal(asset.statusCode, 200)
  t.match(asset.headers['content-type'], /javascript/)
  t.equal(asset.headers['cache-control'], 'public, max-age=31536000, immutable')
  t.equal(asset.body, 'console.log("ui")\n')
  t.equal((await app.inject('/socket-docs/assets/nope.js')).statusCode, 404)
  t.equal((await app.inject('/socket-docs/../package.json')).statusCode, 404)

  const res = await app.inject('/socket-docs/asyncapi.json')
  t.equal(res.statusCode, 200)
  t.equal(res.headers['content-type'], 'application/json; charset=utf-8')
  t.same(res.json(), DOC)
  t.equal(calls(), 1)
})

t.test('every docs route is hidden from OpenAPI generators', async (t) => {
  const { routes } = await docsApp(t)
  const docsRoutes = routes.filter((r) => r.url.startsWith('/socket-docs'))
  t.ok(docsRoutes.length >= 4, `docs routes: ${docsRoutes.map((r) => r.url).join(', ')}`)
  for (const r of docsRoutes) t.equal(r.hide, true, `${r.url} is hidden`)
  t.ok(routes.filter((r) => r.url === '/health').every((r) => r.hide === undefined), 'other routes are untouched')
})

t.test('docsAccessToken protects every docs route', async (t) => {
  const { app, calls } = await docsApp(t, { docsAccessToken: 's3cret' })
  for (const url of ['/socket-docs', '/socket-docs/', '/socket-docs/asyncapi.json', '/socket-docs/assets/app-abc123.js']) {
    const res = await app.inject(url)
    t.equal(res.statusCode, 401, `${url} without a token`)
    t.same(res.json(), { statusCode: 401, error: 'Unauthorized', message: 'Missing or invalid docs access token' })
    t.equal(res.headers['www-authenticate'], 'Bearer realm="socketspec-docs"')
    t.equal((await app.inject({ url, headers: { authorization: 'Bearer nope' } })).statusCode, 401, `${url} with a wrong token`)
    t.equal((await app.inject(`${url}?token=s3cre`)).statusCode, 401, `${url} with a prefix of the token`)
    t.equal((await app.inject({ url, headers: { authorization: 'Basic s3cret' } })).statusCode, 401, `${url} with another scheme`)
    t.equal((await app.inject({ url, headers: { authorization: 'Bearer s3cret' } })).statusCode, 200, `${url} with the header`)
    t.equal((await app.inject({ url, headers: { authorization: 'bearer  s3cret' } })).statusCode, 200, `${url} with a lower-case scheme`)
    t.equal((await app.inject(`${url}?token=s3cret`)).statusCode, 200, `${url} with ?token=`)
  }
  t.equal(calls(), 3, 'the document is never served to unauthenticated requests')
  t.equal((await app.inject('/health')).statusCode, 200, 'routes outside the docs are not protected')
  t.equal((await app.inject('/socket-docs/asyncapi.json')).headers['content-type'], 'application/json; charset=utf-8')
})

t.test('the index served with a valid token sets a cookie the page assets use', async (t) => {
  const { app } = await docsApp(t, { docsAccessToken: 's3cret' })
  const index = await app.inject('/socket-docs?token=s3cret')
  t.equal(index.statusCode, 200)
  const setCookie = String(index.headers['set-cookie'])
  t.match(setCookie, new RegExp(`^${DOCS_COOKIE}=[0-9a-f]{64}; Path=/socket-docs; HttpOnly; SameSite=Strict$`))
  t.notMatch(setCookie, 's3cret', 'the cookie does not carry the token itself')
  const cookie = setCookie.split(';')[0]
  const asset = await app.inject({ url: '/socket-docs/assets/app-abc123.js', headers: { cookie: `other=1; ${cookie}` } })
  t.equal(asset.statusCode, 200)
  t.equal((await app.inject({ url: '/socket-docs/asyncapi.json', headers: { cookie } })).statusCode, 200)
  t.equal((await app.inject({ url: '/socket-docs/asyncapi.json', headers: { cookie: `${DOCS_COOKIE}=${'0'.repeat(64)}` } })).statusCode, 401)
  const viaCookie = await app.inject({ url: '/socket-docs/', headers: { cookie } })
  t.equal(viaCookie.statusCode, 200)
  t.notOk(viaCookie.headers['set-cookie'], 'the cookie is only issued against the token itself')
  t.notOk((await app.inject('/socket-docs/')).headers['set-cookie'])
  const secure = await app.inject({ url: '/socket-docs/', headers: { authorization: 'Bearer s3cret', 'x-forwarded-proto': 'https' } })
  t.notMatch(String(secure.headers['set-cookie']), 'Secure', 'Secure only on https requests (trustProxy is off)')
})

t.test('a missing ui/dist answers 500 with the fix', async (t) => {
  const { app } = await docsApp(t, { uiRoot: join(tmpdir(), 'socketspec-no-such-dir') })
  for (const url of ['/socket-docs', '/socket-docs/', '/socket-docs/assets/app.js']) {
    const res = await app.inject(url)
    t.equal(res.statusCode, 500, url)
    t.match(res.json().message, 'run `npm run build`')
  }
  t.equal((await app.inject('/socket-docs/asyncapi.json')).statusCode, 200, 'the document does not need the UI')
})

t.test('docsUrl is normalized and works with ignoreTrailingSlash', async (t) => {
  const { app } = await docsApp(t, { docsUrl: '/api/docs/' }, { routerOptions: { ignoreTrailingSlash: true } })
  t.equal((await app.inject('/api/docs')).statusCode, 200)
  t.match((await app.inject('/api/docs')).body, '<base href="docs/">')
  t.equal((await app.inject('/api/docs/')).statusCode, 200)
  t.equal((await app.inject('/api/docs/asyncapi.json')).statusCode, 200)
  t.equal((await app.inject('/api/docs/assets/app-abc123.js')).statusCode, 200)
})

t.test('docsUrl at the root', async (t) => {
  const { app } = await docsApp(t, { docsUrl: '/' })
  t.equal((await app.inject('/')).body, INDEX)
  t.equal((await app.inject('/asyncapi.json')).statusCode, 200)
  t.equal((await app.inject('/assets/app-abc123.js')).statusCode, 200)
})

t.test('the default UI folder is ui/dist next to the package', async (t) => {
  const root = defaultUiRoot()
  t.match(root.replaceAll('\\', '/'), /\/ui\/dist$/)
  if (!existsSync(join(root, 'index.html'))) {
    t.comment('ui/dist is not built (npm run build:ui); skipping the served-from-default check')
    return
  }
  const { app } = await docsApp(t, { uiRoot: undefined })
  const res = await app.inject('/socket-docs/')
  t.equal(res.statusCode, 200)
  t.match(res.body, /src="\.\/assets\/index-[\w-]+\.js"/)
})
