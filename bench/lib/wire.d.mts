export declare const PEERS: readonly ['raw', 'socketio', 'socketspec']
export type Peer = 'raw' | 'socketio' | 'socketspec'
export declare function clientFrame (text: string): Buffer
export declare function numberAfter (buf: Buffer, mark: Buffer): number
export declare function echoSeq (buf: Buffer): number
export declare function bcastSeq (buf: Buffer): number
export declare function isJoined (buf: Buffer): boolean
/** Send a join frame on `conn`; `onJoined()` once it is acknowledged (other frames go to conn.other). */
export declare function sendJoin (conn: Conn, frame: Buffer, onJoined: () => void): void
export declare function padded (seq: number, bytes: number): string
export interface Conn {
  errors: number
  lastError: string | null
  onMessage: ((buf: Buffer) => void) | null
  send (frame: Buffer): boolean
  other (buf: Buffer): void
  close (): void
  terminate (): void
}
export declare function connect (peer: Peer, port: number, options?: { token?: string | null, timeoutMs?: number }): Promise<Conn>
