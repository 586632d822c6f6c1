import { createServer, connect, type Server, type Socket } from 'node:net'
import type { Test } from 'tap'

/**
 * A TCP proxy for fault tests: it sits between a client and a server and can
 * cut every connection without a close frame, delay bytes, or silently stop
 * forwarding them (a network that drops packets but keeps the sockets up).
 */
export class FaultProxy {
  readonly #server: Server
  readonly #pairs = new Set<[Socket, Socket]>()
  #delayMs = 0
  #blackhole = false
  /** Connections accepted so far. */
  accepted = 0

  private constructor (server: Server) {
    this.#server = server
  }

  /** Listen on 127.0.0.1 (a free port) and forward to `targetPort`. */
  static async start (t: Test, targetPort: number): Promise<FaultProxy> {
    const server = createServer()
    const proxy = new FaultProxy(server)
    server.on('connection', (client) => proxy.#accept(client, targetPort))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    t.teardown(() => proxy.close())
    return proxy
  }

  get port (): number {
    return (this.#server.address() as { port: number }).port
  }

  /** Open connections. */
  get connections (): number {
    return this.#pairs.size
  }

  /** Delay every chunk, both ways, by `ms`. */
  delay (ms: number): void {
    this.#delayMs = ms
  }

  /** Stop (true) or resume (false) forwarding on every connection, without closing anything. New connections hang too. */
  blackhole (on: boolean): void {
    this.#blackhole = on
  }

  /** Destroy every connection at once: no close frame, no FIN handshake (RST). */
  cut (): void {
    for (const [a, b] of this.#pairs) {
      a.resetAndDestroy()
      b.resetAndDestroy()
    }
    this.#pairs.clear()
  }

  async close (): Promise<void> {
    this.cut()
    await new Promise<void>((resolve) => this.#server.close(() => resolve()))
  }

  #accept (client: Socket, targetPort: number): void {
    this.accepted++
    const upstream = connect(targetPort, '127.0.0.1')
    const pair: [Socket, Socket] = [client, upstream]
    this.#pairs.add(pair)
    const forward = (from: Socket, to: Socket): void => {
      from.on('data', (chunk) => {
        if (this.#blackhole) return
        if (this.#delayMs > 0) setTimeout(() => { if (!to.destroyed) to.write(chunk) }, this.#delayMs)
        else to.write(chunk)
      })
    }
    forward(client, upstream)
    forward(upstream, client)
    const end = (): void => {
      this.#pairs.delete(pair)
      client.destroy()
      upstream.destroy()
    }
    for (const s of pair) {
      s.on('error', end)
      s.on('close', end)
    }
  }
}
