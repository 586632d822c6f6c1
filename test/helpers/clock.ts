import { setImmediate as turn } from 'node:timers/promises'
import type { Clock, TimerHandle } from '../../lib/clock.js'
import { kClock } from '../../lib/symbols.js'

interface Pending { at: number, seq: number, fn: () => void }

/**
 * A fake Clock for socketspec's timers and rate limiters: time moves only
 * when the test calls `tick`. Pass it to the plugin with `clockOption(clock)`.
 * Like Node, it refuses delays above 2^31-1 ms (socketspec must chain them).
 */
export class FakeClock implements Clock {
  #now: number
  #seq = 0
  readonly #timers = new Map<number, Pending>()
  /** Largest delay ever requested (to prove long timers are chained). */
  maxDelay = 0

  constructor (start = Date.now()) {
    this.#now = start
  }

  now (): number {
    return this.#now
  }

  setTimeout (fn: () => void, ms: number): TimerHandle {
    if (ms > 2 ** 31 - 1) throw new RangeError(`delay ${ms} ms overflows Node's setTimeout`)
    this.maxDelay = Math.max(this.maxDelay, ms)
    const seq = ++this.#seq
    this.#timers.set(seq, { at: this.#now + Math.max(0, ms), seq, fn })
    return seq
  }

  clearTimeout (handle: TimerHandle): void {
    this.#timers.delete(handle as number)
  }

  /** Timers not yet fired. */
  get pending (): number {
    return this.#timers.size
  }

  /**
   * Move time forward by `ms`, firing due timers in order; between two
   * timers, and at the end, the event loop turns so promises and socket I/O
   * they started can run.
   */
  async tick (ms: number): Promise<void> {
    const end = this.#now + ms
    for (;;) {
      let next: Pending | undefined
      for (const p of this.#timers.values()) {
        if (p.at <= end && (next === undefined || p.at < next.at || (p.at === next.at && p.seq < next.seq))) next = p
      }
      if (next === undefined) break
      this.#timers.delete(next.seq)
      this.#now = Math.max(this.#now, next.at)
      next.fn()
      await turn()
    }
    this.#now = end
    await turn()
  }
}

/** The plugin option that injects `clock` (spread it into the options). */
export function clockOption (clock: Clock): Record<symbol, Clock> {
  return { [kClock]: clock }
}
