import type { Hooks } from './workloads.mjs'
export declare const noHooks: Hooks
export declare function sleep (ms: number, stop?: () => boolean): Promise<void>
export declare function waitUntil (cond: () => boolean, timeoutMs: number): Promise<boolean>
