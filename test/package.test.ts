// What `npm pack` ships and what package.json promises are true.
import t from 'tap'
import { execFile, execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, normalize, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import semver from 'semver'
import socketspec, { Type, SocketError, defineEvents, type Contract, type Static, type Connection, type HandlerContext, type SocketspecOptions } from '../lib/index.js'
import { TestClient, type TestMessage, type TestConnection } from '../lib/testing.js'
import Type1 from 'typebox'
import { build, client } from './helpers/build.js'
import { bare, bareNode, cleanEnv, packedFiles, publishedTree } from './helpers/project.js'

const root = resolve(fileURLToPath(import.meta.url), '../..')
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))

/**
 * The files with compile-time type tests: `npm run typecheck` checks them (and
 * everything else) with TypeScript 7; the test below compiles them with
 * TypeScript 5.9 too, the other major version the published types support.
 */
const TYPE_TESTS = ['test/package.test.ts', 'test/client/types.test.ts', 'test/protocol.test.ts']

// Started now, checked by the last test of this file: it runs while the others do.
// Against what the package publishes when dist/ is current (npm test builds it first; see
// publishedTree), else against the sources.
const typescript5 = (() => {
  const tree = publishedTree()
  const dir = tree?.dir ?? mkdtempSync(join(tmpdir(), 'socketspec-ts5-'))
  const config = join(dir, 'tsconfig.json')
  writeFileSync(config, JSON.stringify({
    extends: join(root, 'tsconfig.json'),
    compilerOptions: {
      incremental: false,
      noEmit: true,
      typeRoots: [join(root, 'node_modules/@types')],
      ...(tree !== null ? { rootDir: dir, preserveSymlinks: true } : {})
    },
    include: [],
    files: TYPE_TESTS.map((f) => join(tree !== null ? dir : root, f))
  }))
  const tsc = join(root, 'node_modules/typescript/bin/tsc')
  return new Promise<{ version: string, code: number, output: string, against: string }>((resolve) => {
    execFile(...bareNode([tsc, '--pretty', 'false', '-p', config]), { cwd: root, env: cleanEnv(), maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      rmSync(dir, { recursive: true, force: true })
      const version = JSON.parse(readFileSync(join(root, 'node_modules/typescript/package.json'), 'utf8')).version as string
      const against = tree !== null ? 'the declarations in dist/' : 'the sources (dist/ is missing or older)'
      resolve({ version, code: err === null ? 0 : Number(err.code ?? 1), output: `${stdout}${stderr}`, against })
    })
  })
})()

/** Production dependencies whose declared engines are stricter than ours, and why we still support Node 20. */
const ENGINE_EXCEPTIONS: Record<string, string> = {
  'content-disposition': '@fastify/static 10 depends on content-disposition 3, which declares node >= 22 but runs on Node 20 (the docs UI is served and tested on Node 20; npm prints an EBADENGINE warning there)'
}

t.test('engines: this Node satisfies it, and every production dependency accepts the whole range', async (t) => {
  const range = pkg.engines.node as string
  t.ok(semver.satisfies(process.version, range), `${process.version} satisfies ${range}`)
  // npm without tap's loader and coverage (bare, cleanEnv): they are for the test process
  const out = execFileSync(...bare('npm', ['ls', '--omit=dev', '--all', '--parseable']), { cwd: root, env: cleanEnv(), encoding: 'utf8' })
  const problems: string[] = []
  for (const dir of out.trim().split('\n').slice(1)) {
    const dep = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))
    const wanted = dep.engines?.node
    if (typeof wanted !== 'string' || !semver.validRange(wanted)) continue
    if (semver.subset(range, wanted)) continue
    if (ENGINE_EXCEPTIONS[dep.name] !== undefined) {
      t.comment(`${dep.name} ${dep.version} wants node ${wanted}: ${ENGINE_EXCEPTIONS[dep.name]}`)
      continue
    }
    problems.push(`${dep.name}@${dep.version} wants node ${wanted}`)
  }
  t.same(problems, [], `every dependency runs on all of ${range}`)
})

