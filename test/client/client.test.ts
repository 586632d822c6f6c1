// The client SDK in Node against real servers on real ports (SPEC §11).
import t from 'tap'
import { createSigner } from 'fast-jwt'
import { connect, SocketError, type SocketspecClient } from '../../lib/client/index.js'
import { jwtAuth } from '../../lib/index.js'
import { buildClientTestApp } from '../fixtures/client/app.js'
import type { TestContract } from '../fixtures/client/events.js'
import { client, StateLog } from '../helpers/client.js'
import { listen } from '../helpers/ws-client.js'
import { waitFor } from '../helpers/rooms.js'

const SECRET = 'client-test-secret-of-32-bytes!!'
const sign = createSigner({ key: SECRET, algorithm: 'HS256' })

t.test('round trips: request, send and on, errors by id, server requests', async (t) => {
  const app = await buildClientTestApp()
  t.teardown(() => app.close())
  const url = await listen(t, app)
  const c = client<TestContract>(t, url)
  const states = new StateLog(c)
  await c.ready
  t.equal(c.state, 'open')
  t.match(c.connectionId, /^[0-9a-f-]{36}$/)
  t.same(states.states, ['open'])
  t.equal(states.entries[0].info.connectionId, c.connectionId)

  t.same(await c.request('add', { a: 2, b: 3 }), { sum: 5 }, 'the reply payload')

  const echoed = new Promise(resolve => c.on('echoed', (payload, frame) => resolve({ payload, event: frame.event })))
  c.send('echo', { text: 'hi' })
  t.same(await echoed, { payload: { text: 'hi', from: c.connectionId }, event: 'echoed' })

  const err = await c.request('fail', { code: 'NOPE' }).catch(e => e)
  t.ok(err instanceof SocketError)
  t.match(err, { code: 'NOPE', message: 'failed with NOPE', details: { why: 'asked' } })

  const invalid = await c.request('add', { a: 'x', b: 1 } as never).catch(e => e)
  t.match(invalid, { code: 'VALIDATION_ERROR', details: { errors: [{ path: '/a' }] } })

  const timeout = await c.request('slow', { ms: 500 }, { timeout: 50 }).catch(e => e)
  t.match(timeout, { code: 'TIMEOUT', details: { event: 'slow', timeout: 50 } })

  // conn.request() on the server, answered by client.handle()
  const off = c.handle('question', async ({ question }: { question: string }) => ({ echo: question }))
  t.same(await c.request('ask', { question: 'why?' }), { answer: { echo: 'why?' } })
  c.handle('question', () => { throw new SocketError('NOT_NOW', 'busy') })
  t.same(await c.request('ask', { question: 'now?' }), { answer: { refused: 'NOT_NOW' } })
  off() // removes nothing: another handler replaced it
  c.handle('question', () => { throw new Error('plain') })()
  t.same(await c.request('ask', { question: 'no handler' }), { answer: { refused: 'ACK_TIMEOUT' } }, 'no handler: the server times out')

  const errors: SocketError[] = []
  c.onError((e) => errors.push(e))
  ;(c as unknown as SocketspecClient).send('nope')
  await c.request('add', { a: 1, b: 1 }) // answered after the error: the error has arrived
  t.match(errors, [{ code: 'UNKNOWN_EVENT', details: { event: 'nope' } }], 'errors answering no request reach onError')
})

t.test('tokens: Authorization header in Node, refreshed on __auth_expiring__', async (t) => {
  const app = await buildClientTestApp({ auth: jwtAuth({ secret: SECRET, algorithm: 'HS256' }), session: { tokenRefreshWindow: 2 } })
  t.teardown(() => app.close())
  const url = await listen(t, app)
  let minted = 0
  const c = client<TestContract>(t, url, {
    token: async () => {
      minted++
      return sign({ sub: 'alice', exp: Math.floor(Date.now() / 1000) + 3 })
    }
  })
  await c.ready
  const first = await c.request('whoami', {})
  t.equal(first.userId, 'alice')
  const server = app.socket.connection(c.connectionId!)!
  t.match(server.headers.authorization, /^Bearer /, 'sent as a header')
  t.notOk(server.headers['sec-websocket-protocol']?.includes('bearer.'), 'not as a subprotocol')
  // __auth_expiring__ comes 2 s before exp: the client mints a new token and sends __refresh_auth__
  await waitFor(() => minted >= 2, 4000)
  t.equal(minted, 2, 'the token function was called again')
  for (let i = 0; i < 40; i++) {
    const now = await c.request('whoami', {})
    if (now.expiresAt !== first.expiresAt) break
    await new Promise(resolve => setTimeout(resolve, 50))
  }
  const after = await c.request('whoami', {})
  t.ok(after.expiresAt! > first.expiresAt!, 'the identity carries the new expiry')
  t.equal(c.state, 'open')
})

t.test('a refused token ends in closed and rejects ready; a static token does not retry', async (t) => {
  const app = await buildClientTestApp({ auth: jwtAuth({ secret: SECRET, algorithm: 'HS256' }) })
  t.teardown(() => app.close())
  const url = await listen(t, app)
  const c = connect(url, { token: 'not-a-jwt' })
  const states = new StateLog(c)
  const err = await c.ready.catch(e => e)
  t.match(err, { code: 'AUTH_ERROR', closeCode: 4001 })
  t.same(states.states, ['closed'])
  t.match(states.entries[0].info, { code: 4001, attempt: 0, error: { code: 'AUTH_ERROR' } })
  t.throws(() => c.send('add', { a: 1, b: 2 }), { code: 'DISCONNECTED' })
})
