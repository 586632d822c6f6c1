import type { ScaffoldOptions } from './options.js'

/** test/helper.ts: builds the app per test, and a TestClient on it. */
export function render (opts: ScaffoldOptions): string {
  const jwt = opts.auth === 'jwt'
  return `import Fastify from 'fastify'
import fp from 'fastify-plugin'
import { TestClient } from 'socketspec/testing'
${jwt ? "import { createSigner } from 'fast-jwt'\n" : ''}import app from '../app.js'
${jwt ? "import { jwtSecret } from '../plugins/socketspec.js'\n" : ''}
/** What helpers need from a tap test. */
interface TestLike {
  teardown: (fn: () => unknown) => void
}

/**
 * Build the app on a fresh Fastify instance, plus a TestClient talking to it
 * in process (no port). Both are closed when the test ends.
 */
export async function build (t: TestLike) {
  const fastify = Fastify()
  // fastify-plugin exposes the app's decorators (fastify.socket) to the test.
  await fastify.register(fp(app))
  await fastify.ready()
  const client = new TestClient(fastify)
  t.teardown(async () => {
    await client.close()
    await fastify.close()
  })
  return { app: fastify, client }
}
${jwt
? `
const sign = createSigner({ key: jwtSecret, algorithm: 'HS256', expiresIn: 10 * 60 * 1000 })

/** A valid token for \`user\`, as your login endpoint would issue it. */
export function tokenFor (user: string): string {
  return sign({ sub: user })
}

/** Connect as \`user\`. */
export function connect (client: TestClient, user: string) {
  return client.connect({ token: tokenFor(user) })
}
`
: `
/** Connect a new client. The app has no auth: \`user\` only names the connection in tests. */
export function connect (client: TestClient, _user: string) {
  return client.connect()
}
`}`
}
