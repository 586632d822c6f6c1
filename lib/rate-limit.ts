/**
 * A token bucket: `rate` tokens per second up to `capacity`. One per
 * connection (and one per connection and rate-limited event); refilled
 * lazily on `take`, so an idle bucket costs nothing.
 */
export class TokenBucket {
  private tokens: number
  private last: number
  private readonly perMs: number

  constructor (readonly rate: number, readonly capacity: number, now = Date.now()) {
    this.tokens = capacity
    this.last = now
    this.perMs = rate / 1000
  }

  /** Take one token. Returns 0 when allowed, otherwise the milliseconds until a token is available. */
  take (now: number): number {
    const elapsed = now - this.last
    if (elapsed > 0) {
      this.tokens = Math.min(this.capacity, this.tokens + elapsed * this.perMs)
      this.last = now
    }
    if (this.tokens >= 1) {
      this.tokens -= 1
      return 0
    }
    return Math.max(1, Math.ceil((1 - this.tokens) / this.perMs))
  }
}
