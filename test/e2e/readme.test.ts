import t from 'tap'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import WebSocket from 'ws'
import { MINUTE, bare, cleanEnv, freePort, installCache, packTarball, sh, waitForOutput } from '../helpers/project.js'

// The README's Quick start and Testing sections, run as pasted: the blocks
// marked `<!-- readme-test: ... -->` are extracted, the shell steps run in a
// fresh directory (with `socketspec` installed from `npm pack` instead of the
// registry), the files written, the server started, the test run, the files
// type-checked with the published types. Needs `npm run build` (npm test runs
// it first). The tarball is shared with the scaffold test (packTarball).

const root = resolve(fileURLToPath(import.meta.url), '../../..')
t.setTimeout(10 * MINUTE)

interface Block { kind: 'sh' | 'file' | 'patch', name: string, body: string }

/** Every marked fenced block of the README, in order. */
export function readmeBlocks (md: string): Block[] {
  const out: Block[] = []
  const re = /<!-- readme-test: (sh|file|patch) (\S+) -->\n```\w*\n([\s\S]*?)```/g
  for (const m of md.matchAll(re)) out.push({ kind: m[1] as Block['kind'], name: m[2], body: m[3] })
  return out
}

/**
 * Apply a patch block: each of its lines whose first 20 characters (trimmed)
 * start a line of the file replaces that line; the lines after it, up to the
 * next such line, are inserted with it.
 */
export function applyPatch (source: string, patch: string): string {
  const lines = source.split('\n')
  const key = (l: string): string => l.trim().slice(0, 20)
  const hunks: string[][] = []
  for (const line of patch.replace(/\n$/, '').split('\n')) {
    const k = key(line)
    if (k.length >= 15 && lines.some(l => key(l) === k)) hunks.push([line])
    else if (hunks.length > 0) hunks[hunks.length - 1].push(line)
    else throw new Error(`patch line matches nothing in the file: ${line}`)
  }
  for (const hunk of hunks) {
    const i = lines.findIndex(l => key(l) === key(hunk[0]))
    lines.splice(i, 1, ...hunk)
  }
  return lines.join('\n')
}

t.test('applyPatch and readmeBlocks', async (t) => {
  t.equal(applyPatch('import alpha, { Beta } from "x"\nconst y = 1\n  await app.register(x, { a: 1 })\nend', 'import alpha, { Beta, Gamma } from "x"\n  await app.register(x, {\n    a: 1,\n  })\n'),
    'import alpha, { Beta, Gamma } from "x"\nconst y = 1\n  await app.register(x, {\n    a: 1,\n  })\nend')
  t.throws(() => applyPatch('abc', 'nothing like it at all\n'))
  t.same(readmeBlocks('<!-- readme-test: file a.ts -->\n```ts\nx\n```\n'), [{ kind: 'file', name: 'a.ts', body: 'x\n' }])
})

async function rpc (url: string, headers: Record<string, string> = {}): Promise<{ connect: any, sum: any }> {
  const ws = new WebSocket(url, { headers })
  const frames: any[] = []
  ws.on('message', (d) => frames.push(JSON.parse(d.toString())))
  const closed = once(ws, 'close')
  await once(ws, 'open')
  const until = async (pred: (f: any) => boolean): Promise<any> => {
    const deadline = Date.now() + 10_000
    for (;;) {
      const f = frames.find(pred)
      if (f !== undefined) return f
      if (Date.now() > deadline || ws.readyState > 1) throw new Error(`no matching frame; got ${JSON.stringify(frames)}`)
      await new Promise(resolve => setTimeout(resolve, 20))
    }
  }
  const connect = await until(f => f.event === '__connect__' || f.event === '__error__')
  ws.send(JSON.stringify({ event: 'add', payload: { a: 1, b: 2 }, id: '1' }))
  const sum = await until(f => f.id === '1')
  ws.close()
  await closed
  return { connect, sum }
}

