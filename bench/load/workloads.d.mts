// Shared result and hook types of the workloads (echo.mjs, broadcast.mjs, connections.mjs).
import type { LatencySummary } from '../lib/stats.mjs'
import type { Peer } from '../lib/wire.mjs'

export interface Hooks {
  windowStart: () => Promise<unknown>
  windowEnd: () => Promise<unknown>
  loaded: () => Promise<unknown>
}
export interface WindowResult {
  count: number
  elapsedMs: number
  rate: number
  latency: LatencySummary
  clientCpuPct: number
  clientUserUs: number
  clientSystemUs: number
  server: any
  errors: number
  lastError: string | null
  lost: number
  unmatched?: number
  total?: number
}
export interface Common { peer: Peer, tokens?: string[] | null, warmupMs?: number, windowMs?: number }
