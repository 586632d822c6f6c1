import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { createConnection } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { freePort } from './project.js'

/** A redis-server child process on a loopback port. */
export interface RedisServer {
  url: string
  port: number
  /** SIGTERM and wait for the process to exit. */
  stop (): Promise<void>
  /** Start again on the same port (empty: nothing is persisted). */
  restart (): Promise<void>
  /**
   * Freeze the server with SIGSTOP: its TCP connections stay up (the kernel
   * still accepts and buffers) but it answers nothing, as a stalled Redis.
   */
  pause (): void
  /** Thaw a paused server with SIGCONT (a no-op when it is not paused). */
  resume (): void
  /** PID of the running server process, or null once stopped. */
  readonly pid: number | null
}

interface Tap {
  teardown (fn: () => unknown): void
  comment (...args: any[]): void
}

let available: boolean | undefined

/** Why Redis tests cannot run here, or null when `redis-server` is installed. */
export function redisUnavailableReason (): string | null {
  available ??= spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0
  return available ? null : 'redis-server is not installed (apt-get install redis-server)'
}

/**
 * Start a throwaway `redis-server` for test `t` (stopped in teardown), or
 * resolve null after printing why when the binary is missing. Under CI=true a
 * missing binary fails the test instead.
 */
export async function startRedis (t: Tap, opts: { port?: number } = {}): Promise<RedisServer | null> {
  const reason = redisUnavailableReason()
  if (reason !== null) {
    if (process.env.CI === 'true') throw new Error(`Redis tests must run in CI: ${reason}`)
    t.comment(`skipping Redis tests: ${reason}`)
    return null
  }
  const port = opts.port ?? await freePort()
  let child: ChildProcess | null = await spawnRedis(port)
  let paused = false
  const server: RedisServer = {
    url: `redis://127.0.0.1:${port}`,
    port,
    get pid () {
      return child?.pid ?? null
    },
    pause () {
      if (child === null || child.pid === undefined) throw new Error('redis-server is not running')
      process.kill(child.pid, 'SIGSTOP')
      paused = true
    },
    resume () {
      if (!paused) return
      paused = false
      // The process may have exited meanwhile: nothing to thaw then.
      if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) process.kill(child.pid, 'SIGCONT')
    },
    async stop () {
      // A stopped process keeps SIGTERM pending: thaw it first or the exit never comes.
      server.resume()
      const running = child
      child = null
      if (running !== null) await kill(running)
    },
    async restart () {
      if (child !== null) await server.stop()
      child = await spawnRedis(port)
    }
  }
  t.teardown(() => server.stop())
  return server
}

async function spawnRedis (port: number): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'warning'], {
    stdio: 'ignore'
  })
  let exited = false
  child.once('exit', () => { exited = true })
  const deadline = Date.now() + 10_000
  while (!(await ping(port))) {
    if (exited) throw new Error(`redis-server exited before answering on port ${port}`)
    if (Date.now() > deadline) {
      await kill(child)
      throw new Error(`redis-server did not answer PING on port ${port} within 10 s`)
    }
    await sleep(20)
  }
  return child
}

function kill (child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    child.once('exit', () => resolve())
    child.kill('SIGTERM')
  })
}

function ping (port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port })
    let answer = ''
    const done = (ok: boolean): void => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(500, () => done(false))
    socket.once('error', () => done(false))
    socket.once('connect', () => socket.write('PING\r\n'))
    socket.on('data', (chunk) => {
      answer += chunk.toString()
      if (answer.includes('\r\n')) done(answer.startsWith('+PONG'))
    })
  })
}

export { freePort }
