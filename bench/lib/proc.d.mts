export declare const hasTaskset: boolean
export declare function hasBinary (name: string): boolean
export declare function killAll (): void
export declare function freePort (): Promise<number>
export interface StartOptions {
  cpu?: number | null
  pin?: boolean
  ipc?: boolean
  env?: Record<string, string>
  nofile?: number
  label?: string
}
export declare class Child {
  pid: number
  stdout: string
  stderr: string
  exitCode: number | string | null
  exited: Promise<number | string | null>
  onOther: ((msg: any) => void) | null
  tail (): string
  waitFor (types: string[], timeoutMs: number): Promise<any>
  request (cmd: string, args?: unknown, timeoutMs?: number): Promise<any>
  send (msg: unknown): void
  stop (graceMs?: number): Promise<void>
}
export declare function start (command: string, args: string[], options?: StartOptions): Child
