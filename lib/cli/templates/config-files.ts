import type { ScaffoldOptions } from './options.js'

/**
 * tsconfig.json: compiles the app (not the tests) to dist/, as `fastify start dist/app.js` needs.
 * A composite project, built with `tsc -b`: the type check of `npm test` builds it once for
 * test/tsconfig.json (which references it), and `npm start` after it finds dist/ up to date;
 * later builds redo only what changed (dist/tsconfig.tsbuildinfo).
 */
export function tsconfig (_opts: ScaffoldOptions): string {
  return JSON.stringify({
    compilerOptions: {
      composite: true,
      target: 'ES2022',
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      strict: true,
      esModuleInterop: true,
      skipLibCheck: true,
      sourceMap: true,
      outDir: 'dist',
      rootDir: '.',
      types: ['node']
    },
    // Every source but the tests: a composite project must list each file it compiles.
    include: ['**/*.ts'],
    exclude: ['node_modules', 'dist', 'test']
  }, null, 2) + '\n'
}

/**
 * test/tsconfig.json: type-checks the tests (`npm run typecheck`: `tsc -b test`) against the
 * app's project, which it references (built first, if out of date); `node --test` runs them through tsx.
 * Incremental: a run with nothing changed only compares timestamps.
 */
export function testTsconfig (_opts: ScaffoldOptions): string {
  return JSON.stringify({
    extends: '../tsconfig.json',
    compilerOptions: { composite: false, noEmit: true, incremental: true, tsBuildInfoFile: '../dist/test.tsbuildinfo' },
    references: [{ path: '..' }],
    include: ['**/*.ts'],
    exclude: []
  }, null, 2) + '\n'
}

/** .gitignore */
export function gitignore (_opts: ScaffoldOptions): string {
  return `node_modules/
dist/
coverage/
asyncapi.json
*.log
.env
`
}
