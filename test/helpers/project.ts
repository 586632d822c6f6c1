// Helpers for end-to-end tests that build a fresh project the way a user would
// (npm pack, npm install from the registry, run its commands).
import { execFile, type ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { free } from '../../bench/lib/redis-cluster.mjs'
import { join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

export const MINUTE = 60_000
const root = resolve(fileURLToPath(import.meta.url), '../../..')
/** What the e2e tests keep between runs: packed tarballs and installed node_modules. */
const cacheDir = join(root, 'node_modules/.cache/socketspec-e2e')
const execFileP = promisify(execFile)
/** The environment of a fresh shell: no tap runner state, no npm lifecycle of this package. */
export function cleanEnv (extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(TAP|_TAPJS)/.test(key) || key === 'NODE_OPTIONS' || key === 'NODE_V8_COVERAGE') continue
    if (/^npm_(package_|lifecycle_|config_local_prefix)/.test(key)) continue
    env[key] = value
  }
  return { ...env, ...extra }
}

/**
 * `env -u …` before a command: tap's process-info hook puts its loader back into
 * NODE_OPTIONS (and its _TAPJS_ variables) of every child it sees spawned, so
 * the variables are removed by `env` itself, in the child, right before the exec.
 */
export function bare (cmd: string, args: string[]): [string, string[]] {
  const unset = ['NODE_OPTIONS', ...Object.keys(process.env).filter(k => /^(TAP|_TAPJS)/.test(k))]
  return ['env', [...unset.flatMap(k => ['-u', k]), cmd, ...args]]
}

/**
 * `node args` without tap's process-info loader, for children that run none of
 * the code the coverage report is about (bench/ servers and load generators,
 * which load dist/): the loader hooks every module they import, and doubles
 * their start-up.
 */
export function bareNode (args: string[]): [string, string[]] {
  return bare(process.execPath, args)
}

/** Run a command (without tap's loaders); resolve with its output, reject with both streams in the message. */
export async function sh (cmd: string, args: string[], cwd: string, timeout: number, env = cleanEnv()) {
  try {
    return await execFileP(...bare(cmd, args), { cwd, env, timeout, maxBuffer: 32 * 1024 * 1024 })
  } catch (err: any) {
    throw new Error(`${cmd} ${args.join(' ')} failed (exit ${err.code ?? err.signal}):\n${err.stdout ?? ''}\n${err.stderr ?? ''}`)
  }
}

/**
 * A loopback TCP port nobody listens on right now, picked at random below the
 * kernel's ephemeral range (Linux: 32768-60999), where listen(0) and outgoing
 * connections take theirs: a test that kills a server and starts it again on
 * the same port does not find another test's server (or a client's socket) on
 * it meanwhile, as it could with a port from listen(0) on a busy run.
 */
export async function freePort (): Promise<number> {
  for (let i = 0; i < 100; i++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000)
    if (await free(port)) return port
  }
  throw new Error('no free loopback port in 20000-31999')
}

/** Resolve once `child` prints `pattern`, reject if it exits first or `ms` pass. */
export function waitForOutput (child: ChildProcess, pattern: RegExp, ms: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let output = ''
    const onData = (chunk: Buffer) => {
      output += chunk.toString()
      if (pattern.test(output)) done(null)
    }
    const onExit = (code: number | null) => done(new Error(`exited (${code}) before printing ${pattern}:\n${output}`))
    const timer = setTimeout(() => done(new Error(`no ${pattern} within ${ms} ms:\n${output}`)), ms)
    const done = (err: Error | null) => {
      clearTimeout(timer)
      child.stdout?.off('data', onData)
      child.stderr?.off('data', onData)
      child.off('exit', onExit)
      if (err === null) resolve(output)
      else reject(err)
    }
    child.stdout?.on('data', onData)
    child.stderr?.on('data', onData)
    child.once('exit', onExit)
  })
}

/** A hash of every file under `paths` (files or directories, relative to the repository), names and contents. */
function contentHash (paths: string[]): string {
  const hash = createHash('sha256')
  const add = (rel: string): void => {
    const abs = join(root, rel)
    if (!existsSync(abs)) return
    if (statSync(abs).isDirectory()) {
      for (const name of readdirSync(abs).sort()) add(`${rel}/${name}`)
    } else {
      hash.update(`${rel}\0`).update(readFileSync(abs)).update('\0')
    }
  }
  for (const p of [...new Set(paths)].sort()) add(p)
  return hash.digest('hex').slice(0, 16)
}

/** Remove the entries of `dir` older than an hour, but the `keep` newest. */
function prune (dir: string, keep: number): void {
  const entries = readdirSync(dir).map((name) => ({ name, mtime: statSync(join(dir, name)).mtimeMs })).sort((a, b) => b.mtime - a.mtime)
  for (const { name, mtime } of entries.slice(keep)) {
    if (Date.now() - mtime > 60 * MINUTE) rmSync(join(dir, name), { recursive: true, force: true })
  }
}

