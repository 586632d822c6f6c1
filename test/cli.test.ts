import t from 'tap'
import { execFile } from 'node:child_process'
import { existsSync, readFileSync, realpathSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { run as runCli, type Run } from './helpers/cli.js'
import { bareNode, builtScript, cleanEnv } from './helpers/project.js'
import { packageNameFromDir, packageNameProblems } from '../lib/cli/package-name.js'
import { dependencySpec, optionSpec } from '../lib/cli/package-info.js'
import { Parser, DiagnosticSeverity } from '@asyncapi/parser'

const execFileP = promisify(execFile)
// Children run the sources through tsx: keep them out of tap's coverage, whose
// numbers for lib/ come from the copies tap's loader loads (mixing both garbles the
// map), and without its loader (bareNode; its spawn hook would put it back).
const childEnv = cleanEnv()
const root = resolve(fileURLToPath(import.meta.url), '../..')
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))

/** Run the CLI in process (in the repository root unless told otherwise). */
const run = async (args: string[], cwd = root): Promise<Run> => await runCli(args, cwd)

t.test('help', async (t) => {
  for (const args of [[], ['--help'], ['-h'], ['help']]) {
    const r = await run(args)
    t.equal(r.code, 0, args.join(' '))
    t.match(r.stdout, /Usage: socketspec <command>/)
    t.match(r.stdout, /init <dir>/)
    t.match(r.stdout, /asyncapi <module>/)
    t.equal(r.stderr, '')
  }
  for (const args of [['init', '--help'], ['help', 'init'], ['init', '-h']]) {
    const r = await run(args)
    t.equal(r.code, 0)
    t.match(r.stdout, /Usage: socketspec init <dir>/)
    t.match(r.stdout, /--auth <jwt\|none>/)
    t.match(r.stdout, /--socketspec <spec>/)
  }
  for (const args of [['asyncapi', '--help'], ['help', 'asyncapi']]) {
    const r = await run(args)
    t.equal(r.code, 0)
    t.match(r.stdout, /Usage: socketspec asyncapi <module>/)
    t.match(r.stdout, /--out <file>/)
  }
})

t.test('version comes from package.json', async (t) => {
  for (const flag of ['--version', '-v']) {
    const r = await run([flag])
    t.equal(r.code, 0)
    t.equal(r.stdout, `${pkg.version}\n`)
  }
})

