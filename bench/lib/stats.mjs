// Latency histogram (HDR-like, ~0.2 % relative error, µs resolution below 1 ms)
// and the small statistics the harness reports (median, spread).

const LINEAR = 1024
const SUB = 512
const BUCKETS = LINEAR + 22 * SUB

function bucketOf (us) {
  if (us < LINEAR) return us < 0 ? 0 : us
  const e = 31 - Math.clz32(us)
  const idx = LINEAR + (e - 10) * SUB + ((us >>> (e - 9)) - SUB)
  return idx < BUCKETS ? idx : BUCKETS - 1
}

function valueOf (idx) {
  if (idx < LINEAR) return idx
  const e = 10 + Math.floor((idx - LINEAR) / SUB)
  const sub = SUB + ((idx - LINEAR) % SUB)
  const shift = e - 9
  return (sub << shift) + ((1 << shift) >>> 1)
}

/** A fixed-size latency histogram recording microseconds; recording allocates nothing. */
export class Histogram {
  constructor () {
    this.counts = new Uint32Array(BUCKETS)
    this.total = 0
    this.max = 0
  }

  /** Record one latency given in milliseconds (performance.now() units). */
  recordMs (ms) {
    const us = ms > 2e9 / 1000 ? 2e9 : Math.round(ms * 1000)
    this.counts[bucketOf(us)]++
    this.total++
    if (us > this.max) this.max = us
  }

  /** The p-th percentile (0..100) in milliseconds, or null when empty. */
  percentileMs (p) {
    if (this.total === 0) return null
    const rank = Math.max(1, Math.ceil((p / 100) * this.total))
    let seen = 0
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i]
      if (seen >= rank) return Math.min(valueOf(i), this.max) / 1000
    }
    return this.max / 1000
  }

  /** Forget everything recorded so far (end of warm-up). */
  reset () {
    this.counts.fill(0)
    this.total = 0
    this.max = 0
  }

  /** p50/p90/p99/p999/max in milliseconds and the sample count. */
  summary () {
    return {
      count: this.total,
      p50: this.percentileMs(50),
      p90: this.percentileMs(90),
      p99: this.percentileMs(99),
      p999: this.percentileMs(99.9),
      max: this.total === 0 ? null : this.max / 1000
    }
  }
}

/** Median of the finite numbers in `values`, or null. */
export function median (values) {
  const v = values.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b)
  if (v.length === 0) return null
  const mid = v.length >> 1
  return v.length % 2 === 1 ? v[mid] : (v[mid - 1] + v[mid]) / 2
}

/** Spread of `values` as (max - min) / median, a fraction; null with fewer than 2 values. */
export function spread (values) {
  const v = values.filter((x) => typeof x === 'number' && Number.isFinite(x))
  if (v.length < 2) return null
  const m = median(v)
  if (!m) return null
  return (Math.max(...v) - Math.min(...v)) / Math.abs(m)
}
