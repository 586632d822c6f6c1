import { mkdir, readdir, stat, writeFile } from 'node:fs/promises'
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path'
import { usageError, CliError } from './cli-error.js'
import { HELP } from './help.js'
import type { CliIO } from './main.js'
import { dependencySpec, optionSpec, packageInfo } from './package-info.js'
import { packageNameFromDir, packageNameProblems } from './package-name.js'
import { parse } from './parse.js'
import { renderScaffold, type ScaffoldOptions } from './templates/index.js'

// What the scaffold needs beyond socketspec's own dependencies: fastify-cli and
// @fastify/autoload (the majors for fastify 5), and TypeScript 7, the native compiler
// (socketspec builds with it, as its devDependency typescript-7): the app's type check
// costs about a quarter of TypeScript 5's. socketspec's own `typescript` (5.9, which
// typescript-eslint needs) is not the app's.
const SCAFFOLD_RANGES = {
  'fastify-cli': '^8.0.2',
  '@fastify/autoload': '^6.5.0',
  typescript: '^7.0.2'
}

/** `socketspec init <dir> [--name] [--auth jwt|none] [--redis] [--socketspec <spec>] [--force]` */
export async function initCommand (args: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parse(args, {
    name: { type: 'string' },
    auth: { type: 'string', default: 'none' },
    redis: { type: 'boolean', default: false },
    socketspec: { type: 'string' },
    force: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h' }
  }, 'init')
  if (values.help === true) {
    io.stdout.write(HELP.init)
    return 0
  }
  if (positionals.length === 0) throw usageError('socketspec init: missing the directory to create the app in', 'init')
  if (positionals.length > 1) throw usageError(`socketspec init: unexpected argument '${positionals[1]}'`, 'init')
  const auth = values.auth
  if (auth !== 'jwt' && auth !== 'none') {
    throw usageError(`socketspec init: --auth must be 'jwt' or 'none', got '${auth}'`, 'init')
  }
  if (values.socketspec === '') throw usageError('socketspec init: --socketspec needs a dependency spec', 'init')

  const dirArg = positionals[0]
  const target = resolve(io.cwd, dirArg)
  const name = values.name ?? packageNameFromDir(basename(target))
  if (name === undefined) {
    throw usageError(`socketspec init: cannot derive a package name from '${basename(target)}'; pass --name <pkg-name>`, 'init')
  }
  const problems = packageNameProblems(name)
  if (problems.length > 0) {
    throw usageError(`socketspec init: invalid package name '${name}': ${problems.join('; ')}`, 'init')
  }

  await checkTarget(target, values.force === true)

  const pkg = packageInfo()
  const dependency = values.socketspec === undefined
    ? dependencySpec(pkg.name, pkg.version, pkg.root)
    : optionSpec(values.socketspec, io.cwd)
  const opts: ScaffoldOptions = {
    name,
    auth,
    redis: values.redis === true,
    versions: {
      ...pkg.devDependencies,
      ...pkg.dependencies,
      ...SCAFFOLD_RANGES,
      socketspec: dependency.spec
    }
  }

  io.stdout.write(`Creating ${name} in ${target}\n`)
  for (const file of renderScaffold(opts)) {
    const path = join(target, file.path)
    await mkdir(dirname(path), { recursive: true })
    await writeFile(path, file.content)
    io.stdout.write(`  ${file.path}\n`)
  }

  const other = dependency.origin === 'option' ? '' : '; pass --socketspec <spec> to use another'
  io.stdout.write(`\nsocketspec dependency: "${dependency.spec}" (${dependency.note}${other})\n`)

  const rel = relative(io.cwd, target)
  const cd = rel === '' ? '.' : rel.startsWith('..') || isAbsolute(rel) ? target : rel
  io.stdout.write(`
Done. Next:
  cd ${shellQuote(cd)} && npm install && npm test && npm start

Then open http://localhost:3000/socket-docs (the WebSocket endpoint is ws://localhost:3000/ws).
\`npm run dev\` restarts the app on every change; a new file in events/ adds its events.
`)
  return 0
}

/** Refuse a file, or a non-empty directory without --force (a lone .git is fine). */
async function checkTarget (target: string, force: boolean): Promise<void> {
  let entries: string[]
  try {
    const info = await stat(target)
    if (!info.isDirectory()) throw new CliError(`socketspec init: ${target} exists and is not a directory`)
    entries = await readdir(target)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return
    throw err
  }
  if (!force && entries.some((entry) => entry !== '.git')) {
    throw new CliError(`socketspec init: ${target} is not empty; pick another directory or pass --force to write the scaffold files into it (files with the same names are overwritten)`)
  }
}

/** Quote a path for POSIX shells when it needs it. */
function shellQuote (s: string): string {
  return /^[\w./@%+=:,-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`
}
