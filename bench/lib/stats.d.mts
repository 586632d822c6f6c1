export interface LatencySummary { count: number, p50: number | null, p90: number | null, p99: number | null, p999: number | null, max: number | null }
export declare class Histogram {
  total: number
  recordMs (ms: number): void
  percentileMs (p: number): number | null
  reset (): void
  summary (): LatencySummary
}
export declare function median (values: unknown[]): number | null
export declare function spread (values: unknown[]): number | null
