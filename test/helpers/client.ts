import type { Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import { connect, type SocketspecClient, type ClientOptions, type ClientState, type StateInfo } from '../../lib/client/index.js'
import type { AnyContract } from '../../lib/contract.js'

/** A client closed at teardown. */
export function client<C extends AnyContract = AnyContract> (t: Test, url: string, options: ClientOptions = {}): SocketspecClient<C> {
  const c = connect<C>(url, options)
  t.teardown(() => c.close())
  return c
}

/** Every state change of a client, and a way to await the next one of a kind. */
export class StateLog {
  readonly entries: Array<{ state: ClientState, info: StateInfo }> = []
  #waiters: Array<{ state: ClientState, after: number, resolve: (e: { state: ClientState, info: StateInfo }) => void }> = []

  constructor (c: SocketspecClient<any>) {
    c.onState((state, info) => {
      const entry = { state, info }
      this.entries.push(entry)
      const n = this.entries.length
      this.#waiters = this.#waiters.filter(w => {
        if (w.state === state && n > w.after) { w.resolve(entry); return false }
        return true
      })
    })
  }

  get states (): ClientState[] {
    return this.entries.map(e => e.state)
  }

  /** The next `state` entry after the ones seen so far (or after index `after`). */
  next (state: ClientState, timeout = 5000, after = this.entries.length): Promise<{ state: ClientState, info: StateInfo }> {
    const seen = this.entries.slice(after).find(e => e.state === state)
    if (seen !== undefined) return Promise.resolve(seen)
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no '${state}' state within ${timeout} ms (saw ${this.states.join(', ')})`)), timeout)
      this.#waiters.push({ state, after, resolve: (e) => { clearTimeout(timer); resolve(e) } })
    })
  }
}

/** The port an app listens on. */
export function portOf (app: FastifyInstance): number {
  return (app.server.address() as { port: number }).port
}
