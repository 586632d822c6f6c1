import t from 'tap'
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import WebSocket, { WebSocketServer } from 'ws'
import { createUrlRedactor, extractToken, MAX_TOKEN_LENGTH, queryValue, redactQuery, redactUrl, selectProtocol, sensitiveNames, SENSITIVE_QUERY_PARAMS } from '../lib/auth/token.js'

const JWT = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1MSJ9.c2lnbmF0dXJl'

t.test('extractToken: source order', async t => {
  const all = { authorization: 'Bearer from-header', 'sec-websocket-protocol': 'socketspec, bearer.from-protocol' }
  t.same(extractToken(all, { token: 'from-query' }), { token: 'from-header', source: 'header' })
  t.same(extractToken({ 'sec-websocket-protocol': all['sec-websocket-protocol'] }, { token: 'from-query' }), { token: 'from-protocol', source: 'protocol' })
  t.same(extractToken({}, { token: 'from-query' }), { token: 'from-query', source: 'query' })
  t.same(extractToken({}, {}), { token: null, source: null })
  t.same(extractToken({}), { token: null, source: null }, 'query may be absent')
  t.same(extractToken({ authorization: `Bearer ${JWT}` }, {}), { token: JWT, source: 'header' }, 'a JWT keeps its dots')
})

t.test('extractToken: Authorization header', async t => {
  const h = (authorization: string): string | null => extractToken({ authorization }, { token: 'q' }).token
  t.equal(h('bearer abc'), 'abc', 'lowercase scheme')
  t.equal(h('BEARER abc'), 'abc', 'uppercase scheme')
  t.equal(h('Bearer   abc  '), 'abc', 'extra spaces')
  t.equal(h('Bearer\tabc'), 'abc', 'tab separator')
  t.equal(h('  Bearer abc'), 'abc', 'leading whitespace')
  t.equal(h('Bearer '), 'q', 'empty bearer falls through')
  t.equal(h('Bearer'), 'q', 'scheme only falls through')
  t.equal(h('Bearerabc'), 'q', 'no separator is not a bearer token')
  t.equal(h('Basic dXNlcjpwYXNz'), 'q', 'other schemes ignored')
  t.equal(h(''), 'q')
})

t.test('extractToken: Sec-WebSocket-Protocol', async t => {
  const p = (value: string | string[]): string | null => extractToken({ 'sec-websocket-protocol': value as string }, {}).token
  t.equal(p('bearer.abc'), 'abc')
  t.equal(p('socketspec,bearer.abc'), 'abc', 'no spaces')
  t.equal(p(' socketspec ,  bearer.abc , chat '), 'abc', 'trimmed entries')
  t.equal(p(`socketspec, bearer.${JWT}`), JWT, 'dots after the prefix are part of the token')
  t.equal(p('bearer., bearer.second'), 'second', 'empty bearer entry skipped')
  t.equal(p('bearer.first, bearer.second'), 'first', 'first bearer entry wins')
  t.equal(p('socketspec, chat'), null, 'no bearer entry')
  t.equal(p('Bearer.abc'), null, 'subprotocol names are case-sensitive')
  t.equal(p(['socketspec', 'bearer.arr']), 'arr', 'repeated header as an array')
  t.equal(p(''), null)
})

t.test('extractToken: query', async t => {
  t.same(extractToken({}, { token: ['first', 'second'] }), { token: 'first', source: 'query' }, 'first value when repeated')
  t.same(extractToken({}, { token: '' }), { token: null, source: null }, 'empty value')
  t.same(extractToken({}, { token: [] }), { token: null, source: null }, 'empty array')
  t.same(extractToken({}, { token: undefined }), { token: null, source: null })
  t.same(extractToken({}, JSON.parse('{"__proto__": {"token": "polluted"}}')), { token: null, source: null }, 'only own keys')
  t.same(extractToken({}, Object.create({ token: 'inherited' })), { token: null, source: null }, 'inherited keys ignored')
  t.equal(queryValue(undefined, 'token'), undefined)
  t.equal(queryValue({ a: 'x' }, 'a'), 'x')
})

