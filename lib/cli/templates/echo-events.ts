import type { ScaffoldOptions } from './options.js'

/** events/echo.ts: the smallest event, with a declared outbound event. */
export function render (_opts: ScaffoldOptions): string {
  return `import type { FastifyInstance } from 'fastify'
import { Type } from 'socketspec'

const EchoResponse = Type.Object({
  echo: Type.String(),
  from: Type.String({ description: 'Id of the connection that sent it.' })
})

/** Echo events: send \`{"event": "echo", "payload": {"echo": "hi"}}\` and get \`echo_response\` back. */
export default async function echoEvents (fastify: FastifyInstance) {
  fastify.socket.on('echo', {
    payload: Type.Object({ echo: Type.String({ maxLength: 1000 }) }),
    description: 'Echo a message back to the sender.',
    tags: ['demo'],
    emits: [{ event: 'echo_response', schema: EchoResponse }]
  }, async (conn, payload) => {
    await conn.emit('echo_response', { echo: payload.echo, from: conn.id })
  })
}
`
}
