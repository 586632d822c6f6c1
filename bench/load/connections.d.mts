import type { Common, Hooks, WindowResult } from './workloads.mjs'
export declare function idle (params: Common & { port: number, connections?: number, concurrency?: number }, hooks?: Hooks): Promise<{ connections: number, connectMs: number, rate: number, server: any, errors: number, lastError: string | null }>
export declare function storm (params: Common & { port: number, concurrency?: number, maxHandshakes?: number }, hooks?: Hooks): Promise<WindowResult & { total: number, failures: number }>