t.test('extractToken: oversized values are refused, not truncated', async t => {
  const max = 'a'.repeat(MAX_TOKEN_LENGTH)
  const over = 'a'.repeat(MAX_TOKEN_LENGTH + 1)
  t.equal(MAX_TOKEN_LENGTH, 16 * 1024)
  t.same(extractToken({ authorization: `Bearer ${max}` }), { token: max, source: 'header' }, 'exactly 16 KiB is accepted')
  t.same(extractToken({ authorization: `Bearer ${over}` }, { token: 'q' }), { token: null, source: null }, 'header')
  t.same(extractToken({ 'sec-websocket-protocol': `socketspec, bearer.${over}` }, { token: 'q' }), { token: null, source: null }, 'subprotocol')
  t.same(extractToken({}, { token: over }), { token: null, source: null }, 'query')
})

t.test('selectProtocol: socketspec or nothing, never another offered entry', async t => {
  t.equal(selectProtocol(new Set(['socketspec', 'bearer.abc'])), 'socketspec')
  t.equal(selectProtocol(new Set(['bearer.abc', 'socketspec'])), 'socketspec', 'order does not matter')
  t.equal(selectProtocol(new Set(['chat', 'socketspec'])), 'socketspec')
  t.equal(selectProtocol(new Set(['chat', 'bearer.abc'])), false, 'chat is never selected')
  t.equal(selectProtocol(new Set(['bearer.abc', 'chat', 'other'])), false, 'nor the first non-token entry')
  t.equal(selectProtocol(new Set(['chat'])), false)
  t.equal(selectProtocol(new Set(['bearer.abc'])), false, 'a token is never echoed back')
  t.equal(selectProtocol(new Set(['Socketspec'])), false, 'subprotocol names are case-sensitive')
  t.equal(selectProtocol(new Set()), false)
})

