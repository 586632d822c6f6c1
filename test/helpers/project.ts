// Helpers for end-to-end tests that build a fresh project the way a user would
// (npm pack, npm install from the registry, run its commands).
import { execFile, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { createServer } from 'node:net'
import { promisify } from 'node:util'

export const MINUTE = 60_000
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

/** Run a command (without tap's loaders); resolve with its output, reject with both streams in the message. */
export async function sh (cmd: string, args: string[], cwd: string, timeout: number, env = cleanEnv()) {
  try {
    return await execFileP(...bare(cmd, args), { cwd, env, timeout, maxBuffer: 32 * 1024 * 1024 })
  } catch (err: any) {
    throw new Error(`${cmd} ${args.join(' ')} failed (exit ${err.code ?? err.signal}):\n${err.stdout ?? ''}\n${err.stderr ?? ''}`)
  }
}

export async function freePort (): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  server.close()
  await once(server, 'close')
  return port
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
