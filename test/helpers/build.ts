import Fastify, { type FastifyInstance } from 'fastify'
import type { Test } from 'tap'
import socketspec, { type SocketspecOptions } from '../../lib/index.js'
import { TestClient } from '../../lib/testing.js'

/** A Fastify app with socketspec registered, closed at the end of the test. */
export async function build (t: Test, options: SocketspecOptions = {}, fastifyOptions: Record<string, unknown> = {}): Promise<FastifyInstance> {
  const app = Fastify({ logger: false, ...fastifyOptions })
  await app.register(socketspec, options)
  t.teardown(() => app.close())
  return app
}

/** A TestClient for `app`, closed at the end of the test. */
export function client (t: Test, app: FastifyInstance): TestClient {
  const c = new TestClient(app)
  t.teardown(() => c.close())
  return c
}

/** Resolve after `ms` milliseconds. */
export function sleep (ms: number): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, ms))
}

/** Build a fresh app with socketspec (`setup` may declare events) up to `ready`; return what it threw, or null. */
export async function startupError (options: unknown, setup: (app: FastifyInstance) => void = () => {}): Promise<any> {
  const app = Fastify({ logger: false })
  try {
    await app.register(socketspec, options as SocketspecOptions)
    setup(app)
    await app.ready()
  } catch (err) {
    return err
  } finally {
    await app.close().catch(() => {})
  }
  return null
}
