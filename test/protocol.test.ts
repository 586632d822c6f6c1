import t from 'tap'
import { Ajv } from 'ajv'
import addFormats from 'ajv-formats'
import { KindGuard, type TSchema } from '@sinclair/typebox'
import {
  ErrorPayload,
  InboundEnvelope,
  OutboundEnvelope,
  SystemEvents,
  isReservedName,
  type InboundSystemEventName,
  type OutboundSystemEventName,
  type SystemEventName,
  type SystemEventSpec,
  type SystemPayload
} from '../schemas/protocol.js'
import { existsSync, readFileSync } from 'node:fs'
import * as errors from '../lib/errors.js'
import { CloseCode, ErrorCode, SocketError, WIRE_ERRORS, isSocketError, issueDetails, outboundValidationError, wireMessage } from '../lib/errors.js'

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false

const ROWS = Object.entries(SystemEvents) as Array<[SystemEventName, SystemEventSpec]>
const INBOUND = ['__pong__', '__refresh_auth__', '__ack__', '__resume__']

/** Ajv as the engine builds it: formats on, strict. */
function compiler (): Ajv {
  const ajv = new Ajv({ strict: true, allErrors: false })
  ;(addFormats as unknown as (a: Ajv) => void)(ajv)
  return ajv
}

t.test('the table holds exactly the reserved events of SPEC §2 built so far', async (t) => {
  t.same(Object.keys(SystemEvents), [
    '__connect__', '__disconnect__', '__ping__', '__pong__', '__error__', '__auth_expiring__',
    '__refresh_auth__', '__auth_refreshed__', '__session_expiring__', '__idle_warning__', '__server_shutdown__', '__ack__',
    '__joined__', '__left__', '__resume__', '__resumed__'
  ])
  for (const name of Object.keys(SystemEvents)) {
    t.match(name, /^__[a-z]+(_[a-z]+)*__$/, `${name} is __x__`)
    t.ok(isReservedName(name), `${name} is reserved`)
  }
})

t.test('directions, correlation and replies', async (t) => {
  for (const [name, spec] of ROWS) {
    t.equal(spec.direction, INBOUND.includes(name) ? 'in' : 'out', `${name} direction`)
    t.ok(spec.correlated === undefined || spec.correlated === true, `${name} correlated is true or absent`)
    if (spec.reply !== undefined) {
      t.equal(spec.direction, 'in', `${name}: only inbound events have a reply`)
      const reply = SystemEvents[spec.reply as SystemEventName] as SystemEventSpec | undefined
      t.equal(reply?.direction, 'out', `${name} is answered by the outbound ${spec.reply}`)
      t.equal(reply?.correlated, true, `${spec.reply} carries the id it answers`)
    }
  }
  t.same(ROWS.filter(([, s]) => s.correlated === true).map(([n]) => n), ['__error__', '__refresh_auth__', '__auth_refreshed__', '__ack__', '__resume__', '__resumed__'])
  t.equal(SystemEvents.__refresh_auth__.reply, '__auth_refreshed__')
  t.equal(SystemEvents.__error__.payload, ErrorPayload, '__error__ carries ErrorPayload')
})

t.test('every payload is a described TypeBox object with a unique title', async (t) => {
  const titles = new Set<string>()
  for (const [name, spec] of ROWS) {
    t.ok(KindGuard.IsObject(spec.payload), `${name} payload is a TypeBox object`)
    t.equal(spec.payload.type, 'object')
    t.type(spec.payload.title, 'string')
    t.match(spec.payload.title, /^[A-Z][A-Za-z]*Payload$/, `${name} title ${spec.payload.title}`)
    t.notOk(titles.has(spec.payload.title as string), `${spec.payload.title} is unique`)
    titles.add(spec.payload.title as string)
    t.ok(spec.summary.length > 0 && spec.description.length > 0, `${name} is summarized and described`)
    t.type(spec.payload.description, 'string', `${name} payload is described`)
    for (const [key, prop] of Object.entries<TSchema>(spec.payload.properties)) {
      t.type(prop.description, 'string', `${name}.${key} is described`)
    }
  }
  t.same(ErrorPayload.required, ['code', 'message', 'request_id', 'details'])
  t.same(JSON.parse(JSON.stringify(ErrorPayload.properties.details)), {
    type: 'object', additionalProperties: true, description: ErrorPayload.properties.details.description
  })
  t.same(SystemEvents.__connect__.payload.required, ['connection_id', 'namespace', 'heartbeat_interval', 'session_expires_at', 'contract'])
  t.equal(SystemEvents.__connect__.payload.properties.connection_id.format, 'uuid')
  t.match(SystemEvents.__ping__.description, /together with a WebSocket ping control frame/)
  t.match(SystemEvents.__refresh_auth__.description, /same userId/)
  t.match(SystemEvents.__refresh_auth__.description, /At most 5 refreshes per connection per minute/)
})

