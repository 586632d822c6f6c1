import type { Hooks, WindowResult } from './workloads.mjs'
export type SdkPeer = 'socketspec' | 'socketio'
export interface Sdk {
  request (i: number): Promise<{ sum: number }>
  close (): void
}
export declare function openSdk (peer: SdkPeer, port: number, options?: { clientDist?: string | null, timeoutMs?: number }): Promise<Sdk>
export declare function sdkLoop (
  params: { peer: SdkPeer, port: number, concurrency?: number, clientDist?: string | null, warmupMs?: number, windowMs?: number, maxRequests?: number },
  hooks?: Hooks
): Promise<WindowResult & { total: number, mismatches: number, concurrency: number }>
