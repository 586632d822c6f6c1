import type { ScaffoldOptions } from './options.js'

/** test/echo.test.ts */
export function render (opts: ScaffoldOptions): string {
  const jwt = opts.auth === 'jwt'
  return `import assert from 'node:assert/strict'
import { test } from 'node:test'
import { build, connect, match } from './helper.js'

test('echo answers the sender with echo_response', async (t) => {
  const { client } = await build(t)
  const conn = await connect(client, 'alice')

  await conn.send('echo', { echo: 'hello' })
  const msg = await conn.receive()
  match(msg, { event: 'echo_response', payload: { echo: 'hello', from: conn.server.id } })
})

test('a payload that does not match the schema gets VALIDATION_ERROR', async (t) => {
  const { client } = await build(t)
  const conn = await connect(client, 'alice')

  await conn.send('echo', { echo: 42 }, { id: 'bad-1' })
  const msg = await conn.receive()
  match(msg, { event: '__error__', id: 'bad-1', payload: { code: 'VALIDATION_ERROR' } })
})
${jwt
? `
test('a connection without a valid token is refused', async (t) => {
  const { client } = await build(t)
  await assert.rejects(client.connect(), { code: 'AUTH_ERROR' })
  await assert.rejects(client.connect({ token: 'not-a-jwt' }), { code: 'AUTH_ERROR' })
})

test('the identity comes from the token', async (t) => {
  const { client } = await build(t)
  const conn = await connect(client, 'alice')
  assert.equal(conn.server.identity.userId, 'alice')
})
`
: ''}`
}