t.test('the schemas compile with Ajv and accept what the server sends', async (t) => {
  const ajv = compiler()
  const uuid = '6f1c2b1e-8a8e-4c1b-9a57-2d3f4e5a6b7c'
  const samples: { [N in SystemEventName]: Array<SystemPayload<N>> } = {
    __connect__: [
      { connection_id: uuid, namespace: '/', heartbeat_interval: 25, session_expires_at: null, contract: 'abc' },
      { connection_id: uuid, namespace: '/chat', heartbeat_interval: 0.5, session_expires_at: 1700000000000, contract: 'abc' }
    ],
    __disconnect__: [{ code: 1000, reason: 'bye' }],
    __ping__: [{ ts: 1700000000000 }],
    __pong__: [{}],
    __error__: [{ code: 'VALIDATION_ERROR', message: 'Invalid message', request_id: 'r1', details: { errors: [] } }, { code: 'MY_CODE', message: 'x', request_id: uuid, details: {} }],
    __auth_expiring__: [{ expires_at: 1700000000000, seconds_left: 60 }],
    __refresh_auth__: [{ token: 't' }],
    __auth_refreshed__: [{ expires_at: null }, { expires_at: 1700000000000 }],
    __session_expiring__: [{ expires_at: 1700000000000, seconds_left: 2.5 }],
    __idle_warning__: [{ seconds_left: 30 }],
    __server_shutdown__: [{ retry_after_ms: 5000 }],
    __ack__: [{}, { ok: true, anything: [1, 2] }],
    __joined__: [{ room: 'r', offset: 0, epoch: 'e1' }],
    __left__: [{ room: 'r' }],
    __resume__: [{ token: 't', rooms: { r: { offset: 3, epoch: 'e1' } } }, { token: 't' }],
    __resumed__: [{ recovered: true, previous_id: 'p', rooms: { r: { recovered: true, missed: 2 } } }, { recovered: false, reason: 'unknown_token', rooms: {} }]
  }
  for (const [name, spec] of ROWS) {
    const validate = ajv.compile(spec.payload)
    for (const sample of samples[name]) t.ok(validate(sample), `${name} accepts ${JSON.stringify(sample)}`)
  }
  t.notOk(ajv.compile(SystemEvents.__connect__.payload)({ connection_id: 'nope', namespace: '/', heartbeat_interval: 25, session_expires_at: null, contract: 'c' }), 'connection_id must be a uuid')
  t.notOk(ajv.compile(SystemEvents.__disconnect__.payload)({ code: 1000.5, reason: '' }), 'close codes are integers')
  t.notOk(ajv.compile(SystemEvents.__server_shutdown__.payload)({}), 'required fields are required')

  const inbound = ajv.compile(InboundEnvelope)
  t.ok(inbound({ event: 'echo' }), 'payload and id are optional inbound')
  t.notOk(inbound({ event: 'echo', id: 'x'.repeat(65) }), 'id at most 64 characters')
  t.notOk(inbound({ event: '' }), 'event is not empty')
  const outbound = ajv.compile(OutboundEnvelope)
  t.ok(outbound({ event: 'echo', payload: null }))
  t.notOk(outbound({ event: 'echo' }), 'payload is required outbound')
})

t.test('isReservedName', async (t) => {
  for (const name of ['__x__', '__connect__', '__my event__', '_____']) t.ok(isReservedName(name), name)
  for (const name of ['', '__', '____', '_x_', '__x', 'x__', '__x_', 'echo', 'chat:__x__', '__x__ ']) t.notOk(isReservedName(name), JSON.stringify(name))
})