t.test('the packed files: sources for every source map, types, the UI bundle, LICENSE and CHANGELOG', async (t) => {
  if (!existsSync(join(root, 'dist/lib/index.js'))) {
    t.fail('dist/ is missing: run `npm run build` first (npm test does)')
    return
  }
  // The tarball the e2e tests install (npm pack, once per contents: usually made already by then)
  const files = new Set<string>(await packedFiles())
  for (const f of ['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md', 'dist/lib/index.js', 'dist/lib/index.d.ts', 'dist/lib/testing.js', 'ui/dist/index.html']) {
    t.ok(files.has(f), `${f} is shipped`)
  }
  t.notOk([...files].some(f => f.startsWith('test/') || f.startsWith('bench/') || f.startsWith('dist/examples/')), 'no tests, benchmarks or examples')
  const missing: string[] = []
  let maps = 0
  for (const f of files) {
    if (!f.endsWith('.map')) continue
    maps++
    const map = JSON.parse(readFileSync(join(root, f), 'utf8'))
    for (const source of map.sources as string[]) {
      const target = normalize(join(dirname(f), map.sourceRoot ?? '', source))
      if (!files.has(target)) missing.push(`${f} → ${target}`)
    }
  }
  t.ok(maps > 10, `${maps} source maps`)
  t.same(missing, [], 'every source a map points to is in the package')
  for (const [entry, target] of Object.entries(pkg.exports as Record<string, { types?: string, default?: string } | string>)) {
    if (typeof target === 'string') continue
    for (const file of [target.types, target.default]) if (file !== undefined) t.ok(files.has(file.replace(/^\.\//, '')), `${entry}: ${file} is shipped`)
  }
  t.equal(pkg.peerDependencies?.fastify !== undefined, true, 'fastify is a peer dependency')
  t.notOk(pkg.dependencies.fastify, 'not a dependency (one fastify in the app)')
  t.ok(pkg.dependencies['@types/ws'], 'the published types import ws: its types are a dependency')
})

// The published types, compile-time tests: `npm run typecheck` (tsc over test/)
// fails if an inference below regresses. Each `@ts-expect-error` line would be
// *unused* (and so an error) if the payload or deps were typed `any`. The
// runtime part only makes sure the typed handlers really run.
/** Exact type equality (distinguishes any, unknown and never). */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false
/** Compiles only when its type argument is `true`. */
function expectType<T extends true> (): T | undefined { return undefined }
type IsAny<T> = 0 extends (1 & T) ? true : false

const Message = Type.Object({
  text: Type.String(),
  count: Type.Integer(),
  tags: Type.Array(Type.String()),
  mood: Type.Union([Type.Literal('happy'), Type.Literal('sad')]),
  note: Type.Optional(Type.String())
})

t.test('payload types are inferred from the TypeBox schema', async (t) => {
  const app = await build(t)
  const seen: string[] = []

  app.socket.on('echo', { payload: Type.Object({ echo: Type.String() }) }, (conn, payload, ctx) => {
    expectType<Equal<typeof payload, { echo: string }>>()
    expectType<Equal<IsAny<typeof payload>, false>>()
    expectType<Equal<typeof conn, Connection>>()
    expectType<Equal<typeof ctx.id, string>>()
    expectType<Equal<typeof ctx.event, string>>()
    const s: string = payload.echo
    // @ts-expect-error echo is a string, not a number
    const n: number = payload.echo
    // @ts-expect-error no such property on the payload
    void payload.nope
    seen.push(s, String(n))
    conn.emit('echo_response', { echo: payload.echo })
  })

  app.socket.on('message', { payload: Message }, (_conn, payload) => {
    expectType<Equal<typeof payload, Static<typeof Message>>>()
    expectType<Equal<typeof payload.count, number>>()
    expectType<Equal<typeof payload.tags, string[]>>()
    expectType<Equal<typeof payload.mood, 'happy' | 'sad'>>()
    expectType<Equal<typeof payload.note, string | undefined>>()
    // @ts-expect-error 'angry' is not one of the literals
    const angry: typeof payload.mood = 'angry'
    // @ts-expect-error the optional note may be undefined
    const note: string = payload.note
    void angry
    void note
    seen.push(payload.mood)
  })

  app.socket.on('bare', {}, (_conn, payload) => {
    expectType<Equal<typeof payload, unknown>>()
    // @ts-expect-error without a schema the payload is unknown, not any
    void payload.anything
  })

  app.socket.on('short', (_conn, payload) => {
    expectType<Equal<typeof payload, unknown>>()
  })

  const tc = client(t, app)
  const conn: TestConnection = await tc.connect()
  await conn.send('echo', { echo: 'typed' })
  const reply: TestMessage = await conn.receive()
  t.same(reply, { event: 'echo_response', payload: { echo: 'typed' } })
  await conn.send('message', { text: 'x', count: 1, tags: [], mood: 'happy' })
  await conn.send('echo', { echo: 'sync' })
  await conn.receive()
  t.same(seen, ['typed', 'typed', 'happy', 'sync', 'sync'], 'the typed handlers ran')
})

t.test('deps types reach ctx.deps, promises awaited', async (t) => {
  const app = await build(t)
  app.socket.on('who', {
    payload: Type.Object({ n: Type.Number() }),
    deps: {
      user: async (conn: Connection) => ({ id: conn.id, admin: false }),
      answer: () => 42,
      label: (_conn: Connection, ctx: HandlerContext) => ctx.event
    },
    reply: { event: 'me' }
  }, (_conn, payload, ctx) => {
    expectType<Equal<typeof payload, { n: number }>>()
    expectType<Equal<typeof ctx.deps.user, { id: string, admin: boolean }>>()
    expectType<Equal<typeof ctx.deps.answer, number>>()
    expectType<Equal<typeof ctx.deps.label, string>>()
    expectType<Equal<IsAny<typeof ctx.deps>, false>>()
    // @ts-expect-error no such dependency
    void ctx.deps.missing
    // @ts-expect-error answer is a number
    const s: string = ctx.deps.answer
    void s
    return { id: ctx.deps.user.id, answer: ctx.deps.answer + payload.n, label: ctx.deps.label }
  })
  const conn = await client(t, app).connect()
  const reply = await conn.request('who', { n: 1 })
  t.same(reply.payload, { id: conn.id, answer: 43, label: 'who' })
})

t.test('hooks, options and errors are typed', async (t) => {
  const app = await build(t)
  app.socket.onDisconnect((conn, reason, code) => {
    expectType<Equal<typeof conn, Connection>>()
    expectType<Equal<typeof reason, string>>()
    expectType<Equal<typeof code, number>>()
  })
  app.socket.onError((_conn, err, ctx) => {
    expectType<Equal<typeof err, unknown>>()
    expectType<Equal<typeof ctx.id, string>>()
  })
  app.socket.middleware(async (_conn, event, payload, next) => {
    expectType<Equal<typeof event, string>>()
    expectType<Equal<typeof payload, unknown>>()
    expectType<Equal<ReturnType<typeof next>, Promise<void>>>()
    await next()
  })
  const options: SocketspecOptions = { path: '/ws', session: { idleTimeout: 30 }, rateLimit: { rate: 1, capacity: 2 } }
  // @ts-expect-error maxPayloadSize is a number
  const wrong: SocketspecOptions = { maxPayloadSize: '1kb' }
  // @ts-expect-error unknown option
  const unknown: SocketspecOptions = { heartbeat: 5 }
  void wrong
  void unknown
  const err = new SocketError('CUSTOM', 'message', { a: 1 })
  expectType<Equal<typeof err.code, string>>()
  expectType<Equal<typeof err.details, Record<string, unknown>>>()
  expectType<Equal<Parameters<typeof socketspec>[1], SocketspecOptions>>()
  expectType<Equal<Awaited<ReturnType<TestClient['connect']>>, TestConnection>>()
  t.equal(options.path, '/ws')
  t.equal(err.code, 'CUSTOM')
})

t.test('outbound types: conn.emit, conn.to(room).emit and the return value follow the declared emits, broadcasts and reply', async (t) => {
  const app = await build(t, { rooms: ['lobby'] })
  app.socket.on('echo', {
    payload: Type.Object({ echo: Type.String() }),
    emits: [{ event: 'echo_response', schema: Type.Object({ echo: Type.String(), from: Type.String() }) }, { event: 'free' }],
    broadcasts: [{ event: 'said', room: 'lobby', schema: Type.Object({ text: Type.String() }) }],
    reply: { event: 'echoed', schema: Type.Object({ ok: Type.Boolean() }) }
  }, async (conn, payload) => {
    conn.emit('echo_response', { echo: payload.echo, from: conn.id })
    conn.emit('free', { anything: [1, 2] })
    conn.emit('not_declared')
    const misuse = async (): Promise<void> => {
      // @ts-expect-error echo must be a string
      conn.emit('echo_response', { echo: 123, from: 'x' })
      // @ts-expect-error the required field `from` is missing
      conn.emit('echo_response', { echo: 'x' })
      // @ts-expect-error a declared event needs its payload
      conn.emit('echo_response')
      // @ts-expect-error text must be a string
      await conn.to('lobby').emit('said', { text: 1 })
    }
    void misuse
    await conn.to('lobby').emit('said', { text: payload.echo })
    return { ok: true }
  })
  // @ts-expect-error the reply schema says ok is a boolean
  app.socket.on('wrong_reply', { reply: { event: 'r', schema: Type.Object({ ok: Type.Boolean() }) } }, () => ({ ok: 'yes' }))
  // @ts-expect-error an async handler must resolve with the reply's type too
  app.socket.on('wrong_async_reply', { reply: { event: 'r2', schema: Type.Object({ n: Type.Number() }) } }, async () => ({ n: '1' }))
  app.socket.on('plain', {}, (conn) => {
    expectType<Equal<typeof conn, Connection>>()
    conn.emit('anything', { x: 1 })
  })
  const conn = await client(t, app).connect()
  const reply = await conn.request('echo', { echo: 'hi' })
  t.same(reply.payload, { ok: true })
})

t.test('shared declarations: defineEvents types on() like inline options, and TestClient<Contract> types request() by the reply', async (t) => {
  const events = defineEvents({
    add: {
      payload: Type.Object({ a: Type.Number(), b: Type.Number() }),
      reply: { event: 'sum', schema: Type.Object({ sum: Type.Number() }) }
    },
    shout: {
      payload: Type.Object({ text: Type.String() }),
      emits: [{ event: 'shouted', schema: Type.Object({ text: Type.String() }) }]
    }
  })
  const app = await build(t)
  app.socket.on('add', events.add, (_conn, { a, b }) => {
    expectType<Equal<typeof a, number>>()
    return { sum: a + b }
  })
  app.socket.on('shout', events.shout, (conn, { text }) => {
    conn.emit('shouted', { text: text.toUpperCase() })
    // @ts-expect-error shouted.text is a string
    const misuse = (): void => conn.emit('shouted', { text: 1 })
    void misuse
  })
  // @ts-expect-error the declared reply is { sum: number }
  app.socket.on('add2', events.add, () => ({ sum: 'two' }))
  type Api = Contract<typeof events>
  expectType<Equal<Api['add']['payload'], { a: number, b: number }>>()
  expectType<Equal<Api['add']['reply'], { sum: number }>>()
  expectType<Equal<Api['shout']['reply'], never>>()
  expectType<Equal<Api['shout']['outbound']['shouted'], { text: string }>>()
  expectType<Equal<keyof Api['shout']['outbound'], 'shouted'>>()

  const tc = new TestClient<Api>(app)
  t.teardown(() => tc.close())
  const conn = await tc.connect()
  const reply = await conn.request('add', { a: 1, b: 2 })
  expectType<Equal<typeof reply.payload, { sum: number }>>()
  t.same(reply.payload, { sum: 3 })
  const wrong = async (): Promise<void> => {
    // @ts-expect-error b must be a number
    await conn.request('add', { a: 1, b: '2' })
    // @ts-expect-error sum is a number, not a string
    const s: string = (await conn.request('add', { a: 1, b: 2 })).payload.sum
    void s
  }
  void wrong
  await conn.send('shout', { text: 'hi' })
  t.same((await conn.receiveEvent('shouted')).payload, { text: 'HI' })
  // an untyped client still accepts anything
  const loose = await client(t, app).connect()
  const untyped = await loose.request('add', { a: 2, b: 2 })
  expectType<Equal<IsAny<typeof untyped.payload>, true>>()
  t.same(untyped.payload, { sum: 4 })
})

t.test('a plain JSON Schema written `as const` is typed too', async (t) => {
  const app = await build(t)
  const Point = {
    type: 'object',
    properties: {
      x: { type: 'number' },
      y: { type: 'integer' },
      label: { type: 'string' },
      tags: { type: 'array', items: { type: 'string' } },
      kind: { enum: ['a', 'b'] },
      maybe: { anyOf: [{ type: 'string' }, { type: 'null' }] }
    },
    required: ['x', 'y', 'kind']
  } as const
  app.socket.on('point', { payload: Point, reply: { event: 'pointed', schema: { type: 'object', properties: { ok: { type: 'boolean' } }, required: ['ok'] } as const } }, (_conn, p) => {
    expectType<Equal<typeof p.x, number>>()
    expectType<Equal<typeof p.label, string | undefined>>()
    expectType<Equal<typeof p.tags, string[] | undefined>>()
    expectType<Equal<typeof p.kind, 'a' | 'b'>>()
    expectType<Equal<typeof p.maybe, string | null | undefined>>()
    // @ts-expect-error x is a number
    const s: string = p.x
    void s
    return { ok: p.x > 0 }
  })
  const conn = await client(t, app).connect()
  t.same((await conn.request('point', { x: 1, y: 2, kind: 'a' })).payload, { ok: true })
  await t.rejects(conn.request('point', { x: 1, y: 2.5, kind: 'a' }), { code: 'VALIDATION_ERROR' })
})

t.test('schemas built with typebox 1.x are accepted at run time and typed', async (t) => {
  const app = await build(t)
  const Move = Type1.Object({ x: Type1.Number(), label: Type1.Optional(Type1.String()), kind: Type1.Union([Type1.Literal('a'), Type1.Literal('b')]), tags: Type1.Array(Type1.String()) })
  app.socket.on('move', {
    payload: Move,
    emits: [{ event: 'moved', schema: Type1.Object({ x: Type1.Number() }) }],
    reply: { event: 'move_ok', schema: Type1.Object({ ok: Type1.Boolean(), label: Type1.Optional(Type1.String()) }) }
  }, (conn, p) => {
    expectType<Equal<typeof p.x, number>>()
    expectType<Equal<typeof p.label, string | undefined>>()
    expectType<Equal<typeof p.kind, 'a' | 'b'>>()
    expectType<Equal<typeof p.tags, string[]>>()
    conn.emit('moved', { x: p.x })
    const misuse = (): void => {
      // @ts-expect-error moved.x is a number
      conn.emit('moved', { x: 'far' })
    }
    void misuse
    return { ok: true, label: p.label }
  })
  const conn = await client(t, app).connect()
  const reply = await conn.request('move', { x: 1, kind: 'a', tags: [] })
  t.same(reply.payload, { ok: true })
  t.same((await conn.receiveEvent('moved')).payload, { x: 1 })
  await t.rejects(conn.request('move', { x: 1, kind: 'c', tags: [] }), { code: 'VALIDATION_ERROR' })
  const doc = app.socket.asyncapi() as any
  t.ok(JSON.stringify(doc).includes('"label"'), 'typebox 1.x schemas are documented')
})

t.test('the type tests compile under TypeScript 5.9 (npm run typecheck compiles them under 7)', async (t) => {
  const { version, code, output, against } = await typescript5
  t.ok(semver.satisfies(version, '~5.9'), `TypeScript ${version} is the 5.9 line`)
  t.comment(`compiled against ${against}`)
  t.equal(code, 0, `tsc ${version} --noEmit over ${TYPE_TESTS.join(', ')}${output === '' ? '' : `:\n${output}`}`)
})
