import { randomUUID } from 'node:crypto'
import { createRequire } from 'node:module'
import type { Cluster, Redis, ChainableCommander, ClusterOptions, RedisOptions } from 'ioredis'
import type { FastifyBaseLogger } from 'fastify'
import type { BackendAdapter, BackendAdmin, BackendContext, BackendPublisher, BackendStats } from './types.js'
import { RedisAdmin } from './redis-admin.js'
import { waitReady, withTimeout } from './redis-wait.js'
import { FST_SOCKETSPEC_INVALID_OPTION } from '../errors.js'
import type { HistoryLimits } from '../history.js'
import {
  RecoverySettings, RedisHistory, defineEmitterCommands, defineHistoryCommands, emitRoom, keySlot, namespaceBase, pubSub, roomHead, roomKey, shardedScript,
  type EmitterClient, type HistoryClient, type HistoryHost, type PubSub
} from './redis-history.js'

/**
 * ioredis, loaded when the first connection is made: an app without
 * redisBackend (or before its start) does not pay for loading it (~180 ms of
 * CPU at start-up here). It is CommonJS, so a require keeps the call sites
 * synchronous.
 */
let ioredis: typeof import('ioredis') | undefined
const loadIoredis = (): typeof import('ioredis') => (ioredis ??= createRequire(import.meta.url)('ioredis') as typeof import('ioredis'))

/** Options of `redisBackend()`. */
export interface RedisBackendOptions {
  /** Redis URL. Default `'redis://127.0.0.1:6379'`. Ignored when `client` is given. Not with `cluster`. */
  url?: string
  /**
   * The startup nodes of a Redis Cluster (Redis ≥ 7): with it the adapter runs
   * on ioredis' `Cluster` client with sharded pub/sub (SSUBSCRIBE/SPUBLISH): a
   * room's channel, offsets and history share the room's hash slot
   * (`{room:<name>}`), the namespace's membership index, presence, channels and
   * sessions the namespace's (`{ns:<namespace>}`). Exclusive with `url` and `client`.
   *
   * @example
   * redisBackend({ cluster: [{ host: '10.0.0.1', port: 6379 }, { host: '10.0.0.2', port: 6379 }] })
   */
  cluster?: Array<{ host: string, port: number }>
  /**
   * Extra ioredis `ClusterOptions` applied last (with `cluster` only). Per-node
   * settings go in its `redisOptions`, applied over the adapter's.
   */
  clusterOptions?: ClusterOptions
  /**
   * An ioredis client used as a template: the adapter opens its own two
   * connections with `client.duplicate(...)` (commands and pub/sub, with the
   * adapter's safety settings) and never sends on nor closes this one.
   */
  client?: Redis
  /** Prefix of every key and channel. Default `'socketspec:'`. */
  keyPrefix?: string
  /**
   * Milliseconds a Redis command may take before it fails. Default 2000. It
   * also bounds how long Redis may stay silent while commands wait for it:
   * after that the connection is deemed stalled (a frozen or overloaded
   * Redis), it is dropped with everything queued on it and reconnected, and
   * meanwhile every call fails fast instead of waiting.
   */
  commandTimeout?: number
  /** Upper bound of the delay between two reconnection attempts, in milliseconds. Default 500. */
  reconnectMaxDelay?: number
  /** Milliseconds `start` waits for Redis before running degraded (local only) until Redis answers. Default 3000. */
  connectTimeout?: number
  /** Minimum milliseconds between two error log lines; every error is counted in `stats()` anyway. Default 5000. */
  errorLogInterval?: number
  /**
   * Upper bound, in bytes, of the messages published to Redis and not
   * answered yet (what a slow or frozen Redis makes this process hold). A
   * message that would go beyond it is not sent: it is dropped and counted in
   * `stats().dropped` and `stats().errors`; local delivery is not affected.
   * A single message larger than the bound never reaches the other nodes.
   * Default 8 MiB (`8 * 1024 * 1024`).
   *
   * @example
   * redisBackend({ url, maxPendingBytes: 32 * 1024 * 1024 }) // large, bursty broadcasts
   */
  maxPendingBytes?: number
  /** Extra ioredis options applied last (overriding `enableOfflineQueue`, `socketTimeout` or `maxRetriesPerRequest` weakens the memory bound: don't). With `cluster`: the options of each node's connection. */
  redisOptions?: RedisOptions
}

/** The adapter's Lua scripts, registered with `defineCommand` (EVALSHA, reloaded after a Redis restart). */
interface ScriptClient extends Redis {
  socketspecLeave (roomKey: string, roomsKey: string, nodeRoomsKey: string, connectionId: string, room: string, entry: string): Promise<number>
  socketspecToConnection (connsKey: string, connectionId: string, nodeChannelPrefix: string, message: string): Promise<number>
  socketspecPurge (nodesKey: string, nsBase: string, nodeId: string): Promise<number>
  socketspecSweep (nodesKey: string, nsBase: string, selfNodeId: string): Promise<string[]>
}
interface ScriptPipeline extends ChainableCommander {
  socketspecPurge (nodesKey: string, nsBase: string, nodeId: string): ScriptPipeline
}

/**
 * This node's subscription to one room's channel: held while the room has
 * local members (the adapter is told of every local join and leave).
 */
interface RoomSub {
  room: string
  channel: string
  /** Local connection ids in the room. */
  ids: Set<string>
  /** Settles once the SUBSCRIBE sent for it is answered or failed (never rejects). */
  ready: Promise<void>
  /** True once Redis confirmed the subscription (false again while the subscriber reconnects). */
  confirmed: boolean
}

/** State of one namespace served by this node. */
interface Space {
  ctx: BackendContext
  /** `${keyPrefix}${namespace}:`: rooms' keys are `${base}{room:<name>}:…` */
  base: string
  /** `${base}{ns:<namespace>}:`: the namespace's shared keys and channels (one hash slot, see `namespaceBase`). */
  nsBase: string
  /** Namespace channel: `emit` to every connection of the namespace. */
  channel: string
  /** This node's channel: `toConnection` to its connections. */
  nodeChannel: string
  /** Hash connection id → node id (where `toConnection` publishes). */
  connsKey: string
  /** Rooms with local members, each with its channel subscription (sharded delivery, SPEC §13). */
  rooms: Map<string, RoomSub>
  nodeId: string
  roomsKey: string
  nodesKey: string
  aliveKey: string
  nodeConnsKey: string
  nodeRoomsKey: string
  ttlMs: number
  timer: NodeJS.Timeout | null
  /** This node's registration in Redis may be stale: rewrite it from the local index at the next tick. */
  dirty: boolean
  /** A SUBSCRIBE of this namespace failed or was lost (a Redis Cluster master died): the next tick subscribes again. */
  resubscribe: boolean
  ticking: boolean
  /** With session recovery: the namespace's room history and sessions in Redis. */
  history: RedisHistory | null
}

