// `node scripts/parallel.mjs 'typecheck --emit' build:ui tap:plugins`: runs those npm
// scripts at once (they share no outputs; words after a script's name are its
// arguments), prints each one's output whole when it ends so nothing
// interleaves, and fails if any of them failed. `npm test` uses it to overlap
// the build, the type check and tap's plugin build on a 2-core machine.
import { spawn } from 'node:child_process'

const names = process.argv.slice(2)
if (names.length === 0) {
  console.error('usage: node scripts/parallel.mjs <npm-script>...')
  process.exit(2)
}

// Under npm, npm_execpath is its CLI script; run it with this node.
const npm = process.env.npm_execpath
  ? [process.execPath, [process.env.npm_execpath]]
  : [process.platform === 'win32' ? 'npm.cmd' : 'npm', []]

function run (name) {
  const started = performance.now()
  const [script, ...args] = name.split(/\s+/)
  return new Promise((resolve) => {
    const child = spawn(npm[0], [...npm[1], 'run', script, ...(args.length > 0 ? ['--', ...args] : [])], { stdio: ['ignore', 'pipe', 'pipe'] })
    const out = []
    child.stdout.on('data', (c) => out.push(c))
    child.stderr.on('data', (c) => out.push(c))
    child.on('error', (err) => out.push(Buffer.from(String(err.stack ?? err) + '\n')))
    child.on('close', (code, signal) => {
      const secs = ((performance.now() - started) / 1000).toFixed(1)
      const ok = code === 0
      process.stdout.write(Buffer.concat(out))
      console.log(`${ok ? '✔' : '✘'} npm run ${name} (${secs}s)${ok ? '' : ` failed: ${signal ?? `exit ${code}`}`}`)
      resolve(ok)
    })
  })
}

const results = await Promise.all(names.map(run))
if (results.includes(false)) process.exit(1)
