// A server script as a process of its own, for the tests where it is killed
// and started again on the same port. The process is spawned and loads its
// modules at once, and listens only when asked: a test spawns the server that
// replaces a killed one beforehand, so the restart takes no module loading
// (the clients' backoff waits less) and that loading overlaps the test's other work.
import { spawn } from 'node:child_process'
import { bareNode, builtScript, cleanEnv, waitForOutput } from './project.js'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../../', import.meta.url))

interface Tap {
  teardown (fn: () => unknown): void
}

export interface ServerProcess {
  pid: number
  /** Run the script; resolves once it prints that it listens. */
  listen (): Promise<void>
  /** SIGKILL (no graceful close: the clients see 1006), resolved once the process is gone. */
  kill (): Promise<void>
}

/**
 * Spawn `script` (a TypeScript file: its build, or its source through
 * scripts/ts-loader.mjs; without tap's loader nor coverage) with PORT=`port`,
 * `preload` (the script's imports, paths from the repository root) loaded now.
 * Killed by its pid at teardown when still running.
 */
export function serverProcess (t: Tap, script: string, port: number, preload: string[]): ServerProcess {
  const env = cleanEnv({ PORT: String(port), HOST: '127.0.0.1', REDIS_URL: '' })
  // The builds of the script and its modules when current (builtScript: no loader), else their sources through ts-loader.
  const built = [script, ...preload].map(builtScript)
  const args = built.every((file): file is string => file !== null)
    ? ['test/helpers/server-runner.mjs', ...built]
    : ['--import=./scripts/ts-loader.mjs', 'test/helpers/server-runner.mjs', script, ...preload]
  const child = spawn(...bareNode(args), { cwd: root, env, stdio: ['pipe', 'pipe', 'pipe'] })
  const pid = child.pid
  if (pid === undefined) throw new Error(`could not start ${script}`)
  const exited = new Promise<void>(resolve => child.once('exit', () => resolve()))
  const running = () => child.exitCode === null && child.signalCode === null
  const kill = async () => {
    if (running()) process.kill(pid, 'SIGKILL')
    await exited
  }
  t.teardown(kill)
  // Keep reading (a logging server must never block on a full pipe).
  child.stdout.resume()
  child.stderr.resume()
  child.stdin.on('error', () => {}) // EPIPE once killed
  const loaded = waitForOutput(child, /^loaded$/m, 60_000)
  loaded.catch(() => {})
  return {
    pid,
    kill,
    listen: async () => {
      await loaded
      const listening = waitForOutput(child, /listening/i, 60_000)
      child.stdin.write('start\n')
      await listening
    }
  }
}