/**
 * `npm pack` of this checkout (needs `npm run build`). The tarball is kept under
 * node_modules/.cache, keyed by a hash of everything the package's "files" can
 * take in, so the e2e tests of one run (and later runs, while nothing changed)
 * share one pack.
 */
export async function packTarball (): Promise<string> {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
  // "lib/**/*.ts" → lib: whole directories, a superset of what npm takes.
  const packed = (pkg.files as string[]).map((f) => f.split(/[*{]/)[0].replace(/\/+$/, '')).filter((f) => f !== '')
  const dir = join(cacheDir, 'pack', contentHash(['package.json', 'README.md', 'CHANGELOG.md', 'LICENSE', ...packed]))
  const done = join(dir, 'tarball.json')
  const packedAlready = (): string | null => existsSync(done) ? join(dir, JSON.parse(readFileSync(done, 'utf8')).filename) : null
  mkdirSync(join(cacheDir, 'pack'), { recursive: true })
  // One `npm pack` per contents: the e2e tests that need it start together, and the later ones wait for
  // the first one's tarball (a lock left by a killed run is taken over after two minutes).
  const lock = `${dir}.lock`
  for (;;) {
    const found = packedAlready()
    if (found !== null) return found
    try {
      mkdirSync(lock)
      break
    } catch (err: any) {
      if (err.code !== 'EEXIST') throw err
      const age = Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now())
      if (age > 2 * MINUTE) rmSync(lock, { recursive: true, force: true })
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }
  const tmp = mkdtempSync(`${dir}.tmp-`)
  try {
    const found = packedAlready()
    if (found !== null) return found
    const out = await sh('npm', ['pack', '--json', '--pack-destination', tmp], root, 2 * MINUTE)
    const { filename } = JSON.parse(out.stdout)[0]
    writeFileSync(join(tmp, 'tarball.json'), JSON.stringify({ filename }))
    try {
      renameSync(tmp, dir)
    } catch (err: any) {
      // Another test packed the same contents first: use that one.
      if (!existsSync(done)) throw err
    }
    prune(join(cacheDir, 'pack'), 4)
    return join(dir, filename)
  } finally {
    rmSync(tmp, { recursive: true, force: true })
    rmSync(lock, { recursive: true, force: true })
  }
}

/** The files of packTarball's tarball, as paths in the package (`dist/lib/index.js`), from `tar -tzf`. */
export async function packedFiles (): Promise<string[]> {
  const { stdout } = await sh('tar', ['-tzf', await packTarball()], root, MINUTE)
  return stdout.split('\n').filter((line) => line !== '' && !line.endsWith('/')).map((line) => line.replace(/^package\//, ''))
}

/** Copy a directory tree as hard links (GNU `cp -al`) where it can, else as a plain copy. */
async function linkCopy (from: string, to: string): Promise<void> {
  try {
    await sh('cp', ['-al', from, to], root, 2 * MINUTE)
  } catch {
    rmSync(to, { recursive: true, force: true })
    cpSync(from, to, { recursive: true, verbatimSymlinks: true })
  }
}

/** Drop the socketspec entries of a package-lock.json (or npm's hidden node_modules/.package-lock.json). */
function forgetSocketspec (lockFile: string): void {
  if (!existsSync(lockFile)) return
  const lock = JSON.parse(readFileSync(lockFile, 'utf8'))
  for (const key of Object.keys(lock.packages ?? {})) {
    if (/(^|\/)node_modules\/socketspec(\/|$)/.test(key)) delete lock.packages[key]
  }
  // A fresh file, never a write into the hard-linked one (that would edit the cache).
  rmSync(lockFile)
  writeFileSync(lockFile, JSON.stringify(lock, null, 2) + '\n')
}

/**
 * The node_modules an npm project had in an earlier run, so that its `npm
 * install` only has to add what changed: the new socketspec tarball. The key is
 * `what` (what the project installs, but socketspec's location) and the day: a
 * day's runs share one install of the registry packages, the next day installs
 * afresh. `restore()` puts a hard-linked copy of the saved node_modules and
 * package-lock.json into the project, socketspec left out (so that it is
 * installed from the new tarball), and says whether there was one; `save()`,
 * called once the project passed, keeps them for the next runs.
 */
export function installCache (project: string, what: unknown): { restore: () => Promise<boolean>, save: () => Promise<void> } {
  const key = createHash('sha256').update(JSON.stringify([what, process.version, new Date().toISOString().slice(0, 10)])).digest('hex').slice(0, 16)
  const saved = join(cacheDir, 'install', key)
  let restored = false
  return {
    async restore () {
      if (!existsSync(join(saved, 'complete'))) return false
      await linkCopy(join(saved, 'node_modules'), join(project, 'node_modules'))
      cpSync(join(saved, 'package-lock.json'), join(project, 'package-lock.json'))
      rmSync(join(project, 'node_modules/socketspec'), { recursive: true, force: true })
      rmSync(join(project, 'node_modules/.bin/socketspec'), { force: true })
      forgetSocketspec(join(project, 'package-lock.json'))
      forgetSocketspec(join(project, 'node_modules/.package-lock.json'))
      restored = true
      return true
    },
    async save () {
      if (restored || existsSync(join(saved, 'complete'))) return
      mkdirSync(join(cacheDir, 'install'), { recursive: true })
      const tmp = mkdtempSync(`${saved}.tmp-`)
      try {
        await linkCopy(join(project, 'node_modules'), join(tmp, 'node_modules'))
        rmSync(join(tmp, 'node_modules/.cache'), { recursive: true, force: true })
        cpSync(join(project, 'package-lock.json'), join(tmp, 'package-lock.json'))
        writeFileSync(join(tmp, 'complete'), '')
        try {
          renameSync(tmp, saved)
        } catch (err: any) {
          if (!existsSync(join(saved, 'complete'))) throw err
        }
        prune(join(cacheDir, 'install'), 4)
      } finally {
        rmSync(tmp, { recursive: true, force: true })
      }
    }
  }
}

/** The source files (not .d.ts) under `dir` of the repository, relative to it. */
function sourcesUnder (dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourcesUnder(join(dir, e.name)) : e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [join(dir, e.name)] : [])
}

/**
 * Whether dist/ holds the declarations of the current sources (lib, plugins,
 * schemas: what the package publishes), each no older than its source. `npm
 * test` builds them before tap; a test run alone after an edit finds them stale.
 */
export function declarationsCurrent (): boolean {
  return ['lib', 'plugins', 'schemas'].flatMap(sourcesUnder).every((file) => {
    const declaration = join(root, 'dist', file.replace(/\.ts$/, '.d.ts'))
    return existsSync(declaration) && statSync(declaration).mtimeMs >= statSync(join(root, file)).mtimeMs
  })
}

/**
 * The build of `script` (a TypeScript file of the repository that runs as a
 * process of its own: a fixture server, an example, the CLI's bin; absolute or
 * from the repository's root), or null when it is not current: missing, or
 * older than the sources of its directory or than lib/ (declarationsCurrent).
 * `tsconfig.build.json` builds them into dist/, and `npm test` builds dist/
 * first; a test run alone after an edit falls back to the sources through a
 * loader. Plain node starts the build with ~0.7 s less CPU than the source
 * through tsx: on Node 20 every module a loader sees is a round trip to its
 * thread.
 */
export function builtScript (script: string): string | null {
  const source = relative(root, resolve(root, script))
  const built = join(root, 'dist', source.replace(/\.ts$/, '.js'))
  if (!existsSync(built) || !declarationsCurrent()) return null
  const dir = join(root, source, '..')
  const stale = readdirSync(dir).filter((name) => name.endsWith('.ts') && !name.endsWith('.d.ts')).some((name) => {
    const js = join(root, 'dist', relative(root, dir), name.replace(/\.ts$/, '.js'))
    return !existsSync(js) || statSync(js).mtimeMs < statSync(join(dir, name)).mtimeMs
  })
  return stale ? null : built
}

/** The node arguments that run `script` (see builtScript): its build when current, else its source through tsx. */
export function scriptArgs (script: string): string[] {
  const built = builtScript(script)
  return built !== null ? [built] : ['--import', 'tsx', script]
}

/**
 * A tree for type checks against what the package publishes, or null when
 * dist/ is not current (declarationsCurrent): in a new temporary directory,
 * lib/, plugins/ and schemas/ are links to dist/'s, so that relative imports
 * (`../lib/index.js`) find the .d.ts files and tsc does not check lib/'s bodies
 * again (`npm run typecheck` does, with TypeScript 7); test/, bench/, scripts/,
 * node_modules/ and package.json are links to the checkout's. Name the files to
 * compile by their path under `dir` (`join(dir, 'test/x.ts')`) and compile with
 * `preserveSymlinks`, so that their imports stay in the tree.
 */
export function publishedTree (): { dir: string, remove: () => void } | null {
  if (!declarationsCurrent()) return null
  const dir = mkdtempSync(join(tmpdir(), 'socketspec-published-'))
  for (const name of ['lib', 'plugins', 'schemas']) symlinkSync(join(root, 'dist', name), join(dir, name))
  for (const name of ['test', 'bench', 'scripts', 'node_modules', 'package.json']) symlinkSync(join(root, name), join(dir, name))
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) }
}