t.test('slow: the Quick start and Testing sections run as pasted in a new project', async (t) => {
  const blocks = readmeBlocks(readFileSync(join(root, 'README.md'), 'utf8'))
  const get = (kind: Block['kind'], name: string): string => {
    const b = blocks.find(b => b.kind === kind && b.name === name)
    if (b === undefined) throw new Error(`README has no readme-test block '${kind} ${name}'`)
    return b.body
  }
  t.same(blocks.map(b => `${b.kind} ${b.name}`), ['sh setup', 'file app.ts', 'file server.ts', 'sh start', 'patch app.ts', 'sh token', 'file client.ts', 'sh client', 'file test/app.test.ts', 'sh test'])
  if (!existsSync(join(root, 'dist/lib/index.js'))) {
    t.fail('dist/ is missing: run `npm run build` first (npm test does it in pretest)')
    return
  }
  const work = mkdtempSync(join(tmpdir(), 'socketspec-readme-'))
  t.teardown(() => rmSync(work, { recursive: true, force: true }))
  const tarball = await packTarball()

  // 1. setup, as pasted, except that socketspec comes from the tarball. It runs in two
  // parts, the lines before the first `npm install` (which make the project and cd
  // into it) and the rest in the project, with the node_modules of the day's earlier
  // runs put in between (installCache): the installs then only add what changed.
  const setup = get('sh', 'setup').replace(/^(npm install .*)\bsocketspec\b/m, `$1${tarball}`)
  t.not(setup, get('sh', 'setup'), 'the install line names socketspec')
  const lines = setup.replace(/^npm install/gm, 'npm install --no-audit --no-fund --prefer-offline --loglevel=error').split('\n')
  const firstInstall = lines.findIndex((l) => l.startsWith('npm install'))
  const project = join(work, 'my-api')
  await sh('sh', ['-ec', lines.slice(0, firstInstall).join('\n')], work, MINUTE)
  const installs = installCache(project, get('sh', 'setup'))
  if (await installs.restore()) t.comment('node_modules of an earlier run today restored: npm install adds socketspec to it')
  await sh('sh', ['-ec', lines.slice(firstInstall).join('\n')], project, 8 * MINUTE)
  t.equal(JSON.parse(readFileSync(join(project, 'package.json'), 'utf8')).type, 'module', 'an ES-module project')
  const write = (name: string, body: string): void => {
    mkdirSync(dirname(join(project, name)), { recursive: true })
    writeFileSync(join(project, name), body)
  }
  write('app.ts', get('file', 'app.ts'))
  write('server.ts', get('file', 'server.ts'))
  write('test/app.test.ts', get('file', 'test/app.test.ts'))
  write('client.ts', get('file', 'client.ts'))
  // step 2's app.ts, for the type check (the file itself is patched when step 2 runs)
  write('auth/app.ts', applyPatch(get('file', 'app.ts'), get('patch', 'app.ts')))

  // 3. the server, started as the README says
  const start = get('sh', 'start').replace(/#.*$/gm, '').trim()
  const serve = async (env: Record<string, string>): Promise<{ port: number, stop: () => Promise<void> }> => {
    const port = await freePort()
    const child = spawn(...bare('sh', ['-c', `exec ${start}`]), { cwd: project, env: cleanEnv({ PORT: String(port), ...env }), detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
    const stop = async (): Promise<void> => {
      if (child.exitCode !== null || child.signalCode !== null) return
      const exited = once(child, 'exit')
      process.kill(-(child.pid as number), 'SIGTERM')
      await exited
    }
    t.teardown(stop)
    await waitForOutput(child, /Server listening at/, 2 * MINUTE)
    return { port, stop }
  }
  /** The project's tsc (what `npx tsc` runs there), with `args`. */
  const tsVersion = JSON.parse(readFileSync(join(project, 'node_modules/typescript/package.json'), 'utf8')).version as string
  // TypeScript 7 on one checker thread: the check runs next to the servers and other test files (see scripts/typecheck.mjs).
  const threads = Number(tsVersion.split('.')[0]) >= 7 ? ['--singleThreaded'] : []
  const tsc = async (args: string[]) => await sh(process.execPath, [join(project, 'node_modules/typescript/bin/tsc'), ...threads, ...args], project, 3 * MINUTE)
  /** Start `p` now, await it later (its failure then fails the test, never as an unhandled rejection). */
  const early = <T>(p: Promise<T>): Promise<T> => {
    p.catch(() => {})
    return p
  }

  // The type check, the Testing section's command and the server run side by side; checked in this order.
  // The published types compile the README's code (strict, and the package's own .d.ts checked too): every
  // file of the three steps in one tsc run (one program: fastify's and socketspec's types are checked once),
  // its errors told apart by file.
  const checkedFiles = { start: ['app.ts', 'server.ts', 'test/app.test.ts'], auth: ['auth/app.ts'], client: ['client.ts'] }
  const checked = early(tsc(['--noEmit', '--strict', '--skipLibCheck', 'false', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--types', 'node', '--pretty', 'false', ...Object.values(checkedFiles).flat()])
    .then(() => '', (err: Error) => err.message))
  /** The errors tsc reported in `files`, and those in no file of the README (the published .d.ts, the run itself). */
  const errorsIn = async (files: string[]): Promise<string[]> => {
    const all = Object.values(checkedFiles).flat()
    const failure = await checked
    const lines = failure.split('\n').filter((line) => /error TS\d+/.test(line))
    if (failure !== '' && lines.length === 0) return [failure] // tsc failed without a diagnostic
    return lines.filter((line) => files.some((f) => line.startsWith(`${f}(`)) || !all.some((f) => line.startsWith(`${f}(`)))
  }
  // The project got the current TypeScript from the registry (7 at the time of writing): the
  // repository's own type tests (and every typed file) must compile under it too. `npm run
  // typecheck` compiles them with the devDependency typescript-7; when the registry's line is
  // another one, they are compiled here with the project's.
  const typecheckVersion = JSON.parse(readFileSync(join(root, 'node_modules/typescript-7/package.json'), 'utf8')).version as string
  const line = (v: string): string => v.split('.').slice(0, 2).join('.')
  const repo = line(tsVersion) === line(typecheckVersion)
    ? Promise.resolve(null)
    : early(sh(process.execPath, [join(project, 'node_modules/typescript/bin/tsc'), '--noEmit', '--incremental', 'false', '-p', join(root, 'tsconfig.json')], root, 3 * MINUTE))
  // 2. the Testing section's command
  const testCmd = get('sh', 'test').trim()
  const testing = early(sh('sh', ['-ec', testCmd], project, 3 * MINUTE))
  const firstServer = early(serve({}))

  t.same(await errorsIn(checkedFiles.start), [], 'tsc --strict accepts app.ts, server.ts and test/app.test.ts')
  t.comment(`TypeScript installed by the Quick start: ${tsVersion}`)
  if (await repo === null) {
    t.comment(`the repository's type tests are compiled under TypeScript ${typecheckVersion} by npm run typecheck: the same line`)
  } else {
    t.pass(`the repository's type tests compile under TypeScript ${tsVersion}`)
  }
  const tested = await testing
  t.match(tested.stdout, /# pass 1/, 'node --test ran the README test')
  t.match(tested.stdout, /# fail 0/)

  const first = await firstServer
  const docs = await fetch(`http://127.0.0.1:${first.port}/socket-docs`)
  t.equal(docs.status, 200, 'the docs UI answers at /socket-docs')
  const plain = await rpc(`ws://127.0.0.1:${first.port}/ws`)
  t.equal(plain.connect.event, '__connect__')
  t.same(plain.sum, { event: 'sum', payload: { sum: 3 }, id: '1' }, 'add answers over the wire')
  await first.stop()

  // 4. step 2: auth, a minted token, a refused and an accepted connection (the check of the
  // patched app.ts, the token and the server side by side)
  write('app.ts', readFileSync(join(project, 'auth/app.ts'), 'utf8'))
  const minting = early(sh('sh', ['-ec', get('sh', 'token')], project, MINUTE))
  const secondServer = early(serve({}))
  t.same(await errorsIn(checkedFiles.auth), [], 'tsc --strict accepts the app.ts of step 2')
  const token = (await minting).stdout.trim()
  t.match(token, /^[\w-]+\.[\w-]+\.[\w-]+$/, 'socketspec token printed a JWT')
  const second = await secondServer
  const refused = await rpc(`ws://127.0.0.1:${second.port}/ws`).catch((e: Error) => e)
  t.ok(refused instanceof Error || refused.connect.payload?.code === 'AUTH_ERROR', 'without a token: AUTH_ERROR')
  const authed = await rpc(`ws://127.0.0.1:${second.port}/ws`, { authorization: `Bearer ${token}` })
  t.equal(authed.connect.event, '__connect__', 'with the minted token: connected')
  t.same(authed.sum.payload, { sum: 3 })

  // 5. step 3: the client SDK, typed by the published types, run as the README says
  t.same(await errorsIn(checkedFiles.client), [], 'tsc --strict accepts client.ts against socketspec/client')
  const ran = await sh('sh', ['-ec', get('sh', 'client')], project, 2 * MINUTE, cleanEnv({ PORT: String(second.port) }))
  t.match(ran.stdout, /echo: hi/, 'the client got the echo_response')
  t.match(ran.stdout, /1 \+ 2 = 3/, 'and the reply to its request')
  await second.stop()
  if (t.passing()) await installs.save()
})
