/** Opaque handle of a timer set through a Clock. */
export type TimerHandle = unknown

/**
 * Where socketspec reads the time and sets its timers: session timers, the
 * auth timeout and the rate limiters. Production uses `systemClock`; tests
 * inject a fake one and move time forward instead of sleeping.
 */
export interface Clock {
  /** Current time in Unix epoch milliseconds. */
  now (): number
  /** Call `fn` after `ms` milliseconds (at most MAX_TIMEOUT_MS; `Timer` chains longer delays). The timer must not keep the process alive. */
  setTimeout (fn: () => void, ms: number): TimerHandle
  clearTimeout (handle: TimerHandle): void
}

/** Longest delay Node's setTimeout honours; longer ones fire after 1 ms (TimeoutOverflowWarning). */
export const MAX_TIMEOUT_MS = 2 ** 31 - 1

/** Real time, unref'd timers. */
export const systemClock: Clock = {
  now: Date.now,
  setTimeout (fn, ms) {
    const t = setTimeout(fn, ms)
    t.unref()
    return t
  },
  clearTimeout (handle) {
    clearTimeout(handle as NodeJS.Timeout)
  }
}

/**
 * A one-shot timer for any delay: delays above MAX_TIMEOUT_MS (~24.8 days)
 * are chained, never fired early. A negative or NaN delay fires at the next
 * turn of the clock.
 */
export class Timer {
  readonly at: number
  #handle: TimerHandle = null
  #fn: (() => void) | null
  readonly #clock: Clock

  constructor (clock: Clock, delayMs: number, fn: () => void) {
    this.#clock = clock
    this.#fn = fn
    this.at = clock.now() + (delayMs > 0 ? delayMs : 0)
    this.#arm()
  }

  /** True until the timer fired or was cancelled. */
  get pending (): boolean {
    return this.#fn !== null
  }

  cancel (): void {
    if (this.#fn === null) return
    this.#fn = null
    this.#clock.clearTimeout(this.#handle)
    this.#handle = null
  }

  #arm (): void {
    const left = this.at - this.#clock.now()
    this.#handle = left > MAX_TIMEOUT_MS
      ? this.#clock.setTimeout(() => this.#arm(), MAX_TIMEOUT_MS)
      : this.#clock.setTimeout(() => this.#fire(), left > 0 ? left : 0)
  }

  #fire (): void {
    const fn = this.#fn
    if (fn === null) return
    // A clock whose timers run early (coarse fake clocks) must not fire before `at`.
    if (this.#clock.now() < this.at) {
      this.#arm()
      return
    }
    this.#fn = null
    this.#handle = null
    fn()
  }
}