// Removes everything node ARGV[2] registered under the namespace's shared-key base ARGV[1]: memberships
// (dropping rooms left empty from the index), presence and liveness. Every key it touches is under
// that base (one hash slot); KEYS[1], the nodes set, only routes the call on a Redis Cluster.
const PURGE_FN = `
local function purge(base, node)
  local nodeConns = base .. 'node:' .. node .. ':conns'
  for _, conn in ipairs(redis.call('SMEMBERS', nodeConns)) do
    if redis.call('HGET', base .. 'conns', conn) == node then redis.call('HDEL', base .. 'conns', conn) end
  end
  local nodeRooms = base .. 'node:' .. node .. ':rooms'
  local entries = redis.call('SMEMBERS', nodeRooms)
  for _, entry in ipairs(entries) do
    local sep = string.find(entry, '\\n', 1, true)
    if sep then
      local conn = string.sub(entry, 1, sep - 1)
      local room = string.sub(entry, sep + 1)
      local roomKey = base .. 'room:' .. room
      redis.call('SREM', roomKey, conn)
      if redis.call('SCARD', roomKey) == 0 then
        redis.call('SREM', base .. 'rooms', room)
      end
    end
  end
  redis.call('DEL', nodeRooms, nodeConns, base .. 'node:' .. node .. ':alive')
  redis.call('SREM', base .. 'nodes', node)
  return #entries
end
`
const PURGE = PURGE_FN + 'return purge(ARGV[1], ARGV[2])'
// Purges every node of the namespace whose liveness key expired; returns their ids. KEYS[1]: the nodes set.
const SWEEP = PURGE_FN + `
local purged = {}
for _, node in ipairs(redis.call('SMEMBERS', ARGV[1] .. 'nodes')) do
  if node ~= ARGV[2] and redis.call('EXISTS', ARGV[1] .. 'node:' .. node .. ':alive') == 0 then
    purge(ARGV[1], node)
    purged[#purged + 1] = node
  end
end
return purged
`
// KEYS: room set, rooms index, node memberships; ARGV: connection id, room, membership entry.
const LEAVE = `
redis.call('SREM', KEYS[1], ARGV[1])
if redis.call('SCARD', KEYS[1]) == 0 then
  redis.call('SREM', KEYS[2], ARGV[2])
end
return redis.call('SREM', KEYS[3], ARGV[3])
`

// KEYS: connection id → node id hash; ARGV: connection id, node channel prefix, message.
// Publishes to the channel of the node that holds the connection; 0 when no node does.
const TO_CONNECTION = `
local node = redis.call('HGET', KEYS[1], ARGV[1])
if not node then return 0 end
redis.call('PUBLISH', ARGV[2] .. node .. ':bus', ARGV[3])
return 1
`

/** Longest pause between two liveness ticks of a namespace. */
const MAX_TICK_MS = 30_000

const KIND_ROOM = 114 // 'r'
const KIND_ALL = 97 // 'a'
const KIND_CONNECTION = 99 // 'c'
/** A room broadcast recorded by the history script: delivered by every node, the publisher included. */
const KIND_RECORDED = 82 // 'R'

/** Channels per SUBSCRIBE when resubscribing after a reconnect. */
const SUBSCRIBE_BATCH = 1000

/** `#fail` reason of a message dropped because `maxPendingBytes` was reached. */
const OVER_CAP = Symbol('over maxPendingBytes')

/**
 * Redis backend for several nodes (ioredis). Sharded delivery (SPEC §13): one
 * publish per broadcast on the room's own channel, which a node subscribes to
 * only while it has local members in the room (subscribed on the first local
 * join, before the join resolves; unsubscribed on the last local leave), so a
 * node never receives the traffic of rooms it does not serve. Namespace-wide
 * `emit` goes on one namespace channel, `toConnection` to the channel of the
 * node that holds the connection (found and published in one Lua call from a
 * connection → node hash kept with presence). Redis sets
 * for room membership and presence; a per-node liveness key so that the
 * members of a dead node are purged within 2 × heartbeatInterval. While Redis
 * is unreachable, local delivery goes on, commands fail fast (no offline
 * queue, so memory stays bounded), errors are counted and logged at most once
 * per `errorLogInterval`, and when Redis is back the adapter resubscribes and
 * re-registers this node from the plugin's local index. The same holds when
 * Redis is reachable but stops answering (frozen, overloaded): the bytes of
 * publishes waiting for it are capped by `maxPendingBytes` (beyond, messages
 * are dropped and counted), and a connection silent for `commandTimeout`
 * while commands wait is dropped and reconnected, so later calls fail fast.
 *
 * @example
 * await app.register(socketspec, { backend: redisBackend({ url: process.env.REDIS_URL }) })
 */
export function redisBackend (options: RedisBackendOptions = {}): BackendAdapter {
  return new RedisBackend(options)
}

