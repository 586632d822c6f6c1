import type { LatencySummary } from '../lib/stats.mjs'
import type { Common, Hooks, WindowResult } from './workloads.mjs'
export declare function broadcast (params: Common & { ports: number[], senderPort?: number, members?: number, mode?: 'closed' | 'open', inflight?: number, rate?: number, dataBytes?: number, maxBroadcasts?: number }, hooks?: Hooks): Promise<WindowResult & { broadcasts: number, deliveries: number, members: number, stalled: boolean, allDelivered: LatencySummary }>
