// Child processes of the harness: pinned with taskset, IPC request/response,
// bounded waits, and a registry so every child dies with the harness.
import { spawn, spawnSync } from 'node:child_process'
import { createServer } from 'node:net'

const live = new Set()
let hooked = false

/** Whether `taskset` can pin processes here (checked once). */
export const hasTaskset = (() => {
  try {
    return spawnSync('taskset', ['-c', '0', 'true'], { stdio: 'ignore' }).status === 0
  } catch {
    return false
  }
})()

/** Whether a binary answers `--version` (e.g. redis-server). */
export function hasBinary (name) {
  try {
    return spawnSync(name, ['--version'], { stdio: 'ignore' }).status === 0
  } catch {
    return false
  }
}

/** Kill every child still alive (SIGKILL): used on exit, SIGINT and SIGTERM. */
export function killAll () {
  for (const p of live) {
    try {
      process.kill(p.pid, 'SIGKILL')
    } catch {}
  }
  live.clear()
}

function hookExit () {
  if (hooked) return
  hooked = true
  process.on('exit', killAll)
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(sig, () => {
      killAll()
      process.exit(sig === 'SIGINT' ? 130 : 143)
    })
  }
}

/** A free TCP port on 127.0.0.1. */
export function freePort () {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.unref()
    srv.on('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address()
      srv.close(() => resolve(port))
    })
  })
}

/**
 * Start `command args` pinned to `cpu` (when taskset exists and `pin` is true),
 * optionally raising the open-files limit, with an IPC channel when `ipc`.
 */
export function start (command, args, { cpu = null, pin = true, ipc = true, env = {}, nofile = 0, label = command } = {}) {
  hookExit()
  let argv = [command, ...args]
  if (pin && cpu !== null && hasTaskset) argv = ['taskset', '-c', String(cpu), ...argv]
  if (nofile > 0) {
    argv = ['sh', '-c', `ulimit -n ${nofile} 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$@"`, 'sh', ...argv]
  }
  const child = spawn(argv[0], argv.slice(1), {
    env: { ...process.env, ...env },
    stdio: ipc ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe']
  })
  return new Child(child, label)
}

/** A started child: its output, messages, requests and death. */
export class Child {
  constructor (child, label) {
    this.child = child
    this.label = label
    this.pid = child.pid
    this.stdout = ''
    this.stderr = ''
    this.messages = []
    this.waiters = []
    this.pending = new Map()
    this.nextId = 0
    this.exitCode = null
    this.onOther = null
    live.add(this)
    child.stdout.on('data', (d) => { this.stdout = (this.stdout + d).slice(-20_000) })
    child.stderr.on('data', (d) => { this.stderr = (this.stderr + d).slice(-20_000) })
    child.on('message', (msg) => this.onMessage(msg))
    this.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        live.delete(this)
        this.exitCode = code ?? signal
        for (const w of this.waiters) w.reject(new Error(`${label} exited (${this.exitCode}) ${this.tail()}`))
        this.waiters = []
        for (const p of this.pending.values()) p.reject(new Error(`${label} exited (${this.exitCode}) ${this.tail()}`))
        this.pending.clear()
        resolve(this.exitCode)
      })
    })
    child.on('error', (err) => {
      this.stderr += String(err)
    })
  }

  /** The last lines of stderr, for error messages. */
  tail () {
    return this.stderr.trim().split('\n').slice(-5).join(' | ')
  }

  onMessage (msg) {
    if (msg?.type === 'reply') {
      const p = this.pending.get(msg.id)
      this.pending.delete(msg.id)
      if (p === undefined) return
      if (msg.ok) p.resolve(msg.result)
      else p.reject(new Error(`${this.label}: ${msg.error}`))
      return
    }
    const i = this.waiters.findIndex((w) => w.types.includes(msg?.type))
    if (i === -1) {
      if (this.onOther) this.onOther(msg)
      else this.messages.push(msg)
      return
    }
    const [w] = this.waiters.splice(i, 1)
    w.resolve(msg)
  }

  /** The next message whose type is one of `types`, within `timeoutMs`. */
  waitFor (types, timeoutMs) {
    const queued = this.messages.findIndex((m) => types.includes(m?.type))
    if (queued !== -1) return Promise.resolve(this.messages.splice(queued, 1)[0])
    if (this.exitCode !== null) return Promise.reject(new Error(`${this.label} exited (${this.exitCode}) ${this.tail()}`))
    return new Promise((resolve, reject) => {
      const w = { types, resolve, reject }
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w)
        reject(new Error(`${this.label}: no ${types.join('/')} within ${timeoutMs} ms ${this.tail()}`))
      }, timeoutMs)
      w.resolve = (m) => { clearTimeout(timer); resolve(m) }
      w.reject = (e) => { clearTimeout(timer); reject(e) }
      this.waiters.push(w)
    })
  }

  /** Send a control command (mark, report, memory, exit) and await its reply. */
  request (cmd, args, timeoutMs = 30_000) {
    const id = ++this.nextId
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id)
        reject(new Error(`${this.label}: ${cmd} timed out`))
      }, timeoutMs)
      this.pending.set(id, {
        resolve: (v) => { clearTimeout(timer); resolve(v) },
        reject: (e) => { clearTimeout(timer); reject(e) }
      })
      try {
        this.child.send({ cmd, id, args })
      } catch (err) {
        this.pending.delete(id)
        clearTimeout(timer)
        reject(err)
      }
    })
  }

  /** Send a message without waiting for anything. */
  send (msg) {
    try {
      this.child.send(msg)
    } catch {}
  }

  /** Ask politely (`exit` command or SIGTERM), then SIGKILL after `graceMs`. */
  async stop (graceMs = 2000) {
    if (this.exitCode !== null) return
    if (this.child.connected) this.send({ cmd: 'exit', id: 0 })
    else this.child.kill('SIGTERM')
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs)
    await this.exited
    clearTimeout(timer)
  }
}