class RedisBackend implements BackendAdapter {
  readonly name = 'redis'
  readonly #options: Required<Omit<RedisBackendOptions, 'client' | 'redisOptions' | 'cluster' | 'clusterOptions'>> & Pick<RedisBackendOptions, 'client' | 'redisOptions' | 'cluster' | 'clusterOptions'>
  /** PUBLISH/SUBSCRIBE, or SPUBLISH/SSUBSCRIBE on a Redis Cluster. */
  readonly #pubsub: PubSub
  #cmd: ScriptClient | null = null
  #sub: Redis | null = null
  readonly #spaces = new Map<string, Space>()
  /** Every channel this node subscribes to (namespace, node and room channels) → its namespace. */
  readonly #byChannel = new Map<string, Space>()
  /** A room SUBSCRIBE went unanswered for commandTimeout: joins stop waiting for theirs until the subscriber answers again. */
  #subStalled = false
  /** Room histories made by `history()`, by namespace (before `start`). */
  readonly #histories = new Map<string, RedisHistory>()
  /** What the histories use of this adapter. */
  readonly #historyHost: HistoryHost = {
    client: () => this.#cmd !== null && this.#cmd.status === 'ready' ? this.#cmd as unknown as HistoryClient : null,
    subscribed: (namespace, room) => this.#sub !== null && this.#sub.status === 'ready' && this.#spaces.get(namespace)?.rooms.get(room)?.confirmed === true,
    space: (namespace) => this.#spaces.get(namespace) ?? null,
    fail: (op, err) => this.#fail(op, err)
  }

  #log: FastifyBaseLogger | null = null
  #everReady = false
  #lost = false
  #lastLog = 0
  #suppressed = 0
  /** Bytes of the publishes sent to Redis and not settled yet. */
  #pendingBytes = 0
  readonly #stats = { errors: 0, published: 0, received: 0, foreign: 0, resyncs: 0, purgedNodes: 0, dropped: 0, pendingBytesPeak: 0 }

  constructor (options: RedisBackendOptions) {
    const opts = {
      url: 'redis://127.0.0.1:6379',
      keyPrefix: 'socketspec:',
      commandTimeout: 2000,
      reconnectMaxDelay: 500,
      connectTimeout: 3000,
      errorLogInterval: 5000,
      maxPendingBytes: 8 * 1024 * 1024,
      ...options
    }
    if (typeof opts.keyPrefix !== 'string') throw new FST_SOCKETSPEC_INVALID_OPTION('backend', 'redisBackend keyPrefix must be a string')
    if (typeof opts.url !== 'string') throw new FST_SOCKETSPEC_INVALID_OPTION('backend', 'redisBackend url must be a string')
    if (opts.client !== undefined && typeof opts.client?.duplicate !== 'function') {
      throw new FST_SOCKETSPEC_INVALID_OPTION('backend', 'redisBackend client must be an ioredis client')
    }
    if (opts.cluster !== undefined) {
      if (options.url !== undefined || options.client !== undefined) {
        throw new FST_SOCKETSPEC_INVALID_OPTION('backend', 'redisBackend cluster is exclusive with url and client')
      }
      if (!Array.isArray(opts.cluster) || opts.cluster.length === 0 || !opts.cluster.every(isNode)) {
        throw new FST_SOCKETSPEC_INVALID_OPTION('backend', 'redisBackend cluster must be a non-empty array of { host: string, port: number }')
      }
    }
    if (opts.clusterOptions !== undefined && (opts.cluster === undefined || opts.clusterOptions === null || typeof opts.clusterOptions !== 'object')) {
      throw new FST_SOCKETSPEC_INVALID_OPTION('backend', 'redisBackend clusterOptions must be an object, given with cluster')
    }
    for (const key of ['commandTimeout', 'reconnectMaxDelay', 'connectTimeout', 'errorLogInterval'] as const) {
      if (typeof opts[key] !== 'number' || !(opts[key] >= 0)) throw new FST_SOCKETSPEC_INVALID_OPTION('backend', `redisBackend ${key} must be a non-negative number`)
    }
    if (typeof opts.maxPendingBytes !== 'number' || !(opts.maxPendingBytes > 0)) {
      throw new FST_SOCKETSPEC_INVALID_OPTION('backend', 'redisBackend maxPendingBytes must be a positive number')
    }
    this.#options = opts
    this.#pubsub = pubSub(opts.cluster !== undefined)
  }

  async start (ctx: BackendContext): Promise<void> {
    if (this.#spaces.has(ctx.namespace)) {
      throw new FST_SOCKETSPEC_INVALID_OPTION('backend', `this redisBackend instance already serves namespace '${ctx.namespace}'; create one adapter per plugin registration of a namespace`)
    }
    if (!(ctx.heartbeatInterval > 0)) {
      throw new FST_SOCKETSPEC_INVALID_OPTION('backend', 'redisBackend needs a positive session.heartbeatInterval (it paces the node liveness key)')
    }
    this.#log ??= ctx.log
    const base = `${this.#options.keyPrefix}${ctx.namespace}:`
    const nsBase = namespaceBase(this.#options.keyPrefix, ctx.namespace)
    const nodeBase = `${nsBase}node:${ctx.nodeId}:`
    const hbMs = ctx.heartbeatInterval * 1000
    const space: Space = {
      ctx,
      base,
      nsBase,
      channel: `${nsBase}bus`,
      nodeChannel: `${nodeBase}bus`,
      connsKey: `${nsBase}conns`,
      rooms: new Map(),
      nodeId: ctx.nodeId,
      roomsKey: `${nsBase}rooms`,
      nodesKey: `${nsBase}nodes`,
      aliveKey: `${nodeBase}alive`,
      nodeConnsKey: `${nodeBase}conns`,
      nodeRoomsKey: `${nodeBase}rooms`,
      // Refresh and sweep every hb/4 with a TTL of 1.25 hb: a node that died right
      // after a refresh is expired 1.25 hb later and swept at most hb/4 after that.
      ttlMs: Math.ceil(hbMs * 1.25),
      timer: null,
      dirty: true,
      resubscribe: false,
      ticking: false,
      history: this.#histories.get(ctx.namespace) ?? null
    }
    this.#spaces.set(ctx.namespace, space)
    this.#byChannel.set(space.channel, space)
    this.#byChannel.set(space.nodeChannel, space)
    const [cmd, sub] = this.#connect()

    const ready = await Promise.all([waitReady(cmd, this.#options.connectTimeout), waitReady(sub, this.#options.connectTimeout)])
    if (ready[1]) await withTimeout(this.#subscribe(sub, [space.channel, space.nodeChannel], space), this.#options.connectTimeout)
    if (ready[0]) await this.tick(space)
    if (!ready[0] || !ready[1]) {
      ctx.log.error({ namespace: ctx.namespace }, 'redis backend: Redis is not reachable; running on local delivery until it is')
    }
    // A quarter heartbeat, but at most every 30 s: liveness only needs ticks well inside its TTL, and
    // setInterval turns delays above 2^31-1 ms into a 1 ms loop.
    space.timer = setInterval(tickSpace, Math.min(MAX_TICK_MS, Math.max(25, Math.floor(hbMs / 4))), this, space)
    space.timer.unref()
  }

  async stop (namespace: string): Promise<void> {
    const space = this.#spaces.get(namespace)
    if (space === undefined) return
    if (space.timer !== null) clearInterval(space.timer)
    this.#spaces.delete(namespace)
    const channels = [space.channel, space.nodeChannel]
    for (const entry of space.rooms.values()) channels.push(entry.channel)
    for (const channel of channels) this.#byChannel.delete(channel)
    space.rooms.clear()
    const cmd = this.#cmd
    const sub = this.#sub
    if (cmd !== null && cmd.status === 'ready') {
      try {
        await cmd.socketspecPurge(space.nodesKey, space.nsBase, space.nodeId)
      } catch (err) {
        this.#fail('stop', err)
      }
    }
    if (this.#spaces.size > 0) {
      if (sub !== null && sub.status === 'ready') await this.#pubsub.unsubscribe(sub, channels).catch((err: unknown) => this.#fail('unsubscribe', err))
      return
    }
    this.#cmd = null
    this.#sub = null
    this.#everReady = false
    sub?.disconnect()
    if (cmd !== null) {
      if (cmd.status === 'ready') {
        await withTimeout(cmd.quit().catch(() => {}), this.#options.commandTimeout)
      }
      cmd.disconnect()
    }
  }

  async addConnection (namespace: string, connectionId: string): Promise<void> {
    const space = this.#space(namespace, 'addConnection')
    if (space === null) return
    try {
      await execChecked(this.#cmd!.multi()
        .sadd(space.nodeConnsKey, connectionId)
        .hset(space.connsKey, connectionId, space.nodeId))
    } catch (err) {
      space.dirty = true
      this.#fail('addConnection', err)
    }
  }

  async removeConnection (namespace: string, connectionId: string): Promise<void> {
    const space = this.#space(namespace, 'removeConnection')
    if (space === null) return
    try {
      await execChecked(this.#cmd!.multi()
        .srem(space.nodeConnsKey, connectionId)
        .hdel(space.connsKey, connectionId))
    } catch (err) {
      space.dirty = true
      this.#fail('removeConnection', err)
    }
  }

  /**
   * Register the membership, and on the room's first local member subscribe to
   * its channel: resolves once the subscription is confirmed (no frame published
   * after the join resolves is missed), waiting on Redis at most commandTimeout.
   */
  async join (namespace: string, room: string, connectionId: string): Promise<void> {
    const local = this.#spaces.get(namespace)
    if (local === undefined) return
    const entry = this.#localJoin(local, room, connectionId)
    const space = this.#space(namespace, 'join')
    if (space === null) return
    try {
      await Promise.all([
        execChecked(this.#cmd!.multi()
          .sadd(space.nsBase + 'room:' + room, connectionId)
          .sadd(space.roomsKey, room)
          .sadd(space.nodeRoomsKey, connectionId + '\n' + room)),
        this.#subscribed(space, entry)
      ])
    } catch (err) {
      space.dirty = true
      this.#fail('join', err)
    }
  }

  /** Remove the membership; on the room's last local leave, unsubscribe from its channel. */
  async leave (namespace: string, room: string, connectionId: string): Promise<void> {
    const local = this.#spaces.get(namespace)
    if (local === undefined) return
    this.#localLeave(local, room, connectionId)
    const space = this.#space(namespace, 'leave')
    if (space === null) return
    try {
      await this.#cmd!.socketspecLeave(space.nsBase + 'room:' + room, space.roomsKey, space.nodeRoomsKey, connectionId, room, connectionId + '\n' + room)
    } catch (err) {
      space.dirty = true
      this.#fail('leave', err)
    }
  }

  async members (namespace: string, room: string): Promise<string[]> {
    const space = this.#space(namespace, 'members')
    if (space === null) return []
    try {
      return await this.#cmd!.smembers(space.nsBase + 'room:' + room)
    } catch (err) {
      this.#fail('members', err)
      return []
    }
  }

  async exists (namespace: string, room: string): Promise<boolean> {
    const space = this.#space(namespace, 'exists')
    if (space === null) return false
    try {
      // A room held by a dropped session exists (SPEC §12). The hold is read first: a resume
      // re-joins the room (members) before it releases the hold, so reading members first could
      // miss both, and a broadcast sent during a resume would be refused with ROOM_NOT_FOUND.
      if (space.history !== null && await space.history.holdsRemote(room)) return true
      return await this.#cmd!.exists(space.nsBase + 'room:' + room) === 1
    } catch (err) {
      this.#fail('exists', err)
      return false
    }
  }

  async rooms (namespace: string): Promise<string[]> {
    const space = this.#space(namespace, 'rooms')
    if (space === null) return []
    try {
      const rooms = await this.#cmd!.smembers(space.roomsKey)
      return space.history === null ? rooms : [...new Set([...rooms, ...await space.history.heldRooms()])]
    } catch (err) {
      this.#fail('rooms', err)
      return []
    }
  }

  async connections (namespace: string): Promise<string[]> {
    const space = this.#space(namespace, 'connections')
    if (space === null) return []
    try {
      const nodes = await this.#cmd!.smembers(space.nodesKey)
      if (nodes.length === 0) return []
      return await this.#cmd!.sunion(...nodes.map((node) => `${space.nsBase}node:${node}:conns`))
    } catch (err) {
      this.#fail('connections', err)
      return []
    }
  }

  /** One publish on the room's channel: only the nodes with members in the room receive it. */
  async publishRoom (namespace: string, room: string, frame: string, except?: readonly string[]): Promise<void> {
    const space = this.#space(namespace, 'publish')
    if (space === null) return
    const exceptCsv = except === undefined || except.length === 0 ? '' : except.join(',')
    const message = roomHead('r', space.nodeId, room, exceptCsv) + frame
    await this.#publish(message, async (cmd) => await this.#pubsub.publish(cmd, roomKey(space.base, room, 'bus'), message))
  }

  async publishAll (namespace: string, frame: string): Promise<void> {
    const space = this.#space(namespace, 'publish')
    if (space === null) return
    const message = 'a' + space.nodeId + '\n' + frame
    await this.#publish(message, async (cmd) => await this.#pubsub.publish(cmd, space.channel, message))
  }

  /** Published to the channel of the node that holds the connection (one Lua call); nothing when no node does. */
  async publishConnection (namespace: string, connectionId: string, frame: string): Promise<void> {
    const space = this.#space(namespace, 'publish')
    if (space === null) return
    const message = 'c' + space.nodeId + '\n' + connectionId + '\n' + frame
    await this.#publish(message, async (cmd) => await cmd.socketspecToConnection(space.connsKey, connectionId, space.nsBase + 'node:', message) === 1 ? 1 : -1)
  }

  /**
   * A publish-only handle for a process that runs no WebSocket server
   * (`socketspec/emitter`): its own command connection, no subscription, no
   * presence, no liveness key; node id `emitter:<uuid>`, so every node delivers
   * its frames. Its room broadcasts are recorded (offsets, history) when the
   * namespace's recovery settings are in Redis (the nodes write them).
   */
  publisher (namespace: string): BackendPublisher {
    if (typeof namespace !== 'string' || namespace.length === 0) throw new FST_SOCKETSPEC_INVALID_OPTION('namespace', 'must be a non-empty string')
    const opts = this.#options
    const cmd = this.#newClient() as unknown as EmitterClient & ScriptClient
    const sharded = this.#pubsub.sharded
    cmd.defineCommand('socketspecToConnection', { numberOfKeys: 1, lua: shardedScript(TO_CONNECTION, sharded) })
    defineEmitterCommands(cmd, sharded)
    return new RedisPublisher(cmd, this.#pubsub, `${opts.keyPrefix}${namespace}:`, namespaceBase(opts.keyPrefix, namespace), opts)
  }

  stats (): BackendStats {
    let subscriptions = 0
    for (const space of this.#spaces.values()) subscriptions += space.rooms.size
    const stats: BackendStats = { ...this.#stats, subscriptions, pendingBytes: this.#pendingBytes, connected: this.#cmd?.status === 'ready' && this.#sub?.status === 'ready' ? 1 : 0 }
    if (this.#histories.size > 0) {
      stats.recorded = stats.unrecorded = stats.epochResets = stats.regressions = 0
      for (const h of this.#histories.values()) {
        stats.recorded += h.stats.recorded
        stats.unrecorded += h.stats.unrecorded
        stats.epochResets += h.stats.epochResets
        stats.regressions += h.stats.regressions
      }
    }
    return stats
  }

  /**
   * Session recovery's room history for `namespace` (SPEC §12), kept in Redis:
   * offsets, epochs and the last `historySize` broadcasts of each room, and the
   * sessions of dropped connections, shared by every node.
   */
  history (namespace: string, limits: HistoryLimits): RedisHistory {
    let history = this.#histories.get(namespace)
    if (history === undefined) {
      history = new RedisHistory(this.#historyHost, namespace, limits)
      this.#histories.set(namespace, history)
    }
    return history
  }

  /** One heartbeat of a namespace: refresh liveness, re-register if needed, purge dead nodes. */
  async tick (space: Space): Promise<void> {
    const cmd = this.#cmd
    if (space.ticking || cmd === null || cmd.status !== 'ready' || !this.#spaces.has(space.ctx.namespace)) return
    space.ticking = true
    try {
      // a SUBSCRIBE that failed or was lost with a master: the namespace's channels and the rooms not confirmed
      // (first: a resync below waits for them)
      const sub = this.#sub
      if (space.resubscribe && !this.#subStalled && sub !== null && sub.status === 'ready') {
        this.#subscribeSpace(sub, space, [...space.rooms.values()].filter((e) => !e.confirmed))
      }
      if (space.dirty) {
        await this.#resync(space)
      } else {
        const results = await execChecked(cmd.multi()
          .set(space.aliveKey, '1', 'PX', space.ttlMs)
          .sadd(space.nodesKey, space.nodeId))
        if (results[1] === 1) {
          // Another node swept us (our liveness key expired: Redis restarted or this process stalled).
          space.ctx.log.warn({ namespace: space.ctx.namespace }, 'redis backend: this node had been purged; re-registering it')
          await this.#resync(space)
        }
      }
      const purged = await cmd.socketspecSweep(space.nodesKey, space.nsBase, space.nodeId)
      if (purged.length > 0) {
        this.#stats.purgedNodes += purged.length
        space.ctx.log.info({ namespace: space.ctx.namespace, nodes: purged }, 'redis backend: purged the members of dead nodes')
      }
      // rooms whose broadcasts Redis did not record (a Redis Cluster failover does not reconnect the client)
      space.history?.onReconnect()
    } catch (err) {
      this.#fail('heartbeat', err)
    } finally {
      space.ticking = false
    }
  }

  /**
   * Rewrite this node's presence and memberships from the local index,
   * atomically. Once its rooms are subscribed again: another node that finds
   * a membership publishes to the room's channel at once, so a membership
   * written before this node listens again would lose those frames.
   */
  async #resync (space: Space): Promise<void> {
    // A tick still running when the namespace stopped must not register it again.
    if (this.#spaces.get(space.ctx.namespace) !== space) return
    await this.#roomsSubscribed(space)
    if (this.#spaces.get(space.ctx.namespace) !== space) return
    space.dirty = false
    const multi = this.#cmd!.multi() as ScriptPipeline
    multi.socketspecPurge(space.nodesKey, space.nsBase, space.nodeId)
      .set(space.aliveKey, '1', 'PX', space.ttlMs)
      .sadd(space.nodesKey, space.nodeId)
    const conns = [...space.ctx.localConnections()]
    if (conns.length > 0) {
      multi.sadd(space.nodeConnsKey, ...conns)
      const pairs: string[] = []
      for (const id of conns) pairs.push(id, space.nodeId)
      multi.hset(space.connsKey, ...pairs)
    }
    // the namespace's recovery settings, for other writers of its history (an emitter)
    if (space.history !== null) multi.hset(space.nsBase + 'recovery', 'ttl', space.history.limits.ttl, 'historySize', space.history.limits.historySize)
    for (const [room, ids] of space.ctx.localMemberships()) {
      const list = [...ids]
      if (list.length === 0) continue
      multi.sadd(space.nsBase + 'room:' + room, ...list)
        .sadd(space.roomsKey, room)
        .sadd(space.nodeRoomsKey, ...list.map((id) => id + '\n' + room))
    }
    try {
      await execChecked(multi)
      this.#stats.resyncs++
    } catch (err) {
      space.dirty = true
      throw err
    }
  }

  /**
   * Resolves once every room of `space` with local members is subscribed
   * (the subscriber reconnects on its own, maybe after the command
   * connection), waiting at most commandTimeout, and not at all while
   * Redis is known not to answer subscriptions.
   */
  async #roomsSubscribed (space: Space): Promise<void> {
    const deadline = Date.now() + this.#options.commandTimeout
    for (;;) {
      const pending = [...space.rooms.values()].filter((e) => !e.confirmed)
      if (pending.length === 0 || this.#subStalled || Date.now() >= deadline || this.#spaces.get(space.ctx.namespace) !== space) return
      const sub = this.#sub
      const tick = new Promise<void>((resolve) => setTimeout(resolve, 20).unref())
      await (sub !== null && sub.status === 'ready' ? Promise.race([Promise.all(pending.map((e) => e.ready)), tick]) : tick)
    }
  }

  /** Send `message` with `send`, within `maxPendingBytes`; errors are counted, never thrown. */
  async #publish (message: string, send: (cmd: ScriptClient) => Promise<number>): Promise<void> {
    const bytes = Buffer.byteLength(message)
    if (this.#pendingBytes + bytes > this.#options.maxPendingBytes) {
      this.#stats.dropped++
      this.#fail('publish', OVER_CAP)
      return
    }
    // Held until Redis answers: by ioredis' command queue and the socket's write buffer.
    this.#pendingBytes += bytes
    if (this.#pendingBytes > this.#stats.pendingBytesPeak) this.#stats.pendingBytesPeak = this.#pendingBytes
    try {
      // -1: toConnection to a connection no node holds, nothing was published
      if (await send(this.#cmd!) !== -1) this.#stats.published++
    } catch (err) {
      this.#fail('publish', err)
    } finally {
      this.#pendingBytes -= bytes
    }
  }

  /** The namespace's state when Redis is usable now; otherwise counts the failure and returns null. */
  #space (namespace: string, op: string): Space | null {
    const space = this.#spaces.get(namespace)
    if (space === undefined) return null
    if (this.#cmd === null || this.#cmd.status !== 'ready') {
      // Failing fast instead of queueing keeps memory bounded during an outage.
      if (op === 'publish') this.#stats.dropped++
      else if (op !== 'members' && op !== 'exists' && op !== 'rooms' && op !== 'connections') space.dirty = true
      this.#fail(op, null)
      return null
    }
    return space
  }

  /** The room's local subscription, created (and SUBSCRIBE sent) on its first local member. */
  #localJoin (space: Space, room: string, connectionId: string): RoomSub {
    let entry = space.rooms.get(room)
    if (entry !== undefined) {
      entry.ids.add(connectionId)
      return entry
    }
    const channel = roomKey(space.base, room, 'bus')
    entry = { room, channel, ids: new Set([connectionId]), ready: Promise.resolve(), confirmed: false }
    space.rooms.set(room, entry)
    this.#byChannel.set(channel, space)
    const sub = this.#sub
    // Not connected: the subscriber subscribes every room with local members once it is ready.
    if (sub !== null && sub.status === 'ready') entry.ready = this.#subscribeRooms(sub, space, [entry])
    return entry
  }

  /** The room's last local member left: unsubscribe (frames still on their way are counted in `foreign`). */
  #localLeave (space: Space, room: string, connectionId: string): void {
    const entry = space.rooms.get(room)
    if (entry === undefined || !entry.ids.delete(connectionId) || entry.ids.size > 0) return
    space.rooms.delete(room)
    this.#byChannel.delete(entry.channel)
    const sub = this.#sub
    if (sub !== null && sub.status === 'ready') this.#pubsub.unsubscribe(sub, [entry.channel]).catch((err: unknown) => this.#fail('unsubscribe', err))
  }

  /** Wait (at most commandTimeout) for the room's subscription to be confirmed, unless Redis is known not to answer now. */
  async #subscribed (space: Space, entry: RoomSub): Promise<void> {
    if (entry.confirmed || this.#subStalled || this.#sub === null || this.#sub.status !== 'ready') return
    const timeout = this.#options.commandTimeout
    await (timeout > 0 ? withTimeout(entry.ready, timeout) : entry.ready)
    if (!entry.confirmed && space.rooms.get(entry.room) === entry && this.#sub?.status === 'ready') {
      // unanswered: a frozen or overloaded Redis; later joins go ahead without waiting until it answers again
      this.#subStalled = true
      this.#fail('subscribe', new Error(`SUBSCRIBE to room '${entry.room}' unanswered after ${timeout} ms`))
    }
  }

  /** SUBSCRIBE to the rooms' channels on `sub` (in batches); each confirmed room is marked so. Never rejects. */
  async #subscribeRooms (sub: Redis, space: Space, entries: RoomSub[]): Promise<void> {
    for (let i = 0; i < entries.length; i += SUBSCRIBE_BATCH) {
      const batch = entries.slice(i, i + SUBSCRIBE_BATCH)
      try {
        await this.#pubsub.subscribe(sub, batch.map((e) => e.channel))
      } catch (err) {
        space.resubscribe = true
        this.#fail('subscribe', err)
        return
      }
      if (this.#sub !== sub || sub.status !== 'ready') return
      this.#subStalled = false
      for (const entry of batch) if (space.rooms.get(entry.room) === entry) entry.confirmed = true
    }
  }

  /**
   * The subscriber is (again) connected: subscribe the namespace and node
   * channels and the channel of every room with local members (the plugin's
   * local index, merged into what join/leave told this adapter).
   */
  #resubscribe (sub: Redis): void {
    this.#subStalled = false
    for (const space of this.#spaces.values()) {
      for (const [room, ids] of space.ctx.localMemberships()) {
        for (const id of ids) {
          const entry = space.rooms.get(room)
          if (entry === undefined) {
            const channel = roomKey(space.base, room, 'bus')
            space.rooms.set(room, { room, channel, ids: new Set([id]), ready: Promise.resolve(), confirmed: false })
            this.#byChannel.set(channel, space)
          } else {
            entry.ids.add(id)
          }
        }
      }
      this.#subscribeSpace(sub, space, [...space.rooms.values()])
    }
  }

  /** Subscribe the namespace and node channels of `space`, then the channels of `entries` (rooms). */
  #subscribeSpace (sub: Redis, space: Space, entries: RoomSub[]): void {
    space.resubscribe = false
    const all = this.#subscribe(sub, [space.channel, space.nodeChannel], space).then(() => this.#subscribeRooms(sub, space, entries))
    for (const entry of entries) entry.ready = all
  }

  #onMessage (channel: string, message: string): void {
    const space = this.#byChannel.get(channel) ?? this.#spaceOfRoomChannel(channel)
    if (space === undefined) return
    try {
      const nl = message.indexOf('\n', 1)
      if (nl === -1) return
      const kind = message.charCodeAt(0)
      const own = nl === space.nodeId.length + 1 && message.startsWith(space.nodeId, 1)
      if (kind === KIND_RECORDED || kind === KIND_ROOM) {
        // 'r' node '\n' room length '\n' room except '\n' frame
        // 'R' node '\n' room length '\n' room except '\n' offset '\n' epoch '\n' frame: every node delivers it, this one included
        const nl2 = message.indexOf('\n', nl + 1)
        const roomEnd = nl2 + 1 + Number(message.slice(nl + 1, nl2))
        const room = message.slice(nl2 + 1, roomEnd)
        const nl3 = message.indexOf('\n', roomEnd)
        const exceptCsv = message.slice(roomEnd, nl3)
        const except = exceptCsv === '' ? undefined : exceptCsv.split(',')
        if (!own) {
          this.#stats.received++
          // a room this node does not serve: a frame still on its way after the last local leave
          if (!space.rooms.has(room)) {
            this.#stats.foreign++
            return
          }
        }
        if (kind === KIND_RECORDED) {
          const nl4 = message.indexOf('\n', nl3 + 1)
          const nl5 = message.indexOf('\n', nl4 + 1)
          if (own && !space.rooms.has(room)) return
          const offset = Number(message.slice(nl3 + 1, nl4))
          const epoch = message.slice(nl4 + 1, nl5)
          space.history?.received(room, offset, epoch)
          space.ctx.deliverRoom(room, message.slice(nl5 + 1), except, offset, epoch)
        } else if (!own) {
          space.ctx.deliverRoom(room, message.slice(nl3 + 1), except)
        }
        return
      }
      if (own) return
      this.#stats.received++
      if (kind === KIND_ALL) {
        space.ctx.deliverAll(message.slice(nl + 1))
      } else if (kind === KIND_CONNECTION) {
        const nl2 = message.indexOf('\n', nl + 1)
        space.ctx.deliverConnection(message.slice(nl + 1, nl2), message.slice(nl2 + 1))
      }
    } catch (err) {
      // A throw here would surface inside ioredis' socket handler and crash the process.
      this.#fail('deliver', err)
    }
  }

  /** The namespace of a room channel this node no longer subscribes to (a message still on its way). */
  #spaceOfRoomChannel (channel: string): Space | undefined {
    for (const space of this.#spaces.values()) if (channel.startsWith(space.base + '{room:')) return space
    return undefined
  }

  /** A command connection with the adapter's safety settings (see #connect). */
  #newClient (): Redis {
    const opts = this.#options
    const base = this.#baseOptions()
    if (opts.cluster !== undefined) return this.#newCluster(base, false)
    return opts.client !== undefined ? opts.client.duplicate(base) : new (loadIoredis().Redis)(opts.url, base)
  }

  /** The adapter's safety settings of a connection to Redis (with `redisOptions` over them). */
  #baseOptions (): RedisOptions {
    const opts = this.#options
    return {
      keyPrefix: '',
      lazyConnect: false,
      enableOfflineQueue: false,
      // A command timeout rejects the caller but leaves the command (and its
      // message) in ioredis' queue and the socket's write buffer until Redis
      // answers: against a frozen Redis that grows without bound. So a
      // connection on which Redis stays silent for commandTimeout while
      // commands wait is destroyed (socketTimeout), and on close ioredis
      // rejects and drops what was queued at once (maxRetriesPerRequest 0).
      // Until the reconnection is ready (a frozen Redis never answers the
      // ready check), every call fails fast in #space().
      socketTimeout: opts.commandTimeout > 0 ? opts.commandTimeout : undefined,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      commandTimeout: opts.commandTimeout,
      connectTimeout: Math.max(1000, opts.commandTimeout),
      retryStrategy: (times: number) => Math.min(times * 50, opts.reconnectMaxDelay),
      ...opts.redisOptions
    }
  }

  /**
   * A Redis Cluster client with the same safety settings on every node
   * connection (`base`), typed as a Redis: the adapter only uses the commands
   * both have. `subscriber`: the sharded pub/sub connections (one per master,
   * opened by ioredis as channels need them, resubscribed after a failover).
   */
  #newCluster (base: RedisOptions, subscriber: boolean): Redis {
    const opts = this.#options
    const { redisOptions, ...clusterOptions } = opts.clusterOptions ?? {}
    // The subscriber's connections stay lazy (ioredis' default; `lazyConnect: false` here would override it).
    // An eager node connection still connecting when the Cluster's ready check (CLUSTER INFO) picks it refuses
    // the check (no offline queue), so ioredis disconnects the Cluster to retry, stopping its sharded
    // subscribers, which eager ones are connecting then; a subscriber stopped mid-connect never settles its
    // start, and ioredis' subscriber group then waits on it for good: no subscriber for any slot again, every
    // SSUBSCRIBE refused (seen under CPU load). Lazy, a subscriber connects on its first SSUBSCRIBE. (The
    // command connections stay eager: a first command queued on a lazy node while the next ones are retried
    // would reorder publishes.)
    const { lazyConnect: _eager, ...lazy } = base
    const cluster = new (loadIoredis().Cluster)(opts.cluster!, {
      enableOfflineQueue: false,
      scaleReads: 'master',
      // a failover takes the replicas' cluster-node-timeout to happen: keep trying the slot meanwhile, within commandTimeout
      retryDelayOnFailover: 100,
      retryDelayOnClusterDown: 100,
      retryDelayOnTryAgain: 100,
      maxRedirections: 16,
      slotsRefreshTimeout: Math.max(1000, opts.commandTimeout),
      clusterRetryStrategy: (times: number) => Math.min(times * 50, opts.reconnectMaxDelay),
      shardedSubscribers: subscriber,
      ...clusterOptions,
      redisOptions: { ...(subscriber ? { ...lazy, commandTimeout: undefined } : base), ...redisOptions, keyPrefix: '' }
    })
    return cluster as unknown as Redis
  }

  #connect (): [ScriptClient, Redis] {
    if (this.#cmd !== null && this.#sub !== null) return [this.#cmd, this.#sub]
    const cmd = this.#newClient() as ScriptClient
    const sharded = this.#pubsub.sharded
    // The subscriber resubscribes itself on 'ready' (below), with its errors handled.
    const sub = this.#duplicateSubscriber(cmd)
    cmd.defineCommand('socketspecLeave', { numberOfKeys: 3, lua: LEAVE })
    cmd.defineCommand('socketspecToConnection', { numberOfKeys: 1, lua: shardedScript(TO_CONNECTION, sharded) })
    cmd.defineCommand('socketspecPurge', { numberOfKeys: 1, lua: PURGE })
    cmd.defineCommand('socketspecSweep', { numberOfKeys: 1, lua: SWEEP })
    defineHistoryCommands(cmd, sharded)

    cmd.on('error', (err: unknown) => this.#fail('connection', err))
    sub.on('error', (err: unknown) => this.#fail('connection', err))
    if (sharded) {
      // Cluster: per-node errors come as 'node error'; a sharded subscriber lost with its master ('-node' with its
      // node key) takes the subscriptions of that master's slots along: ioredis resubscribes them once the new
      // topology is known ('subscribersReady'), and so does this adapter, to know they are confirmed again.
      cmd.on('node error', (err: unknown) => { if (this.#cmd === cmd) this.#fail('connection', err) })
      sub.on('node error', (err: unknown) => { if (this.#sub === sub) this.#fail('connection', err) })
      // (A room whose master changed before this is seen stays marked confirmed until then: its frames from the new
      // master are lost for this node meanwhile, like any publication during the failover.)
      sub.on('-node', (_redis: unknown, nodeKey?: string) => {
        if (this.#sub !== sub || nodeKey === undefined) return
        const slots = (sub as unknown as Cluster).slots
        for (const space of this.#spaces.values()) {
          space.resubscribe = true
          for (const entry of space.rooms.values()) if (slots[keySlot(entry.channel)]?.[0] === nodeKey) entry.confirmed = false
        }
      })
      // SSUBSCRIBE is idempotent: every channel again (ioredis keeps a copy of each in its resubscription list).
      sub.on('subscribersReady', () => {
        if (this.#sub === sub && sub.status === 'ready' && this.#spaces.size > 0) this.#resubscribe(sub)
      })
    }
    cmd.on('close', () => {
      if (this.#everReady && !this.#lost && this.#cmd === cmd) {
        this.#lost = true
        this.#log?.warn('redis backend: connection to Redis lost; delivering locally only until it is back')
      }
    })
    cmd.on('ready', () => {
      if (this.#cmd !== cmd) return
      if (this.#lost) {
        this.#lost = false
        this.#log?.info('redis backend: connection to Redis restored; re-registering this node')
      }
      if (this.#everReady) {
        // first thing once Redis answers again: rooms with unrecorded broadcasts get a new epoch
        for (const space of this.#spaces.values()) space.history?.onReconnect()
        for (const space of this.#spaces.values()) {
          space.dirty = true
          void this.tick(space)
        }
      }
      this.#everReady = true
    })
    sub.on('ready', () => {
      if (this.#sub !== sub || this.#spaces.size === 0) return
      this.#resubscribe(sub)
    })
    // the subscriptions are gone with the connection: a broadcast recorded meanwhile is delivered locally
    sub.on('close', () => {
      if (this.#sub !== sub) return
      for (const space of this.#spaces.values()) for (const entry of space.rooms.values()) entry.confirmed = false
    })
    sub.on(this.#pubsub.messageEvent, (channel: string, message: string) => this.#onMessage(channel, message))
    this.#cmd = cmd
    this.#sub = sub
    return [cmd, sub]
  }

  /** The subscriber connection: a duplicate of `cmd` with the same settings (a Cluster with sharded subscribers on a Redis Cluster). */
  #duplicateSubscriber (cmd: Redis): Redis {
    if (this.#options.cluster === undefined) return cmd.duplicate({ autoResubscribe: false, commandTimeout: undefined })
    return this.#newCluster(this.#baseOptions(), true)
  }

  async #subscribe (sub: Redis, channels: string[], space: Space): Promise<void> {
    try {
      await this.#pubsub.subscribe(sub, channels)
    } catch (err) {
      space.resubscribe = true
      this.#fail('subscribe', err)
    }
  }

  /** Count an error and log it, at most once per `errorLogInterval` (`err` null: Redis unavailable; OVER_CAP: dropped). */
  #fail (op: string, err: unknown): void {
    this.#stats.errors++
    const now = Date.now()
    if (now - this.#lastLog < this.#options.errorLogInterval) {
      this.#suppressed++
      return
    }
    const suppressed = this.#suppressed
    this.#lastLog = now
    this.#suppressed = 0
    const log = this.#log
    if (log === null) return
    if (err === null) {
      log.warn({ op, suppressed }, 'redis backend: Redis unavailable, operation skipped')
    } else if (err === OVER_CAP) {
      log.warn({ op, suppressed, pendingBytes: this.#pendingBytes, maxPendingBytes: this.#options.maxPendingBytes }, 'redis backend: Redis is not keeping up, message dropped (maxPendingBytes reached)')
    } else {
      log.warn({ err, op, suppressed }, 'redis backend: Redis operation failed')
    }
  }

  // ── Admin view (SPEC §14): node snapshots and per-node commands, in lib/backends/redis-admin.ts ──
  #admin: RedisAdmin | null = null
  /** Cross-node support of the admin view (BackendAdmin). */
  get admin (): BackendAdmin {
    return (this.#admin ??= new RedisAdmin({
      keyPrefix: this.#options.keyPrefix,
      pubsub: this.#pubsub,
      client: () => this.#cmd,
      duplicate: () => this.#cmd === null ? null : this.#duplicateSubscriber(this.#cmd),
      fail: (op, err) => this.#fail(op, err)
    }))
  }
}

/**
 * A publish-only handle (`RedisBackend.publisher`): the emitter's connection
 * to Redis. It waits for the first connection up to `connectTimeout`, then
 * fails fast while Redis is unreachable (no offline queue: nothing piles up);
 * what it could not send resolves false and is counted in `stats().errors`.
 */
class RedisPublisher implements BackendPublisher {
  readonly nodeId = `emitter:${randomUUID()}`
  readonly #cmd: EmitterClient & ScriptClient
  readonly #pubsub: PubSub
  readonly #base: string
  readonly #nsBase: string
  readonly #settings = new RecoverySettings()
  readonly #connectTimeout: number
  readonly #maxPendingBytes: number
  #first: Promise<boolean> | null
  #closed = false
  #pendingBytes = 0
  readonly #stats = { errors: 0, published: 0, received: 0, recorded: 0, dropped: 0 }

  constructor (cmd: EmitterClient & ScriptClient, pubsub: PubSub, base: string, nsBase: string, opts: { connectTimeout: number, maxPendingBytes: number }) {
    this.#cmd = cmd
    this.#pubsub = pubsub
    this.#base = base
    this.#nsBase = nsBase
    this.#connectTimeout = opts.connectTimeout
    this.#maxPendingBytes = opts.maxPendingBytes
    cmd.on('error', () => { this.#stats.errors++ })
    if (pubsub.sharded) cmd.on('node error', () => { this.#stats.errors++ })
    this.#first = waitReady(cmd, opts.connectTimeout).finally(() => { this.#first = null })
  }

  async publishRoom (room: string, frame: string): Promise<boolean> {
    return await this.#send(frame, async (cmd) => {
      if (await emitRoom(cmd, this.#pubsub, this.#settings, this.#base, this.#nsBase, this.nodeId, room, frame) > 0) this.#stats.recorded++
      return true
    })
  }

  async publishAll (frame: string): Promise<boolean> {
    const message = 'a' + this.nodeId + '\n' + frame
    return await this.#send(message, async (cmd) => { await this.#pubsub.publish(cmd, this.#nsBase + 'bus', message); return true })
  }

  async publishConnection (connectionId: string, frame: string): Promise<boolean> {
    const message = 'c' + this.nodeId + '\n' + connectionId + '\n' + frame
    return await this.#send(message, async (cmd) => await cmd.socketspecToConnection(this.#nsBase + 'conns', connectionId, this.#nsBase + 'node:', message) === 1)
  }

  async members (room: string): Promise<string[]> {
    if (!await this.#ready()) return []
    try {
      return await this.#cmd.smembers(this.#nsBase + 'room:' + room)
    } catch {
      this.#stats.errors++
      return []
    }
  }

  stats (): BackendStats {
    return { ...this.#stats, pendingBytes: this.#pendingBytes, connected: this.#cmd.status === 'ready' ? 1 : 0 }
  }

  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    if (this.#cmd.status === 'ready') await withTimeout(this.#cmd.quit().catch(() => {}), this.#connectTimeout)
    this.#cmd.disconnect()
  }

  /** True when Redis can take a command now (the first time, after waiting up to connectTimeout for the connection). */
  async #ready (): Promise<boolean> {
    if (this.#closed) return false
    if (this.#first !== null) await this.#first
    if (this.#cmd.status === 'ready') return true
    this.#stats.errors++
    return false
  }

  async #send (message: string, send: (cmd: EmitterClient & ScriptClient) => Promise<boolean>): Promise<boolean> {
    if (!await this.#ready()) return false
    const bytes = Buffer.byteLength(message)
    if (this.#pendingBytes + bytes > this.#maxPendingBytes) {
      this.#stats.dropped++
      this.#stats.errors++
      return false
    }
    this.#pendingBytes += bytes
    try {
      const sent = await send(this.#cmd)
      if (sent) this.#stats.published++
      return sent
    } catch {
      this.#stats.errors++
      return false
    } finally {
      this.#pendingBytes -= bytes
    }
  }
}

function tickSpace (backend: RedisBackend, space: Space): void {
  void backend.tick(space)
}

/** exec() a MULTI/pipeline and throw the first per-command error. */
async function execChecked (pipeline: ChainableCommander): Promise<unknown[]> {
  const results = await pipeline.exec()
  if (results === null) throw new Error('redis transaction aborted')
  const out = new Array<unknown>(results.length)
  for (let i = 0; i < results.length; i++) {
    const [err, value] = results[i]
    if (err !== null) throw err
    out[i] = value
  }
  return out
}

/** `{ host: string, port: number }`: one startup node of a Redis Cluster. */
function isNode (node: unknown): boolean {
  if (node === null || typeof node !== 'object') return false
  const { host, port } = node as { host?: unknown, port?: unknown }
  return typeof host === 'string' && host.length > 0 && Number.isInteger(port) && (port as number) > 0 && (port as number) < 65536
}