t.test('bad usage exits 2 with a message on stderr', async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [['bogus'], /unknown command 'bogus'/],
    [['--nope'], /unknown option '--nope'/],
    [['--version', 'extra'], /unexpected argument 'extra'/],
    [['help', 'nope'], /unknown command 'nope'/],
    [['help', 'init', 'more'], /unexpected argument 'more'/],
    [['init'], /missing the directory/],
    [['init', 'a', 'b'], /unexpected argument 'b'/],
    [['init', 'a', '--bad'], /socketspec init: unknown option '--bad'/],
    [['init', 'a', '--name'], /--name <value>' argument missing/],
    [['init', 'a', '--force=yes'], /'--force' does not take an argument/],
    [['init', 'a', '--auth', 'oauth'], /--auth must be 'jwt' or 'none', got 'oauth'/],
    [['init', 'a', '--socketspec'], /--socketspec <value>' argument missing/],
    [['init', 'a', '--socketspec='], /--socketspec needs a dependency spec/],
    [['asyncapi'], /missing the app module/],
    [['asyncapi', 'a.js', 'b.js'], /unexpected argument 'b.js'/],
    [['asyncapi', 'a.js', '--out'], /--out <value>' argument missing/],
    [['asyncapi', 'a.js', '--out='], /--out needs a file name/],
    [['asyncapi', 'a.js', '--pretty'], /unknown option '--pretty'/]
  ]
  for (const [args, message] of cases) {
    const r = await run(args)
    t.equal(r.code, 2, args.join(' '))
    t.match(r.stderr, message, args.join(' '))
    t.match(r.stderr, /Run 'socketspec( \w+)? --help' for usage/)
    t.equal(r.stdout, '')
  }
})

t.test('the bin entry runs as a child process', async (t) => {
  const bin = join(root, 'lib/cli/index.ts')
  t.match(readFileSync(bin, 'utf8'), /^#!\/usr\/bin\/env node\n/, 'has a shebang')
  // The bin package.json names (dist/lib/cli/index.js) when it is current (builtScript), else the source through tsx.
  const built = builtScript('lib/cli/index.ts')
  const command = built !== null ? [built] : ['--import', 'tsx', bin]
  if (built !== null) {
    t.equal(built, join(root, pkg.bin.socketspec), 'the built entry is the package\'s bin')
    t.match(readFileSync(built, 'utf8'), /^#!\/usr\/bin\/env node\n/, 'and keeps the shebang')
  }
  const ok = await execFileP(...bareNode([...command, '--version']), { cwd: root, env: childEnv })
  t.equal(ok.stdout.trim(), pkg.version)
  const bad = await execFileP(...bareNode([...command, 'nope']), { cwd: root, env: childEnv }).then(
    () => t.fail('should exit non-zero'),
    (err) => err
  )
  t.equal(bad.code, 2)
  t.match(bad.stderr, /unknown command 'nope'/)
})

t.test('package names', async (t) => {
  t.same(packageNameProblems('my-app'), [])
  t.same(packageNameProblems('@acme/chat-server'), [])
  t.same(packageNameProblems('socket.app_2'), [])
  t.match(packageNameProblems(''), [/empty/])
  t.match(packageNameProblems('My-App'), [/capital letters/])
  t.match(packageNameProblems('.hidden'), [/period/])
  t.match(packageNameProblems('_private'), [/underscore/])
  t.match(packageNameProblems('has space'), [/URL-friendly/])
  t.match(packageNameProblems('http'), [/core module/])
  t.match(packageNameProblems('node_modules'), [/not a valid package name/])
  t.match(packageNameProblems('@scope'), [/@scope\/name/])
  t.match(packageNameProblems('@scope/_x'), [/after the scope/])
  t.match(packageNameProblems('wow!'), [/special characters/])
  t.match(packageNameProblems('a'.repeat(215)), [/214/])
  t.equal(packageNameFromDir('My Chat App'), 'my-chat-app')
  t.equal(packageNameFromDir('__'), undefined)
  t.equal(packageNameFromDir('fs'), undefined)
})

function readJson (file: string) {
  return JSON.parse(readFileSync(file, 'utf8'))
}

const scaffoldFiles = [
  'package.json', 'tsconfig.json', '.gitignore', 'README.md', 'app.ts',
  'plugins/socketspec.ts', 'events/echo.ts', 'events/chat.ts',
  'test/tsconfig.json', 'test/helper.ts', 'test/echo.test.ts', 'test/chat.test.ts', 'test/docs.test.ts'
]

t.test('init writes the fastify-cli layout', async (t) => {
  const cwd = t.testdir({})
  const r = await run(['init', 'My App'], cwd)
  t.equal(r.code, 0, r.stderr)
  const dir = join(cwd, 'My App')
  for (const file of scaffoldFiles) t.ok(existsSync(join(dir, file)), `${file} written`)
  t.notOk(existsSync(join(dir, '.taprc')), 'no .taprc: the tests run on node:test')
  t.match(r.stdout, "cd 'My App' && npm install && npm test && npm start")

  const app = readJson(join(dir, 'package.json'))
  t.equal(app.name, 'my-app', 'name derived from the directory')
  t.equal(app.type, 'module')
  t.equal(app.scripts.build, 'tsc -b', 'build: the composite project, incremental')
  t.equal(app.scripts.start, 'npm run build && fastify start -l info dist/app.js')
  t.equal(app.scripts.dev, 'node --import tsx node_modules/fastify-cli/cli.js start -w -l info -P app.ts', 'dev: fastify start -w on the sources')
  t.equal(app.scripts.test, 'npm run typecheck && node --import tsx --test test/*.test.ts', 'npm test type-checks first, then runs node:test through tsx')
  t.equal(app.scripts.typecheck, 'tsc -b test', 'typecheck: the tests\' project, which builds the app\'s it references')
  // Run from this checkout: the app depends on it, as a directory.
  t.equal(app.dependencies.socketspec, `file:${realpathSync(root)}`)
  t.match(r.stdout, `socketspec dependency: "file:${realpathSync(root)}" (this checkout of socketspec; pass --socketspec <spec> to use another)`)
  t.match(app.dependencies['@fastify/autoload'], /^\^6\./)
  t.match(app.devDependencies.typescript, /^\^7\./, 'TypeScript 7 (the native compiler), not socketspec\'s own 5.9')
  t.equal(app.dependencies.fastify, pkg.dependencies.fastify ?? pkg.devDependencies.fastify, 'the fastify socketspec is tested with')
  t.equal(app.dependencies['fastify-plugin'], pkg.dependencies['fastify-plugin'])
  t.equal(app.dependencies['@sinclair/typebox'], pkg.dependencies['@sinclair/typebox'])
  t.match(app.dependencies['fastify-cli'], /^\^\d+\./)
  for (const dev of ['tsx', '@types/node']) t.equal(app.devDependencies[dev], pkg.devDependencies[dev], dev)
  t.same(Object.keys(app.devDependencies).sort(), ['@types/node', 'tsx', 'typescript'], 'no test framework to install: node:test')
  t.notOk(app.devDependencies['fast-jwt'])

  const tsconfig = readJson(join(dir, 'tsconfig.json'))
  t.equal(tsconfig.compilerOptions.outDir, 'dist')
  t.equal(tsconfig.compilerOptions.module, 'NodeNext')
  t.equal(tsconfig.compilerOptions.composite, true, 'a composite project (tsc -b)')
  t.match(readJson(join(dir, 'test/tsconfig.json')), { compilerOptions: { noEmit: true, composite: false }, references: [{ path: '..' }] }, 'the tests\' project references the app\'s')

  const appTs = readFileSync(join(dir, 'app.ts'), 'utf8')
  t.match(appTs, /export const options/)
  t.match(appTs, /export default app/)
  t.match(appTs, /async function app \(fastify, opts\)/)
  t.match(appTs, "import AutoLoad from '@fastify/autoload'")
  t.match(appTs, "register(AutoLoad, { dir: join(here, 'plugins'), options: opts })")
  t.match(appTs, "register(AutoLoad, { dir: join(here, 'events'), options: opts })")
  t.ok(appTs.indexOf("'plugins'") < appTs.indexOf("'events'"), 'plugins before events')
  t.notMatch(appTs, /events\/echo|events\/chat/, 'no event file is named in app.ts')
  t.match(appTs, "process.env.FASTIFY_AUTOLOAD_TYPESCRIPT ??= '1'")

  const plugin = readFileSync(join(dir, 'plugins/socketspec.ts'), 'utf8')
  t.match(plugin, "import fp from 'fastify-plugin'")
  t.match(plugin, 'docs: true')
  t.match(plugin, /title: pkg\.name,\n\s+version: pkg\.version,/, 'AsyncAPI title and version from package.json')
  t.match(plugin, "readFileSync(join(dir, 'package.json'), 'utf8')")
  t.match(readFileSync(join(dir, 'test/docs.test.ts'), 'utf8'), 'title: pkg.name, version: pkg.version')
  t.notMatch(plugin, /jwtAuth|redisBackend/)

  t.match(readFileSync(join(dir, 'events/echo.ts'), 'utf8'), /socket\.on\('echo'/)
  const chat = readFileSync(join(dir, 'events/chat.ts'), 'utf8')
  for (const event of ['join_room', 'send_message', 'leave_room']) t.match(chat, `socket.on('${event}'`)
  t.match(chat, /conn\.join\(/)
  t.match(chat, /rooms\.broadcast\(/)
  t.match(readFileSync(join(dir, 'test/helper.ts'), 'utf8'), "from 'socketspec/testing'")
  for (const file of ['test/echo.test.ts', 'test/chat.test.ts', 'test/docs.test.ts']) {
    const test = readFileSync(join(dir, file), 'utf8')
    t.match(test, "import { test } from 'node:test'", `${file} runs on node:test`)
    t.notMatch(test, /from 'tap'/, `${file} does not import tap`)
  }
  t.match(readFileSync(join(dir, 'test/helper.ts'), 'utf8'), 't.after(async () => {', 'teardown on node:test\'s TestContext')
  const gitignore = readFileSync(join(dir, '.gitignore'), 'utf8')
  t.match(gitignore, 'node_modules/')
  t.notMatch(gitignore, '.tap/')
  const readme = readFileSync(join(dir, 'README.md'), 'utf8')
  t.match(readme, '# my-app')
  t.match(readme, 'npm run dev')
  t.match(readme, 'no need to edit\n`app.ts`')
})

t.test('init --auth jwt --redis --name', async (t) => {
  const cwd = t.testdir({})
  const r = await run(['init', 'svc', '--auth', 'jwt', '--redis', '--name', '@acme/svc'], cwd)
  t.equal(r.code, 0, r.stderr)
  t.match(r.stdout, 'cd svc && npm install && npm test && npm start')
  const dir = join(cwd, 'svc')
  const app = readJson(join(dir, 'package.json'))
  t.equal(app.name, '@acme/svc')
  t.equal(app.devDependencies['fast-jwt'], pkg.dependencies['fast-jwt'])
  const plugin = readFileSync(join(dir, 'plugins/socketspec.ts'), 'utf8')
  t.match(plugin, "import socketspec, { jwtAuth, redisBackend } from 'socketspec'")
  t.match(plugin, "process.env.JWT_SECRET ?? 'dev-secret-change-me'")
  t.match(plugin, "auth: jwtAuth({ secret: jwtSecret, algorithm: 'HS256' })")
  t.match(plugin, "backend: process.env.REDIS_URL !== undefined ? redisBackend({ url: process.env.REDIS_URL }) : 'memory'")
  t.match(readFileSync(join(dir, 'test/helper.ts'), 'utf8'), /createSigner/)
  t.match(readFileSync(join(dir, 'test/echo.test.ts'), 'utf8'), /AUTH_ERROR/)
  t.match(readFileSync(join(dir, 'README.md'), 'utf8'), /JWT_SECRET[\s\S]*REDIS_URL/)
})

t.test('init --auth none is the default', async (t) => {
  const cwd = t.testdir({})
  const r = await run(['init', 'a', '--auth', 'none'], cwd)
  t.equal(r.code, 0)
  t.notMatch(readFileSync(join(cwd, 'a/plugins/socketspec.ts'), 'utf8'), /jwtAuth/)
})

t.test('init refuses a non-empty directory unless --force', async (t) => {
  const cwd = t.testdir({
    taken: { 'notes.txt': 'keep me', 'app.ts': 'old' },
    repo: { '.git': { HEAD: 'ref: refs/heads/main\n' } },
    'a-file': 'not a directory'
  })
  const refused = await run(['init', 'taken'], cwd)
  t.equal(refused.code, 1)
  t.match(refused.stderr, /is not empty.*--force/)
  t.equal(readFileSync(join(cwd, 'taken/app.ts'), 'utf8'), 'old', 'nothing written')
  t.notOk(existsSync(join(cwd, 'taken/package.json')))

  const forced = await run(['init', 'taken', '--force'], cwd)
  t.equal(forced.code, 0, forced.stderr)
  t.match(readFileSync(join(cwd, 'taken/app.ts'), 'utf8'), /export default app/, 'scaffold file overwritten')
  t.equal(readFileSync(join(cwd, 'taken/notes.txt'), 'utf8'), 'keep me', 'other files kept')

  const git = await run(['init', 'repo'], cwd)
  t.equal(git.code, 0, 'a directory holding only .git counts as empty')
  t.ok(existsSync(join(cwd, 'repo/package.json')))

  const file = await run(['init', 'a-file', '--force'], cwd)
  t.equal(file.code, 1)
  t.match(file.stderr, /exists and is not a directory/)
})

t.test('init validates the package name', async (t) => {
  const cwd = t.testdir({})
  for (const name of ['Bad Name', 'UPPER', '.dot', 'fs']) {
    const r = await run(['init', 'x', '--name', name], cwd)
    t.equal(r.code, 2, name)
    t.match(r.stderr, `invalid package name '${name}'`)
  }
  const underived = await run(['init', '___'], cwd)
  t.equal(underived.code, 2)
  t.match(underived.stderr, /cannot derive a package name.*--name/)
  t.notOk(existsSync(join(cwd, 'x')), 'nothing written on a bad name')
  const ok = await run(['init', '.', '--name', 'here'], join(cwd, 'fresh-dir-made-below'))
  t.equal(ok.code, 0, 'writes into the current directory, creating it when missing')
  t.match(ok.stdout, 'cd . && npm install')
})

t.test('init --socketspec <spec> sets the dependency, paths made absolute', async (t) => {
  const cwd = t.testdir({ 'socketspec-9.9.9.tgz': '' })
  const cases: Array<[string, string]> = [
    ['./socketspec-9.9.9.tgz', `file:${join(cwd, 'socketspec-9.9.9.tgz')}`],
    ['socketspec-9.9.9.tgz', `file:${join(cwd, 'socketspec-9.9.9.tgz')}`],
    ['file:socketspec-9.9.9.tgz', `file:${join(cwd, 'socketspec-9.9.9.tgz')}`],
    ['^2.1.0', '^2.1.0']
  ]
  for (const [i, [spec, written]] of cases.entries()) {
    const r = await run(['init', `app-${i}`, '--socketspec', spec], cwd)
    t.equal(r.code, 0, r.stderr)
    t.equal(readJson(join(cwd, `app-${i}`, 'package.json')).dependencies.socketspec, written, spec)
    t.match(r.stdout, `socketspec dependency: "${written}" (given with --socketspec)`)
  }
})

t.test('the default dependency spec: where the running socketspec came from', async (t) => {
  const tgz = 'https://registry.npmjs.org/socketspec/-/socketspec-1.2.3.tgz'
  const entry = (resolved: string) => ({ packages: { 'node_modules/socketspec': { version: '1.2.3', resolved } } })
  const dir = t.testdir({
    checkout: { 'package.json': '{}' },
    registry: { node_modules: { '.package-lock.json': JSON.stringify(entry(tgz)), socketspec: { 'package.json': '{}' } } },
    // npm install ../socketspec-1.2.3.tgz; npx --package=<tarball> writes the same, relative to its cache directory.
    tarball: { node_modules: { '.package-lock.json': JSON.stringify(entry('file:../socketspec-1.2.3.tgz')), socketspec: { 'package.json': '{}' } } },
    // No hidden lockfile: package-lock.json of the project; socketspec nested under another package.
    nested: {
      'package-lock.json': JSON.stringify({ packages: { 'node_modules/tool/node_modules/socketspec': { resolved: 'git+ssh://git@example.com/socketspec.git#abc123' } } }),
      node_modules: { tool: { node_modules: { socketspec: { 'package.json': '{}' } } } }
    },
    url: { node_modules: { '.package-lock.json': JSON.stringify(entry('https://example.com/builds/socketspec.tgz')), socketspec: { 'package.json': '{}' } } },
    // Older npm clients wrote where they installed from in the package.json itself.
    legacy: { node_modules: { socketspec: { 'package.json': JSON.stringify({ _resolved: 'file:/srv/socketspec-1.2.3.tgz' }) } } },
    unknown: { node_modules: { socketspec: { 'package.json': '{}' } } },
    odd: { node_modules: { '.package-lock.json': JSON.stringify(entry('sideloaded')), socketspec: { 'package.json': '{}' } } },
    scoped: { node_modules: { '.package-lock.json': JSON.stringify({ packages: { 'node_modules/@acme/socketspec': { resolved: 'https://npm.acme.dev/@acme/socketspec/-/socketspec-1.2.3.tgz' } } }), '@acme': { socketspec: { 'package.json': '{}' } } } }
  })
  const spec = (root: string, name = 'socketspec') => dependencySpec(name, '1.2.3', join(dir, root))
  t.same(spec('checkout'), {
    spec: `file:${join(dir, 'checkout')}`,
    note: 'this checkout of socketspec, not built yet: run `npm run build` in it before installing the app',
    origin: 'checkout'
  })
  t.same(spec('registry/node_modules/socketspec'), { spec: '^1.2.3', note: 'from the npm registry', origin: 'registry' })
  const installed = 'where this socketspec was installed from'
  t.same(spec('tarball/node_modules/socketspec'), { spec: `file:${join(dir, 'socketspec-1.2.3.tgz')}`, note: installed, origin: 'file' }, 'lockfile paths are relative to the project')
  t.same(spec('nested/node_modules/tool/node_modules/socketspec'), { spec: 'git+ssh://git@example.com/socketspec.git#abc123', note: installed, origin: 'git' })
  t.same(spec('url/node_modules/socketspec'), { spec: 'https://example.com/builds/socketspec.tgz', note: installed, origin: 'url' })
  t.same(spec('legacy/node_modules/socketspec'), { spec: 'file:/srv/socketspec-1.2.3.tgz', note: installed, origin: 'file' })
  t.match(spec('unknown/node_modules/socketspec'), { spec: '^1.2.3', origin: 'registry' }, 'no lockfile: the registry')
  t.match(spec('odd/node_modules/socketspec'), { spec: '^1.2.3', origin: 'registry' }, 'an origin it cannot install from: the registry')
  t.match(spec('scoped/node_modules/@acme/socketspec', '@acme/socketspec'), { spec: '^1.2.3', origin: 'registry' }, 'any registry, scoped names')

  const option = (spec: string, cwd = '/work/apps') => optionSpec(spec, cwd).spec
  t.same(optionSpec('^1.0.0', '/work'), { spec: '^1.0.0', note: 'given with --socketspec', origin: 'option' })
  t.equal(option('../x/socketspec.tgz'), 'file:/work/x/socketspec.tgz')
  t.equal(option('..'), 'file:/work')
  t.equal(option('/opt/socketspec'), 'file:/opt/socketspec')
  t.equal(option('file:///opt/s.tgz'), 'file:/opt/s.tgz')
  for (const kept of ['latest', '~1.2.0', 'https://example.com/s.tgz', 'github:acme/socketspec', 'npm:other@1']) t.equal(option(kept), kept)
})

t.test('token: a development HS256 JWT that jwtAuth accepts', async (t) => {
  const { createVerifier } = await import('fast-jwt')
  const r = await run(['token', '--secret', 'dev-secret', '--sub', 'alice', '--role', 'admin', '--expires', '2h'])
  t.equal(r.code, 0, r.stderr)
  const claims = createVerifier({ key: 'dev-secret', algorithms: ['HS256'] })(r.stdout.trim())
  t.match(claims, { sub: 'alice', role: 'admin' })
  t.ok(Math.abs(claims.exp - claims.iat - 7200) <= 1, 'expires in 2 h')
  const help = await run(['token', '--help'])
  t.match(help.stdout, /Usage: socketspec token/)
  const noSecret = await run(['token'], root)
  if (process.env.JWT_SECRET === undefined) {
    t.equal(noSecret.code, 2)
    t.match(noSecret.stderr, /--secret or JWT_SECRET/)
  }
  const bad = await run(['token', '--secret', 's', '--expires', 'soon'])
  t.equal(bad.code, 2)
  t.match(bad.stderr, /--expires must look like/)
  const extra = await run(['token', '--secret', 's', 'x'])
  t.equal(extra.code, 2)
})

// `socketspec asyncapi <module>` loads app modules through tsx inside this process
// (that is the command's job), so lib/ is loaded a second time: scripts/coverage-map.mjs
// keeps this file to lib/cli in the coverage report, whose other lib/ numbers come
// from the other tests.
const fixtures = join(root, 'test/fixtures/cli')

/** Parse an AsyncAPI document and return its error-severity diagnostics. */
async function asyncapiErrors (json: string) {
  const { document, diagnostics } = await new Parser().parse(json)
  return { document, errors: diagnostics.filter((d) => d.severity === DiagnosticSeverity.Error) }
}

t.test('asyncapi prints the document of a plugin module', async (t) => {
  const r = await run(['asyncapi', 'test/fixtures/cli/plugin-app.ts'])
  t.equal(r.code, 0, r.stderr)
  t.equal(r.stderr, '')
  const doc = JSON.parse(r.stdout)
  t.equal(doc.asyncapi, '3.0.0')
  t.match(r.stdout, /\n {2}"asyncapi"/, 'pretty printed')
  const names = Object.values(doc.components.messages as Record<string, { name: string }>).map((m) => m.name)
  t.ok(names.includes('echo'))
  t.ok(names.includes('echo_response'))
  const { errors } = await asyncapiErrors(r.stdout)
  t.same(errors, [], 'valid per @asyncapi/parser')
})

t.test('asyncapi --out writes the document to a file', async (t) => {
  const cwd = t.testdir({})
  const r = await run(['asyncapi', join(fixtures, 'plugin-app.ts'), '--out', 'docs/asyncapi.json'], cwd)
  t.equal(r.code, 0, r.stderr)
  t.equal(r.stdout, '')
  const out = join(cwd, 'docs/asyncapi.json')
  t.match(r.stderr, `written to ${out}`)
  const json = readFileSync(out, 'utf8')
  t.equal(JSON.parse(json).asyncapi, '3.0.0')
  const { errors } = await asyncapiErrors(json)
  t.same(errors, [])
})

t.test('asyncapi loads an app factory with a renamed decorator', async (t) => {
  const r = await run(['asyncapi', 'test/fixtures/cli/factory-app.ts'])
  t.equal(r.code, 0, r.stderr)
  const doc = JSON.parse(r.stdout)
  t.equal(doc.info.title, 'Factory app')
  t.equal(doc.info.version, '2.0.0')
  const names = Object.values(doc.components.messages as Record<string, { name: string }>).map((m) => m.name)
  t.ok(names.includes('add') && names.includes('sum'))
  t.same((await asyncapiErrors(r.stdout)).errors, [])

  const named = await run(['asyncapi', 'test/fixtures/cli/factory-app.ts', '--decorator', 'events'])
  t.equal(named.code, 0)
  t.same(JSON.parse(named.stdout), doc)

  const wrong = await run(['asyncapi', 'test/fixtures/cli/factory-app.ts', '--decorator', 'socket'])
  t.equal(wrong.code, 1)
  t.match(wrong.stderr, /no 'socket' decorator with an asyncapi\(\) function/)
})

t.test('asyncapi tells a one-argument plugin from a factory', async (t) => {
  const r = await run(['asyncapi', 'test/fixtures/cli/one-arg-plugin.ts'])
  t.equal(r.code, 0, r.stderr)
  t.match(r.stdout, '"ping_me"')
})

t.test('asyncapi uses a named buildApp export when there is no default export', async (t) => {
  const r = await run(['asyncapi', 'test/fixtures/cli/build-app-export.js'])
  t.equal(r.code, 0, r.stderr)
  t.match(r.stdout, '"hello"')
})

t.test('asyncapi finds registrations in encapsulated contexts', async (t) => {
  const r = await run(['asyncapi', 'test/fixtures/cli/namespaces.ts'])
  t.equal(r.code, 0, r.stderr)
  t.match(r.stderr, /2 socketspec registrations found/)
  t.match(r.stdout, '"first"')
  t.notMatch(r.stdout, '"second"')
})

t.test('asyncapi fails clearly', async (t) => {
  const cases: Array<[string, RegExp]> = [
    ['test/fixtures/cli/no-socketspec.ts', /does not register socketspec/],
    ['test/fixtures/cli/no-default.ts', /has no default export that is a Fastify plugin or an app factory/],
    ['test/fixtures/cli/throws-on-import.ts', /cannot load .*throws-on-import\.ts: boom at import/],
    ['test/fixtures/cli/failing-plugin.ts', /failed to start: database unreachable/],
    ['test/fixtures/cli/missing.js', /cannot find .*missing\.js/]
  ]
  for (const [file, message] of cases) {
    const r = await run(['asyncapi', file])
    t.equal(r.code, 1, file)
    t.match(r.stderr, message, file)
    t.equal(r.stdout, '')
  }
})
