import { spawn, type ChildProcess } from 'node:child_process'
import type { IncomingMessage } from 'node:http'
import { fileURLToPath } from 'node:url'
import { WebSocketServer, type WebSocket } from 'ws'
import type { Test } from 'tap'
import { freePort } from './redis.js'
import { bareNode, cleanEnv, scriptArgs } from './project.js'
import type { FastifyInstance } from 'fastify'
import { connect, type SocketspecClient, type ClientOptions, type ClientState, type StateInfo } from '../../lib/client/index.js'
import type { AnyContract } from '../../lib/contract.js'

/** A client closed at teardown. */
export function client<C extends AnyContract = AnyContract> (t: Test, url: string, options: ClientOptions = {}): SocketspecClient<C> {
  const c = connect<C>(url, options)
  t.teardown(() => c.close())
  return c
}

/**
 * Every state change of a client. `next(state)` reads them like a queue: it
 * resolves with the first entry of that state after the last one a `next`
 * returned (already logged or still to come).
 */
export class StateLog {
  readonly entries: Array<{ state: ClientState, info: StateInfo }> = []
  #cursor = 0
  #waiters: Array<{ state: ClientState, resolve: (i: number) => void }> = []

  constructor (c: SocketspecClient<any>) {
    c.onState((state, info) => {
      this.entries.push({ state, info })
      const i = this.entries.length - 1
      const w = this.#waiters.find(w => w.state === state)
      if (w !== undefined) {
        this.#waiters.splice(this.#waiters.indexOf(w), 1)
        w.resolve(i)
      }
    })
  }

  get states (): ClientState[] {
    return this.entries.map(e => e.state)
  }

  next (state: ClientState, timeout = 5000): Promise<{ state: ClientState, info: StateInfo }> {
    const take = (i: number): { state: ClientState, info: StateInfo } => {
      this.#cursor = i + 1
      return this.entries[i]
    }
    const i = this.entries.findIndex((e, k) => k >= this.#cursor && e.state === state)
    if (i !== -1) return Promise.resolve(take(i))
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no '${state}' state within ${timeout} ms (saw ${this.states.join(', ')})`)), timeout)
      this.#waiters.push({ state, resolve: (k) => { clearTimeout(timer); resolve(take(k)) } })
    })
  }
}

/** The port an app listens on. */
export function portOf (app: FastifyInstance): number {
  return (app.server.address() as { port: number }).port
}

/** A server process (test/fixtures/client/server.ts) that a test can kill and restart on the same port. */
export class ServerProcess {
  #child: ChildProcess | undefined

  constructor (readonly port: number, readonly options: Record<string, unknown> = {}) {}

  get url (): string {
    return `ws://127.0.0.1:${this.port}/ws`
  }

  get pid (): number | undefined {
    return this.#child?.pid
  }

  /** Start it; resolves once it listens. */
  async start (): Promise<void> {
    // Without tap's loaders and coverage (bare, cleanEnv: its spawn hook would put its loader back into
    // NODE_OPTIONS): they are for test files, and they double this child's start-up.
    const env = cleanEnv({ PORT: String(this.port), SOCKETSPEC_OPTIONS: JSON.stringify(this.options) })
    // Its build when current (no loader), else the source through tsx.
    const child = spawn(...bareNode(scriptArgs(SERVER_FIXTURE)), { env, stdio: ['ignore', 'pipe', 'inherit'] })
    this.#child = child
    await new Promise<void>((resolve, reject) => {
      let out = ''
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString()
        if (out.includes('listening')) resolve()
      })
      child.once('exit', (code, signal) => reject(new Error(`server exited before listening (${code ?? signal})`)))
    })
  }

  /** SIGKILL: the process dies with its sockets open, no close frame goes out. */
  async kill (): Promise<void> {
    const child = this.#child
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise(resolve => child.once('exit', resolve))
    child.kill('SIGKILL')
    await exited
    this.#child = undefined
  }
}

const SERVER_FIXTURE = fileURLToPath(new URL('../fixtures/client/server.ts', import.meta.url))

/** A process with a server, killed at teardown. */
export async function serverProcess (t: Test, options: Record<string, unknown> = {}): Promise<ServerProcess> {
  const server = new ServerProcess(await freePort(), options)
  t.teardown(() => server.kill())
  await server.start()
  return server
}

/** What a scripted server does with each connection (n counts from 1). */
export type Script = (ws: WebSocket, n: number, req: IncomingMessage) => void

/**
 * A bare `ws` server that plays the socketspec protocol as a script says:
 * for close codes and system events a real app cannot be made to produce on
 * demand (1008 from the server, 4002 at once, a short retry_after_ms).
 */
export async function scriptedServer (t: Test, script: Script): Promise<{ url: string, connections: number, wss: WebSocketServer }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, handleProtocols: (p) => p.has('socketspec') ? 'socketspec' : false })
  await new Promise(resolve => wss.once('listening', resolve))
  const state = { url: `ws://127.0.0.1:${(wss.address() as { port: number }).port}/ws`, connections: 0, wss }
  wss.on('connection', (ws, req) => {
    state.connections++
    ws.on('error', () => {})
    script(ws, state.connections, req)
  })
  t.teardown(() => new Promise<void>(resolve => {
    for (const c of wss.clients) c.terminate()
    wss.close(() => resolve())
  }))
  return state
}

let ids = 0
/** Send `__connect__` as a server would (heartbeat 0: no liveness deadline unless given). */
export function sendConnect (ws: WebSocket, extra: Record<string, unknown> = {}): string {
  const id = `00000000-0000-4000-8000-${String(++ids).padStart(12, '0')}`
  ws.send(JSON.stringify({ event: '__connect__', payload: { connection_id: id, namespace: '/', heartbeat_interval: 0, session_expires_at: null, contract: 'c0', ...extra } }))
  return id
}
