import type { ScaffoldOptions } from './options.js'

/** tsconfig.json: compiles the app (not the tests) to dist/, as `fastify start dist/app.js` needs. */
export function tsconfig (_opts: ScaffoldOptions): string {
  return JSON.stringify({
    compilerOptions: {
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
    include: ['app.ts', 'plugins/**/*.ts', 'events/**/*.ts']
  }, null, 2) + '\n'
}

/** test/tsconfig.json: type-checks the tests too (`npm run typecheck`); tap runs them through tsx. */
export function testTsconfig (_opts: ScaffoldOptions): string {
  return JSON.stringify({
    extends: '../tsconfig.json',
    compilerOptions: { noEmit: true, rootDir: '..' },
    include: ['../app.ts', '../plugins/**/*.ts', '../events/**/*.ts', '**/*.ts']
  }, null, 2) + '\n'
}

/** .taprc: tap runs the TypeScript tests through tsx. */
export function taprc (_opts: ScaffoldOptions): string {
  return `# tap runs the TypeScript tests through tsx; \`npm run typecheck\` checks their types.
plugin:
  - "!@tapjs/typescript"
node-arg:
  - --import=tsx
include:
  - test/**/*.test.ts
allow-incomplete-coverage: true
coverage-report:
  - text-summary
`
}

/** .gitignore */
export function gitignore (_opts: ScaffoldOptions): string {
  return `node_modules/
dist/
coverage/
.tap/
asyncapi.json
*.log
.env
`
}
