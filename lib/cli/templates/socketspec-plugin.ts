import type { ScaffoldOptions } from './options.js'

/** plugins/socketspec.ts: registers socketspec with the chosen auth and backend, the AsyncAPI title and version taken from the app's package.json. */
export function render (opts: ScaffoldOptions): string {
  const jwt = opts.auth === 'jwt'
  const named = [jwt ? 'jwtAuth' : '', opts.redis ? 'redisBackend' : ''].filter(Boolean)
  const importLine = named.length === 0
    ? "import socketspec from 'socketspec'"
    : `import socketspec, { ${named.join(', ')} } from 'socketspec'`

  const lines: string[] = [
    "import { existsSync, readFileSync } from 'node:fs'",
    "import { dirname, join } from 'node:path'",
    "import { fileURLToPath } from 'node:url'",
    "import fp from 'fastify-plugin'",
    importLine,
    '',
    "/** This app's package.json: the nearest one above this file (plugins/ in the sources, dist/plugins/ once built). */",
    'function readPackage (): { name: string, version: string } {',
    '  let dir = dirname(fileURLToPath(import.meta.url))',
    "  while (!existsSync(join(dir, 'package.json'))) {",
    "    if (dirname(dir) === dir) throw new Error('cannot find the package.json of the app')",
    '    dir = dirname(dir)',
    '  }',
    "  return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))",
    '}',
    '',
    'const pkg = readPackage()',
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
    ' * AsyncAPI document on /socket-docs/asyncapi.json, titled with the name and',
    ' * version of package.json.',
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
    '    docs: true,',
    '    title: pkg.name,',
    '    version: pkg.version,'
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