t.test('types come from the schemas', async (t) => {
  const connect: SystemPayload<'__connect__'> = {
    connection_id: 'id', namespace: '/', heartbeat_interval: 25, session_expires_at: null, contract: 'hash'
  }
  // @ts-expect-error contract is required
  const noContract: SystemPayload<'__connect__'> = { connection_id: 'id', namespace: '/', heartbeat_interval: 25, session_expires_at: null }
  // @ts-expect-error session_expires_at is number | null, never undefined
  const undef: SystemPayload<'__connect__'> = { ...connect, session_expires_at: undefined }
  const refreshed: SystemPayload<'__auth_refreshed__'> = { expires_at: null }
  const error: SystemPayload<'__error__'> = { code: 'X', message: 'm', request_id: 'r', details: { any: 1 } }
  const details: unknown = error.details.any
  // @ts-expect-error retry_after_ms is a number
  const shutdown: SystemPayload<'__server_shutdown__'> = { retry_after_ms: '5' }
  const pong: SystemPayload<'__pong__'> = {}

  const outbound: Equal<OutboundSystemEventName, '__connect__' | '__disconnect__' | '__ping__' | '__error__' | '__auth_expiring__' | '__auth_refreshed__' | '__session_expiring__' | '__idle_warning__' | '__server_shutdown__' | '__joined__' | '__left__' | '__resumed__'> = true
  const inbound: Equal<InboundSystemEventName, '__pong__' | '__refresh_auth__' | '__ack__' | '__resume__'> = true
  const errorType: Equal<ErrorPayload, SystemPayload<'__error__'>> = true
  const direction: Equal<(typeof SystemEvents)['__pong__']['direction'], 'in'> = true
  const envelope: Equal<InboundEnvelope, { event: string, payload?: unknown, id?: string }> = true
  t.ok([connect, noContract, undef, refreshed, error, details, shutdown, pong, outbound, inbound, errorType, direction, envelope].length > 0)
})

// The error table (lib/errors.ts) is the single source of every wire code: each
// one unique, documented in the README's table, in the SPEC's order.
const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
const specPath = new URL('../../shared/SPEC.md', import.meta.url)

/** Codes of the first markdown table whose header starts with `| code |`, in order. */
function tableCodes (md: string): string[] {
  const start = md.indexOf('| code |')
  const rows = md.slice(start).split('\n').slice(2)
  const out: string[] = []
  for (const row of rows) {
    const m = /^\| `?([A-Z_]+)`? \|/.exec(row)
    if (m === null) break
    out.push(m[1])
  }
  return out
}

t.test('every wire code is unique, has a message and a description, and ErrorCode mirrors WIRE_ERRORS', async (t) => {
  const codes = Object.keys(WIRE_ERRORS)
  t.same(codes, Object.values(ErrorCode), 'same codes, same order')
  t.equal(new Set(codes).size, codes.length)
  for (const [code, e] of Object.entries(WIRE_ERRORS)) {
    t.match(code, /^[A-Z][A-Z_]+$/)
    t.ok(e.message.length > 0 && e.description.length > 0, `${code} documented`)
    if (e.close !== undefined) t.ok(Object.values(CloseCode).includes(e.close as never), `${code} closes with a known code`)
  }
  t.equal(new Set(Object.values(CloseCode)).size, Object.values(CloseCode).length, 'close codes unique')
})

t.test("the README's error table lists every wire code, in the table's order", async (t) => {
  t.same(tableCodes(readme), Object.keys(WIRE_ERRORS))
  for (const code of Object.values(CloseCode)) t.ok(readme.includes(String(code)), `close code ${code} in the README`)
})

t.test("the SPEC's error table has the same codes in the same order", { skip: existsSync(specPath) ? false : 'the SPEC lives beside the repository (../shared/SPEC.md), not in a clone' }, async (t) => {
  t.same(tableCodes(readFileSync(specPath, 'utf8')), Object.keys(WIRE_ERRORS))
})

t.test('every FST_SOCKETSPEC_* error is unique and documented in the README', async (t) => {
  const fst = Object.keys(errors).filter(k => k.startsWith('FST_SOCKETSPEC_'))
  t.ok(fst.length >= 10)
  for (const name of fst) {
    const E = (errors as Record<string, any>)[name]
    t.equal(new E('a', 'b').code, name, `${name} has its own code`)
    t.ok(readme.includes(name), `${name} in the README`)
  }
})

t.test('helpers: wireMessage, issueDetails, outboundValidationError, isSocketError', async (t) => {
  t.equal(wireMessage('AUTH_ERROR'), WIRE_ERRORS.AUTH_ERROR.message)
  t.equal(wireMessage('MY_CODE'), 'MY_CODE', 'application codes are their own message')
  t.same(issueDetails('/id', 'bad', 'type'), { errors: [{ path: '/id', message: 'bad', keyword: 'type' }] })
  const e = outboundValidationError('said', [{ path: '/text', message: 'must be string', keyword: 'type' }])
  t.equal(e.code, 'OUTBOUND_VALIDATION_ERROR')
  t.same(e.details, { event: 'said', errors: [{ path: '/text', message: 'must be string', keyword: 'type' }] })
  t.ok(isSocketError(e))
  t.ok(isSocketError(Object.assign(new Error('x'), { name: 'SocketError', code: 'X' })), 'duck-typed (another copy of the package)')
  t.notOk(isSocketError(new Error('x')))
  t.notOk(isSocketError(null))
  t.equal(new SocketError('ACK_TIMEOUT').message, WIRE_ERRORS.ACK_TIMEOUT.message)
})
