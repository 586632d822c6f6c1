import type { ScaffoldOptions } from './options.js'

/** test/helper.ts: builds the app per test, a TestClient on it, and `match` (a partial deep equality for node:test). */
export function render (opts: ScaffoldOptions): string {
  const jwt = opts.auth === 'jwt'
  return `import assert from 'node:assert/strict'
import type { TestContext } from 'node:test'
import Fastify from 'fastify'
import fp from 'fastify-plugin'
import { TestClient } from 'socketspec/testing'
${jwt ? "import { createSigner } from 'fast-jwt'\n" : ''}import app from '../app.js'
${jwt ? "import { jwtSecret } from '../plugins/socketspec.js'\n" : ''}
/**
 * Build the app on a fresh Fastify instance, plus a TestClient talking to it
 * in process (no port). Both are closed when the test ends.
 */
export async function build (t: TestContext) {
  const fastify = Fastify()
  // fastify-plugin exposes the app's decorators (fastify.socket) to the test.
  await fastify.register(fp(app))
  await fastify.ready()
  const client = new TestClient(fastify)
  t.after(async () => {
    await client.close()
    await fastify.close()
  })
  return { app: fastify, client }
}

/** \`actual\` cut down to the keys of \`expected\`, at every depth of the objects and arrays \`expected\` has. */
function pick (actual: unknown, expected: unknown): unknown {
  if (typeof expected !== 'object' || expected === null || typeof actual !== 'object' || actual === null) return actual
  if (Array.isArray(expected)) return Array.isArray(actual) ? expected.map((item, i) => pick(actual[i], item)) : actual
  const fields = actual as Record<string, unknown>
  return Object.fromEntries(Object.entries(expected).map(([key, value]) => [key, pick(fields[key], value)]))
}

/**
 * Assert that \`actual\` has the fields of \`expected\`, with equal values (other
 * fields are ignored), like tap's \`t.match\` with an object: a failure shows the diff
 * of those fields.
 */
export function match (actual: unknown, expected: object, message?: string): void {
  assert.deepStrictEqual(pick(actual, expected), expected, message)
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
