import type { ScaffoldOptions } from './options.js'

/** package.json of the new app: `npm start` runs fastify-cli, `npm run dev` the same in watch mode, `npm test` type-checks then runs the tests with node:test (through tsx). */
export function render (opts: ScaffoldOptions): string {
  const v = (name: string): string => {
    const range = opts.versions[name]
    /* c8 ignore next - every name used below is in the version table */
    if (range === undefined) throw new Error(`no version range for ${name}`)
    return range
  }
  const pkg = {
    name: opts.name,
    version: '0.1.0',
    private: true,
    description: 'A Fastify app with schema-first WebSocket events (socketspec).',
    type: 'module',
    main: 'dist/app.js',
    engines: { node: '>=20' },
    scripts: {
      build: 'tsc -b',
      start: 'npm run build && fastify start -l info dist/app.js',
      // fastify-cli's own --import is not awaited before it loads app.ts: preload tsx with node, the watch children inherit it.
      dev: 'node --import tsx node_modules/fastify-cli/cli.js start -w -l info -P app.ts',
      test: 'npm run typecheck && node --import tsx --test test/*.test.ts',
      typecheck: 'tsc -b test',
      asyncapi: 'npm run build && socketspec asyncapi dist/app.js --out asyncapi.json'
    },
    dependencies: {
      '@fastify/autoload': v('@fastify/autoload'),
      '@sinclair/typebox': v('@sinclair/typebox'),
      fastify: v('fastify'),
      'fastify-cli': v('fastify-cli'),
      'fastify-plugin': v('fastify-plugin'),
      socketspec: v('socketspec')
    },
    devDependencies: {
      '@types/node': v('@types/node'),
      ...(opts.auth === 'jwt' ? { 'fast-jwt': v('fast-jwt') } : {}),
      tsx: v('tsx'),
      typescript: v('typescript')
    }
  }
  return JSON.stringify(pkg, null, 2) + '\n'
}
