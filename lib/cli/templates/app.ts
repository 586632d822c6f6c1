import type { ScaffoldOptions } from './options.js'

/** app.ts: the application plugin, as `fastify start` expects it; plugins/ and events/ are autoloaded, as in `fastify generate`. */
export function render (_opts: ScaffoldOptions): string {
  return `import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import AutoLoad from '@fastify/autoload'
import type { FastifyPluginAsync, FastifyPluginOptions, FastifyServerOptions } from 'fastify'

const file = fileURLToPath(import.meta.url)
const here = dirname(file)

// Running the TypeScript sources through tsx (the tests, \`npm run dev\`,
// \`socketspec asyncapi app.ts\`): let @fastify/autoload import the .ts files
// of plugins/ and events/. It only detects tsx when preloaded with --require.
if (file.endsWith('.ts')) process.env.FASTIFY_AUTOLOAD_TYPESCRIPT ??= '1'

export type AppOptions = FastifyPluginOptions

// Fastify server options. Pass --options to \`fastify start\` to enable them.
export const options: FastifyServerOptions = {}

/**
 * The application: a Fastify plugin. \`fastify start dist/app.js\` serves it,
 * the tests register it on their own instance (see test/helper.ts).
 */
const app: FastifyPluginAsync<AppOptions> = async function app (fastify, opts) {
  // Support plugins first: plugins/socketspec.ts decorates the instance with
  // \`fastify.socket\` (fastify-plugin lets the decorator reach the events).
  await fastify.register(AutoLoad, { dir: join(here, 'plugins'), options: opts })

  // Then every file in events/ is a plugin declaring events with
  // \`fastify.socket.on(...)\`: add a file there to add events, no need to edit this one.
  await fastify.register(AutoLoad, { dir: join(here, 'events'), options: opts })
}

export default app
`
}
