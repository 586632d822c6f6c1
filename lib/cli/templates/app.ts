import type { ScaffoldOptions } from './options.js'

/** app.ts: the application plugin, as `fastify start` expects it. */
export function render (_opts: ScaffoldOptions): string {
  return `import type { FastifyPluginAsync, FastifyPluginOptions, FastifyServerOptions } from 'fastify'
import socketspecPlugin from './plugins/socketspec.js'
import echoEvents from './events/echo.js'
import chatEvents from './events/chat.js'

export type AppOptions = FastifyPluginOptions

// Fastify server options. Pass --options to \`fastify start\` to enable them.
export const options: FastifyServerOptions = {}

/**
 * The application: a Fastify plugin. \`fastify start dist/app.js\` serves it,
 * the tests register it on their own instance (see test/helper.ts).
 */
const app: FastifyPluginAsync<AppOptions> = async function app (fastify, opts) {
  // Support plugins first: they decorate the instance (\`fastify.socket\`).
  await fastify.register(socketspecPlugin, opts)

  // Then one plugin per group of events.
  await fastify.register(echoEvents)
  await fastify.register(chatEvents)
}

export default app
`
}
