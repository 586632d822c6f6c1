import type { Common, Hooks, WindowResult } from './workloads.mjs'
export declare function closedLoop (params: Common & { port: number, connections?: number, inflight?: number, payloadBytes?: number, maxMessages?: number }, hooks?: Hooks): Promise<WindowResult & { total: number }>
export declare function openLoop (params: Common & { port: number, rate: number, connections?: number, payloadBytes?: number, maxMessages?: number }, hooks?: Hooks): Promise<WindowResult & { total: number, sent: number, overruns: number, offeredRate: number }>
