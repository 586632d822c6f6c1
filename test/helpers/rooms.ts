import type { FastifyBaseLogger } from 'fastify'
import type { RoomMember } from '../../lib/rooms.js'

/** A connection stand-in for RoomManager tests: records the frames it is sent. */
export class FakeMember implements RoomMember {
  readonly rooms = new Set<string>()
  open = true
  readonly frames: string[] = []
  #read = 0
  #waiter: ((frame: string) => void) | null = null

  constructor (readonly id: string) {}

  send (frame: string): void {
    this.frames.push(frame)
    if (this.#waiter !== null) {
      const waiter = this.#waiter
      this.#waiter = null
      this.#read++
      waiter(frame)
    }
  }

  /** The next frame not read yet, waiting for it up to `ms`. */
  next (ms = 2000): Promise<string> {
    if (this.#read < this.frames.length) return Promise.resolve(this.frames[this.#read++])
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiter = null
        reject(new Error(`${this.id}: no frame within ${ms} ms`))
      }, ms)
      this.#waiter = (frame) => {
        clearTimeout(timer)
        resolve(frame)
      }
    })
  }
}

export type LogEntry = { level: string, obj: unknown, msg?: string }
export type TestLogger = FastifyBaseLogger & { entries: LogEntry[] }

/** A FastifyBaseLogger that records every call. */
export function testLogger (): TestLogger {
  const entries: LogEntry[] = []
  const log: Record<string, unknown> = { level: 'info', entries }
  for (const level of ['fatal', 'error', 'warn', 'info', 'debug', 'trace']) {
    log[level] = (obj: unknown, msg?: string) => {
      entries.push(typeof obj === 'string' ? { level, obj: {}, msg: obj } : { level, obj, msg })
    }
  }
  log.silent = () => {}
  log.child = () => log
  return log as unknown as TestLogger
}

/**
 * Poll `check` every `every` ms until it is true; resolves with the elapsed ms,
 * rejects after `ms`. For state that lives in another process (Redis) and
 * changes on a timer, where there is no event to await.
 */
export async function waitFor (check: () => boolean | Promise<boolean>, ms: number, every = 10): Promise<number> {
  const started = Date.now()
  for (;;) {
    if (await check()) return Date.now() - started
    if (Date.now() - started > ms) throw new Error(`condition not met within ${ms} ms`)
    await new Promise((resolve) => setTimeout(resolve, every))
  }
}