t.test('a browser-style client passes its token as a subprotocol over a real handshake', async t => {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, handleProtocols: selectProtocol })
  t.teardown(() => new Promise<void>(resolve => wss.close(() => resolve())))
  await once(wss, 'listening')
  const seen = new Promise<[WebSocket, { headers: Record<string, any> }]>(resolve => wss.once('connection', (ws, request) => resolve([ws, request])))

  const client = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}/ws`, ['socketspec', `bearer.${JWT}`])
  t.teardown(() => client.terminate())
  await once(client, 'open')
  t.equal(client.protocol, 'socketspec', 'the server selected socketspec, never the token entry')
  const [server, request] = await seen
  t.equal(server.protocol, 'socketspec')
  t.same(extractToken(request.headers, {}), { token: JWT, source: 'protocol' }, 'the token is read from the upgrade request')
})

t.test('redactUrl', async t => {
  t.equal(redactUrl('/ws?token=abc'), '/ws?token=[REDACTED]')
  t.equal(redactUrl(`/ws?room=1&token=${JWT}&x=2`), '/ws?room=1&token=[REDACTED]&x=2')
  t.equal(redactUrl('/ws?api_key=k&token=t'), '/ws?api_key=[REDACTED]&token=[REDACTED]')
  t.equal(redactUrl('/ws?token=a&token=b'), '/ws?token=[REDACTED]&token=[REDACTED]', 'every repeat')
  t.equal(redactUrl('/ws?TOKEN=abc'), '/ws?TOKEN=[REDACTED]', 'case-insensitive')
  t.equal(redactUrl('/ws?%74oken=abc'), '/ws?%74oken=[REDACTED]', 'percent-encoded name')
  t.equal(redactUrl('/ws?api+key=abc&api%5Fkey=def'), '/ws?api+key=abc&api%5Fkey=[REDACTED]')
  t.equal(redactUrl('/ws?%E0%A4%A=1&token=x'), '/ws?%E0%A4%A=1&token=[REDACTED]', 'malformed escapes do not throw')
  t.equal(redactUrl('/ws?token=abc#frag'), '/ws?token=[REDACTED]#frag')
  t.equal(redactUrl('/ws?token='), '/ws?token=', 'nothing to hide')
  t.equal(redactUrl('/ws?token'), '/ws?token')
  t.equal(redactUrl('/ws?tokens=abc&my_token=x'), '/ws?tokens=abc&my_token=x', 'exact names only')
  t.equal(redactUrl('/ws'), '/ws')
  t.equal(redactUrl('/ws?room=1'), '/ws?room=1')
  t.equal(redactUrl(''), '')
  t.equal(redactUrl(undefined as unknown as string), undefined, 'non-strings pass through')
  t.equal(redactUrl('https://host:3000/ws?token=abc'), 'https://host:3000/ws?token=[REDACTED]', 'absolute URLs')

  const custom = createUrlRedactor(['Key'])
  t.equal(custom('/ws?key=k&token=t&api_key=a&room=1'), '/ws?key=[REDACTED]&token=[REDACTED]&api_key=[REDACTED]&room=1')
  t.equal(redactUrl('/ws?key=k'), '/ws?key=k', 'the default redactor is unchanged')
  t.equal(redactUrl('/ws?resume_token=r&Resume_Token=s'), '/ws?resume_token=[REDACTED]&Resume_Token=[REDACTED]', 'resume_token')
  t.equal(redactUrl('/ws?token=a?b&c=1'), '/ws?token=[REDACTED]&c=1', 'a ? inside the value is part of it')
  t.equal(redactUrl('/ws?&token=b'), '/ws?&token=[REDACTED]')
  t.equal(redactUrl('/ws?token=a=b&c=1'), '/ws?token=[REDACTED]&c=1', 'an = inside the value')
})

t.test('SENSITIVE_QUERY_PARAMS and sensitiveNames', async t => {
  t.same(SENSITIVE_QUERY_PARAMS, ['token', 'api_key', 'resume_token'])
  t.ok(Object.isFrozen(SENSITIVE_QUERY_PARAMS))
  t.same([...sensitiveNames()], ['token', 'api_key', 'resume_token'])
  t.same([...sensitiveNames(['Key', 'token'])], ['token', 'api_key', 'resume_token', 'key'], 'lower-cased, no duplicates')
})

t.test('redactQuery: log lines (JSON text holding URLs)', async t => {
  const names = sensitiveNames(['key'])
  const line = '{"level":30,"req":{"method":"GET","url":"/ws?key=K1&room=1"},"msg":"incoming request"}'
  t.equal(redactQuery(line, names), '{"level":30,"req":{"method":"GET","url":"/ws?key=[REDACTED]&room=1"},"msg":"incoming request"}')
  t.equal(redactQuery('{"msg":"Route GET:/nope?token=S4 not found"}', names), '{"msg":"Route GET:/nope?token=[REDACTED] not found"}', 'a value inside a message ends at a space')
  t.equal(redactQuery('{"a":"/x?token=A","b":"/y?api_key=B&token=C"}', names), '{"a":"/x?token=[REDACTED]","b":"/y?api_key=[REDACTED]&token=[REDACTED]"}', 'several URLs in one line')
  t.equal(redactQuery('{"url":"/n?token=ab\\"cd\\\\ef&x=1"}', names), '{"url":"/n?token=[REDACTED]&x=1"}', 'JSON escapes (\\" and \\\\) stay inside the value')
  t.equal(redactQuery('{"url":"/n?token=abc"}\n', names), '{"url":"/n?token=[REDACTED]"}\n', 'the value ends with its JSON string')
  const plain = '{"level":30,"msg":"request completed"}'
  t.equal(redactQuery(plain, names), plain, 'a line without ? is returned as is')
  t.equal(redactQuery('{"msg":"a&token=b, no query"}', names), '{"msg":"a&token=b, no query"}', 'no ? in the line: no work at all')
  t.equal(redactQuery('{"msg":"why? token=b"}', names), '{"msg":"why? token=b"}', 'only ?name= and &name= pairs')
})
