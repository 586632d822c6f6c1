import type { ScaffoldOptions } from './options.js'

/** plugins/socketspec.ts: registers socketspec with the chosen auth and backend. */
export function render (opts: ScaffoldOptions): string {
  const jwt = opts.auth === 'jwt'
  const named = [jwt ? 'jwtAuth' : '', opts.redis ? 'redisBackend' : ''].filter(Boolean)
  const importLine = named.length === 0
    ? "import socketspec from 'socketspec'"
    : `import socketspec, { ${named.join(', ')} } from 'socketspec'`

  const lines: string[] = [
    "import fp from 'fastify-plugin'",
    importLine,
    ''
  ]
  if (jwt) {
    lines.push(
      '/** HS256 secret of the tokens clients connect with. Set JWT_SECRET in production. */',
      "export const jwtSecret = process.env.JWT_SECRET ?? 'dev-secret-change-me'",
      ''
    )
  }
  lines.push(
    '/**',
    ' * socketspec: WebSocket events on /ws, docs UI on /socket-docs and the',
    ' * AsyncAPI document on /socket-docs/asyncapi.json.',
    ' * fastify-plugin exposes the `socket` decorator to the rest of the app.',
    ' */',
    'export default fp(async function socketspecSetup (fastify) {'
  )
  if (jwt) {
    lines.push(
      '  if (process.env.JWT_SECRET === undefined) {',
      "    fastify.log.warn('JWT_SECRET is not set: using an insecure development secret')",
      '  }'
    )
  }
  lines.push(
    '  await fastify.register(socketspec, {',
    "    path: '/ws',",
    '    docs: true,'
  )
  if (jwt) lines.push("    auth: jwtAuth({ secret: jwtSecret, algorithm: 'HS256' }),")
  if (opts.redis) {
    lines.push(
      '    // Several processes share rooms and broadcasts through Redis; one process needs nothing.',
      "    backend: process.env.REDIS_URL !== undefined ? redisBackend({ url: process.env.REDIS_URL }) : 'memory',"
    )
  }
  lines.push(
    '    rateLimit: { rate: 20, capacity: 50 },',
    '    session: { idleTimeout: 300 }',
    '  })',
    "}, { name: 'socketspec-setup' })",
    ''
  )
  return lines.join('\n')
}
