import Fastify, { type FastifyInstance } from 'fastify'
import socketspec, { Type } from '../../lib/index.js'

export interface BuildOptions {
  logger?: boolean
  redisUrl?: string
}

/** The example app: an echo event (SPEC §1). */
export async function buildApp (opts: BuildOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({ logger: opts.logger ?? false })
  await app.register(socketspec, {
    path: '/ws',
    docs: true,
    rateLimit: { rate: 20, capacity: 50 },
    session: { idleTimeout: 300, maxDuration: 7200 }
  })

  app.socket.on('echo', {
    payload: Type.Object({ echo: Type.String({ description: 'Text to send back.', default: 'hello' }) }),
    description: 'Echo a message back to the sender.',
    tags: ['demo'],
    emits: [{ event: 'echo_response', schema: Type.Object({ echo: Type.String(), from: Type.String() }) }]
  }, async (conn, payload) => {
    conn.emit('echo_response', { echo: payload.echo, from: conn.id })
  })

  return app
}
