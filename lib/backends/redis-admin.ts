import type { Redis } from 'ioredis'
import type { BackendAdmin } from './types.js'
import type { PubSub } from './redis-history.js'
import { waitReady } from './redis-wait.js'

/** What the Redis adapter lends its admin support: its command connection (null while stopped) and its error counter. */
export interface RedisAdminHost {
  keyPrefix: string
  /** The adapter's pub/sub commands (sharded on a Redis Cluster: PUBLISH there counts one node's subscribers only). */
  pubsub: PubSub
  /** The adapter's command connection, or null. */
  client (): Redis | null
  /** A new subscriber connection with the adapter's settings, or null while stopped. */
  duplicate (): Redis | null
  /** Count (and rate-limit log) a failed operation, like the adapter's own. */
  fail (op: string, err: unknown): void
}

/** Most nodes whose snapshots are read at once. */
const MAX_NODES = 256

/**
 * The Redis side of the admin view (SPEC §14), kept out of the adapter:
 * each node writes its snapshot to `<prefix><ns>:node:<id>:admin` with a PX
 * expiry and records itself in the `<prefix><ns>:admin:nodes` sorted set
 * (score: when the snapshot expires); readers take the live entries of that
 * set and GET their keys. Commands to a node go on its own channel
 * `<prefix><ns>:admin:cmd:<id>`, through a subscriber connection opened only
 * while the admin view is on: no client frame can reach it. On a Redis
 * Cluster the keys are read and written one command each (they live in
 * different slots) and the command channel is a sharded one.
 */
export class RedisAdmin implements BackendAdmin {
  readonly #host: RedisAdminHost
  #sub: Redis | null = null
  readonly #handlers = new Map<string, (command: string) => void>()

  constructor (host: RedisAdminHost) {
    this.#host = host
  }

  #base (namespace: string): string {
    return `${this.#host.keyPrefix}${namespace}:`
  }

  #ready (op: string): Redis | null {
    const client = this.#host.client()
    if (client === null || client.status !== 'ready') {
      this.#host.fail(op, null)
      return null
    }
    return client
  }

  async publishSnapshot (namespace: string, nodeId: string, snapshot: string, ttlMs: number): Promise<void> {
    const client = this.#ready('adminSnapshot')
    if (client === null) return
    const base = this.#base(namespace)
    try {
      // Two keys in two slots under Redis Cluster: separate commands, no MULTI.
      await Promise.all([
        client.set(`${base}node:${nodeId}:admin`, snapshot, 'PX', ttlMs),
        client.zadd(`${base}admin:nodes`, Date.now() + ttlMs, nodeId)
      ])
    } catch (err) {
      this.#host.fail('adminSnapshot', err)
    }
  }

  async snapshots (namespace: string): Promise<string[]> {
    const client = this.#ready('adminSnapshots')
    if (client === null) return []
    const base = this.#base(namespace)
    const index = `${base}admin:nodes`
    try {
      await client.zremrangebyscore(index, '-inf', Date.now() - 60_000)
      const nodes = await client.zrangebyscore(index, Date.now() - 10_000, '+inf', 'LIMIT', 0, MAX_NODES)
      const values = await Promise.all(nodes.map((node) => client.get(`${base}node:${node}:admin`)))
      return values.filter((v): v is string => typeof v === 'string')
    } catch (err) {
      this.#host.fail('adminSnapshots', err)
      return []
    }
  }

  async listen (namespace: string, nodeId: string, onCommand: (command: string) => void): Promise<void> {
    const channel = `${this.#base(namespace)}admin:cmd:${nodeId}`
    this.#handlers.set(channel, onCommand)
    const sub = this.#subscriber()
    if (sub === null) return
    // Subscribed before start() resolves, so a command sent right after reaches this node.
    if (sub.status !== 'ready' && !await waitReady(sub, 3000)) return
    await this.#subscribe(sub, [channel])
  }

  async unlisten (namespace: string, nodeId: string): Promise<void> {
    const base = this.#base(namespace)
    const channel = `${base}admin:cmd:${nodeId}`
    this.#handlers.delete(channel)
    const sub = this.#sub
    if (sub !== null) {
      if (this.#handlers.size === 0) {
        this.#sub = null
        sub.disconnect()
      } else if (sub.status === 'ready') {
        await this.#host.pubsub.unsubscribe(sub, [channel]).catch((err: unknown) => this.#host.fail('adminUnsubscribe', err))
      }
    }
    const client = this.#host.client()
    if (client === null || client.status !== 'ready') return
    try {
      await Promise.all([client.del(`${base}node:${nodeId}:admin`), client.zrem(`${base}admin:nodes`, nodeId)])
    } catch (err) {
      this.#host.fail('adminUnlisten', err)
    }
  }

  async command (namespace: string, nodeId: string, command: string): Promise<boolean> {
    const client = this.#ready('adminCommand')
    if (client === null) return false
    try {
      return await this.#host.pubsub.publish(client, `${this.#base(namespace)}admin:cmd:${nodeId}`, command) > 0
    } catch (err) {
      this.#host.fail('adminCommand', err)
      return false
    }
  }

  /** The subscriber connection (a duplicate of the adapter's, same safety settings), opened on first use. */
  #subscriber (): Redis | null {
    if (this.#sub !== null) return this.#sub
    const sub = this.#host.duplicate()
    if (sub === null) return null
    // (a subscriber closed by unlisten may still report its shutdown: not an error of the admin view)
    sub.on('error', (err: unknown) => { if (this.#sub === sub) this.#host.fail('adminConnection', err) })
    sub.on('node error', (err: unknown) => { if (this.#sub === sub) this.#host.fail('adminConnection', err) })
    // (Re)subscribe whenever the connection is (again) ready.
    sub.on('ready', () => {
      if (this.#sub === sub && this.#handlers.size > 0) void this.#subscribe(sub, [...this.#handlers.keys()])
    })
    sub.on(this.#host.pubsub.messageEvent, (channel: string, message: string) => {
      const handler = this.#handlers.get(channel)
      if (handler === undefined) return
      try {
        handler(message)
      } catch (err) {
        // a throw here would surface inside ioredis' socket handler
        this.#host.fail('adminCommand', err)
      }
    })
    this.#sub = sub
    return sub
  }

  async #subscribe (sub: Redis, channels: string[]): Promise<void> {
    try {
      await this.#host.pubsub.subscribe(sub, channels)
    } catch (err) {
      this.#host.fail('adminSubscribe', err)
    }
  }
}
