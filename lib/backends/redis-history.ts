import { randomBytes } from 'node:crypto'
import type { Redis } from 'ioredis'
import type { BackendContext } from './types.js'
import { positionedFrame, type HistoryLimits, type ResumableSession, type RoomPosition, type SharedHistory } from '../history.js'

/**
 * Key (or channel: `'bus'`) of one room under a namespace's base. Every key of
 * a room goes through here, with the room inside `{…}`, so that Redis Cluster
 * keeps a room's keys in one slot (hash tag) and can publish its traffic in
 * that slot (sharded pub/sub).
 */
export function roomKey (base: string, room: string, kind: 'offs' | 'hist' | 'held' | 'bus'): string {
  return `${base}{room:${room}}:${kind}`
}

/**
 * Base of a namespace's shared keys and channels (`<prefix><ns>:{ns:<ns>}:`):
 * the membership index (members of each room, rooms, nodes, presence,
 * connection → node), the namespace and node channels, the recovery settings
 * and the sessions share the namespace's hash tag, so the scripts and
 * transactions over them stay in one slot under Redis Cluster.
 */
export function namespaceBase (keyPrefix: string, namespace: string): string {
  return `${keyPrefix}${namespace}:{ns:${namespace}}:`
}

/**
 * Pub/sub of the adapter: PUBLISH/SUBSCRIBE on a single Redis (any version),
 * SPUBLISH/SSUBSCRIBE on a Redis Cluster (sharded pub/sub, Redis ≥ 7: a
 * channel lives in its slot's shard, like a key).
 */
export interface PubSub {
  readonly sharded: boolean
  /** The event a subscriber connection emits per message: `(channel, message)`. */
  readonly messageEvent: 'message' | 'smessage'
  publish (client: Redis, channel: string, message: string): Promise<number>
  /** Subscribe `channels` (one command per channel when sharded: a command may not span slots). */
  subscribe (sub: Redis, channels: string[]): Promise<void>
  unsubscribe (sub: Redis, channels: string[]): Promise<void>
}

const PLAIN_PUBSUB: PubSub = {
  sharded: false,
  messageEvent: 'message',
  publish: async (client, channel, message) => await client.publish(channel, message),
  subscribe: async (sub, channels) => { await sub.subscribe(...channels) },
  unsubscribe: async (sub, channels) => { await sub.unsubscribe(...channels) }
}
const SHARDED_PUBSUB: PubSub = {
  sharded: true,
  messageEvent: 'smessage',
  publish: async (client, channel, message) => await client.spublish(channel, message) as number,
  subscribe: async (sub, channels) => { await Promise.all(channels.map(async (c) => await sub.ssubscribe(c))) },
  unsubscribe: async (sub, channels) => { await Promise.all(channels.map(async (c) => await sub.sunsubscribe(c))) }
}

/** The pub/sub commands for a single Redis (false) or a Redis Cluster (true). */
export function pubSub (sharded: boolean): PubSub {
  return sharded ? SHARDED_PUBSUB : PLAIN_PUBSUB
}

/** The Redis Cluster hash slot of a key or shard channel (CRC16/XMODEM of its hash tag, or of the whole name, mod 16384). */
export function keySlot (key: string): number {
  const bytes = Buffer.from(key)
  let start = 0
  let end = bytes.length
  const open = bytes.indexOf(0x7b) // '{'
  if (open !== -1) {
    const close = bytes.indexOf(0x7d, open + 1) // '}'
    if (close > open + 1) {
      start = open + 1
      end = close
    }
  }
  let crc = 0
  for (let i = start; i < end; i++) {
    crc ^= bytes[i] << 8
    for (let bit = 0; bit < 8; bit++) crc = (crc & 0x8000) !== 0 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff
  }
  return crc % 16384
}

/** A script's text with its PUBLISH calls made SPUBLISH (Redis Cluster: the channel must be in the script's slot). */
export function shardedScript (lua: string, sharded: boolean): string {
  return sharded ? lua.replaceAll("redis.call('PUBLISH'", "redis.call('SPUBLISH'") : lua
}

/** Head of a room message published on the room's channel: `r`/`R`, publisher, room length, room, except list, '\n' (the frame, or offset, epoch and frame, follow). */
export function roomHead (kind: 'r' | 'R', nodeId: string, room: string, exceptCsv = ''): string {
  return kind + nodeId + '\n' + room.length + '\n' + room + exceptCsv + '\n'
}

/** What the history needs from the Redis backend that owns it. */
export interface HistoryHost {
  /** The command connection when Redis is usable now, else null. */
  client (): HistoryClient | null
  /** True while this node's subscription to the room's channel is confirmed (it receives its own publications to the room). */
  subscribed (namespace: string, room: string): boolean
  /** The namespace's base, shared-key base (`namespaceBase`), node id and context once it started, else null. */
  space (namespace: string): { base: string, nsBase: string, nodeId: string, ctx: BackendContext } | null
  /** Count and (rate-limited) log a failure. */
  fail (op: string, err: unknown): void
}

/** The command connection with the history's scripts (see `defineHistoryCommands`). */
export interface HistoryClient extends Redis {
  /** Resolves `[offset, epoch, regressed]`: regressed is 1 when the epoch was changed because the room's offset was below `seenOffset`. */
  socketspecRecord (offs: string, hist: string, channel: string, head: string, frame: string, roomJson: string, historySize: number, ttlMs: number, epoch: string, reset: string, seenEpoch: string, seenOffset: number): Promise<[number, string, number]>
  socketspecPosition (offs: string, hist: string, epoch: string, ttlMs: number): Promise<[number, string]>
  socketspecSince (offs: string, hist: string, epoch: string, from: number, historySize: number): Promise<string[] | null>
  socketspecReset (offs: string, hist: string, epoch: string, ttlMs: number): Promise<number>
  /** One room of a stored session: resolves `[offset, epoch, expires]`. */
  socketspecHold (offs: string, hist: string, held: string, ttlMs: number, token: string, epoch: string): Promise<[number, string, number]>
}

/** A publish-only connection (an emitter's): the room script of the nodes' (see `defineEmitterCommands`). */
export interface EmitterClient extends Redis {
  socketspecRecord: HistoryClient['socketspecRecord']
}

// A new epoch (ARGV epoch) when the room has none (never used, expired, evicted, Redis restarted empty) or when asked (reset).
const ENSURE = `
local function ensure(offs, hist, epoch, reset)
  local current = redis.call('HGET', offs, 'epoch')
  if current and not reset then return current end
  redis.call('DEL', hist)
  redis.call('HSET', offs, 'epoch', epoch, 'offset', 0)
  return epoch
end
`
// KEYS offs, hist; ARGV channel, message head, frame, room as JSON, historySize, ttl ms, new epoch, reset ('1'),
// the epoch and offset the caller last saw ('' and 0: none). Offset, history, expiry and publication in one step:
// the frame carries its position at the top level. When the room's offset is below what the caller saw in the
// same epoch, writes were lost (a Redis Cluster replica promoted before it had them): a new epoch, so that no
// resume across the loss says recovered.
const RECORD = ENSURE + `
local offs, hist = KEYS[1], KEYS[2]
local reset = ARGV[8] == '1'
local regressed = 0
if not reset and ARGV[9] ~= '' then
  local h = redis.call('HMGET', offs, 'epoch', 'offset')
  if h[1] == ARGV[9] and (tonumber(h[2]) or 0) < tonumber(ARGV[10]) then
    reset = true
    regressed = 1
  end
end
local epoch = ensure(offs, hist, ARGV[7], reset)
local offset = redis.call('HINCRBY', offs, 'offset', 1)
local positioned = string.sub(ARGV[3], 1, -2) .. ',"room":' .. ARGV[4] .. ',"offset":' .. offset .. ',"epoch":"' .. epoch .. '"}'
redis.call('RPUSH', hist, positioned)
redis.call('LTRIM', hist, -tonumber(ARGV[5]), -1)
redis.call('PEXPIRE', offs, ARGV[6])
redis.call('PEXPIRE', hist, ARGV[6])
redis.call('PUBLISH', ARGV[1], ARGV[2] .. offset .. '\\n' .. epoch .. '\\n' .. positioned)
return {offset, epoch, regressed}
`
// KEYS offs, hist; ARGV new epoch, ttl ms. A join is activity: the history lives ttl from now.
const POSITION = ENSURE + `
local epoch = ensure(KEYS[1], KEYS[2], ARGV[1], false)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
if redis.call('PTTL', KEYS[2]) >= 0 then redis.call('PEXPIRE', KEYS[2], ARGV[2]) end
return {tonumber(redis.call('HGET', KEYS[1], 'offset')), epoch}
`
// KEYS offs, hist; ARGV epoch, from, historySize. The frames after from, or nil when they are not all there.
const SINCE = `
local h = redis.call('HMGET', KEYS[1], 'epoch', 'offset')
if not h[1] or h[1] ~= ARGV[1] then return false end
local last = tonumber(h[2])
local from = tonumber(ARGV[2])
if from > last or from < 0 then return false end
local missed = last - from
if missed == 0 then return {} end
if missed > tonumber(ARGV[3]) then return false end
local frames = redis.call('LRANGE', KEYS[2], -missed, -1)
if #frames ~= missed then return false end
return frames
`
// KEYS offs, hist; ARGV new epoch, ttl ms.
const RESET = ENSURE + `
ensure(KEYS[1], KEYS[2], ARGV[1], true)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`
// One room of a session being stored (the room's slot). KEYS offs, hist, held; ARGV ttl ms, token, new epoch.
// The room is held by the token (and its history kept) at least ttl; returns {offset, epoch, expires}.
const HOLD = ENSURE + `
local ttl = tonumber(ARGV[1])
local t = redis.call('TIME')
local expires = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + ttl
local epoch = ensure(KEYS[1], KEYS[2], ARGV[3], false)
local offset = tonumber(redis.call('HGET', KEYS[1], 'offset'))
for j = 1, 2 do
  if redis.call('PTTL', KEYS[j]) < ttl and redis.call('EXISTS', KEYS[j]) == 1 then redis.call('PEXPIRE', KEYS[j], ttl) end
end
redis.call('ZADD', KEYS[3], expires, ARGV[2])
redis.call('PEXPIRE', KEYS[3], ttl)
return {offset, epoch, expires}
`

/** Register the history's scripts on a command connection (EVALSHA, reloaded after a Redis restart); `sharded`: on a Redis Cluster. */
export function defineHistoryCommands (cmd: Redis, sharded: boolean): void {
  cmd.defineCommand('socketspecRecord', { numberOfKeys: 2, lua: shardedScript(RECORD, sharded) })
  cmd.defineCommand('socketspecPosition', { numberOfKeys: 2, lua: POSITION })
  cmd.defineCommand('socketspecSince', { numberOfKeys: 2, lua: SINCE })
  cmd.defineCommand('socketspecReset', { numberOfKeys: 2, lua: RESET })
  cmd.defineCommand('socketspecHold', { numberOfKeys: 3, lua: HOLD })
}

/** Register the emitter's room script on its connection: the nodes' recording script. */
export function defineEmitterCommands (cmd: Redis, sharded: boolean): void {
  cmd.defineCommand('socketspecRecord', { numberOfKeys: 2, lua: shardedScript(RECORD, sharded) })
}

/** How long an emitter trusts the recovery settings it read (a namespace without them is asked again every time). */
const SETTINGS_CACHE_MS = 1000

/**
 * The namespace's recovery settings as an emitter sees them: read from the
 * hash the nodes write at start (`<nsBase>recovery`), kept `SETTINGS_CACHE_MS`
 * once found. Not cached while absent, so an emitter started before the nodes
 * records from the first broadcast after a node wrote them.
 */
export class RecoverySettings {
  #value: { historySize: number, ttlMs: number } | null = null
  #until = 0

  async get (cmd: Redis, nsBase: string): Promise<{ historySize: number, ttlMs: number } | null> {
    if (this.#value !== null && Date.now() < this.#until) return this.#value
    const [ttl, size] = await cmd.hmget(nsBase + 'recovery', 'ttl', 'historySize')
    const ttlS = Number(ttl)
    const historySize = Number(size)
    this.#value = ttl !== null && size !== null && ttlS > 0 && historySize >= 1 ? { historySize, ttlMs: Math.ceil(ttlS * 1000) } : null
    this.#until = Date.now() + SETTINGS_CACHE_MS
    return this.#value
  }
}

/**
 * Publish an emitter's room broadcast: recorded with an offset (and delivered
 * by every node from the publication) when the namespace's recovery settings
 * are in Redis, published as is otherwise. Two steps (the settings live in the
 * namespace's slot, the room's keys in the room's). Resolves with the offset
 * given (0: not recorded).
 */
export async function emitRoom (cmd: EmitterClient, pubsub: PubSub, settings: RecoverySettings, base: string, nsBase: string, nodeId: string, room: string, frame: string): Promise<number> {
  const s = await settings.get(cmd, nsBase)
  const channel = roomKey(base, room, 'bus')
  if (s === null) {
    await pubsub.publish(cmd, channel, roomHead('r', nodeId, room) + frame)
    return 0
  }
  const [offset] = await cmd.socketspecRecord(roomKey(base, room, 'offs'), roomKey(base, room, 'hist'), channel,
    roomHead('R', nodeId, room), frame, JSON.stringify(room), s.historySize, s.ttlMs, nextEpoch(), '0', '', 0)
  return offset
}

/** Epochs made by this process: a random prefix and a counter (cheaper than random bytes per broadcast, never reused). */
const EPOCH_PREFIX = randomBytes(6).toString('base64url')
let epochs = 0
function nextEpoch (): string {
  return EPOCH_PREFIX + (++epochs).toString(36)
}

/** Most rooms whose last seen position a node remembers (oldest forgotten first). */
const MAX_SEEN = 10_000

/** Remember `position` for `room` in a bounded map (most recent last). */
function remember (map: Map<string, RoomPosition>, room: string, position: RoomPosition): void {
  map.delete(room)
  map.set(room, position)
  if (map.size > MAX_SEEN) map.delete(map.keys().next().value as string)
}

/**
 * Room history and resumable sessions of one namespace in Redis (SPEC §12),
 * shared by every node: the offset of a broadcast is given by one Lua script
 * that also appends the frame to the room's history list (trimmed to
 * historySize), refreshes the expiry (ttl of silence) and publishes it, in one
 * round trip. Every node, the publisher included, delivers it to its members
 * from the subscription, so members see offsets in order whoever published.
 *
 * When Redis cannot record a broadcast, it is delivered to this node's
 * members only, in a local epoch, and the room is remembered: its epoch in
 * Redis is changed as soon as Redis answers again (before this node records
 * anything else there), so that no resume across that gap says recovered.
 *
 * On a Redis Cluster, a master may die before its replica had its last
 * writes: the promoted replica then gives offsets again that some node had
 * already seen. Each node remembers the last position it saw per room (its
 * own recordings and the room's publications it received, in order): the
 * recording script starts a new epoch when the room is behind what the node
 * saw, and a publication at or before the last one received from the room's
 * channel changes the epoch at once, so that a resume across the lost writes
 * is reported `recovered: false`.
 */
export class RedisHistory implements SharedHistory {
  readonly shared = true
  readonly sessions = 0
  readonly stats = { recorded: 0, unrecorded: 0, epochResets: 0, regressions: 0 }
  readonly #host: HistoryHost
  readonly #namespace: string
  readonly #limits: HistoryLimits
  readonly #ttlMs: number
  /** Rooms with broadcasts Redis did not record: their shared epoch must change. */
  readonly #gaps = new Set<string>()
  /** Local positions of rooms while Redis is unreachable (a local epoch each). */
  readonly #local = new Map<string, RoomPosition>()
  #resetting: Promise<void> | null = null
  /** Rooms whose epoch change is on its way to Redis (one at a time: a second one would change it twice). */
  readonly #resets = new Set<string>()
  /** Per room, the last position this node recorded or received (the recording script's lost-write check). */
  readonly #seen = new Map<string, RoomPosition>()
  /** Per room, the last position received from the room's channel (publications come in offset order). */
  readonly #stream = new Map<string, RoomPosition>()

  constructor (host: HistoryHost, namespace: string, limits: HistoryLimits) {
    this.#host = host
    this.#namespace = namespace
    this.#limits = limits
    this.#ttlMs = Math.ceil(limits.ttl * 1000)
  }

  /** The namespace's recovery settings, as stored in Redis at start (for other writers such as an emitter). */
  get limits (): HistoryLimits {
    return this.#limits
  }

  // Sessions live in Redis: this node knows of none (the backend's exists() and rooms() answer for held rooms).
  holds (): boolean {
    return false
  }

  held (): Iterable<string> {
    return []
  }

  start (): void {}

  async stop (): Promise<void> {
    await this.#resetting
  }

  async publish (room: string, frame: string, except?: readonly string[]): Promise<void> {
    const space = this.#host.space(this.#namespace)
    if (space === null) return
    const cmd = this.#host.client()
    if (cmd === null) return this.#deliverUnrecorded(space.ctx, room, frame, except)
    // an epoch change already sent on this connection comes first: this one records in the new epoch
    const reset = this.#gaps.has(room) && !this.#resets.has(room)
    if (reset) this.#resets.add(room)
    const exceptCsv = except === undefined || except.length === 0 ? '' : except.join(',')
    const seen = this.#seen.get(room)
    try {
      const [offset, epoch, regressed] = await cmd.socketspecRecord(roomKey(space.base, room, 'offs'), roomKey(space.base, room, 'hist'), roomKey(space.base, room, 'bus'),
        roomHead('R', space.nodeId, room, exceptCsv), frame, JSON.stringify(room), this.#limits.historySize, this.#ttlMs, nextEpoch(), reset ? '1' : '0',
        seen?.epoch ?? '', seen?.offset ?? 0)
      this.stats.recorded++
      if (regressed === 1) {
        this.#regressed(room)
        this.stats.epochResets++
      }
      this.#see(this.#seen, room, offset, epoch)
      if (reset) this.#closeGap(room)
      // Without a confirmed subscription to the room this node may not see its own broadcast: its members get it now.
      // (A copy that still comes from a subscription being confirmed is at or before the position a joining member
      // is given, so it is dropped: held frames and floors, lib/rooms.ts.)
      if (!this.#host.subscribed(this.#namespace, room)) space.ctx.deliverRoom(room, positionedFrame(frame, room, offset, epoch), except, offset, epoch)
    } catch (err) {
      this.#host.fail('record', err)
      this.#deliverUnrecorded(space.ctx, room, frame, except)
    } finally {
      if (reset) this.#resets.delete(room)
    }
  }

  async position (room: string): Promise<RoomPosition> {
    const space = this.#host.space(this.#namespace)
    const cmd = this.#host.client()
    if (space !== null && cmd !== null && !this.#gaps.has(room)) {
      try {
        const [offset, epoch] = await cmd.socketspecPosition(roomKey(space.base, room, 'offs'), roomKey(space.base, room, 'hist'), nextEpoch(), this.#ttlMs)
        return { offset, epoch }
      } catch (err) {
        this.#host.fail('position', err)
      }
    }
    return { ...this.#localPosition(room) }
  }

  async sinceAll (rooms: ReadonlyArray<[string, RoomPosition]>): Promise<Array<string[] | null>> {
    const space = this.#host.space(this.#namespace)
    const cmd = this.#host.client()
    if (rooms.length === 0) return []
    if (space === null || cmd === null) return rooms.map(() => null)
    // one call per room, sent together (rooms live in different slots of a Redis Cluster: no pipeline across them)
    return await Promise.all(rooms.map(async ([room, from]) => {
      try {
        const frames = await cmd.socketspecSince(roomKey(space.base, room, 'offs'), roomKey(space.base, room, 'hist'), from.epoch, from.offset, this.#limits.historySize)
        // a room with a gap not yet closed in Redis is not recoverable, whatever Redis says
        return this.#gaps.has(room) ? null : frames
      } catch (err) {
        this.#host.fail('since', err)
        return null
      }
    }))
  }

  async saveSession (token: string, previousId: string, userId: string | null, rooms: Iterable<string>): Promise<void> {
    const space = this.#host.space(this.#namespace)
    const cmd = this.#host.client()
    const list = [...rooms]
    if (space === null || cmd === null) {
      this.#host.fail('saveSession', null)
      return
    }
    try {
      // Each room first (its slot): held by the token, its history kept; then the session and the held-rooms
      // index (the namespace's slot), so a stored session never names a room that is not held.
      const held = await Promise.all(list.map(async (room) => await cmd.socketspecHold(roomKey(space.base, room, 'offs'), roomKey(space.base, room, 'hist'),
        roomKey(space.base, room, 'held'), this.#ttlMs, token, nextEpoch())))
      const multi = cmd.multi()
      list.forEach((room, i) => multi.zadd(space.nsBase + 'held', 'GT', held[i][2], room))
      if (list.length > 0) multi.pexpire(space.nsBase + 'held', this.#ttlMs)
      const r = list.map((room, i) => [room, held[i][0], held[i][1]])
      multi.set(space.nsBase + 'session:' + token, JSON.stringify({ p: previousId, u: userId ?? '', r }), 'PX', this.#ttlMs)
      const results = await multi.exec()
      const failed = results?.find(([err]) => err !== null)
      if (results === null || failed !== undefined) throw failed?.[0] ?? new Error('redis transaction aborted')
    } catch (err) {
      this.#host.fail('saveSession', err)
    }
  }

  async takeSession (token: string): Promise<ResumableSession | null> {
    const space = this.#host.space(this.#namespace)
    const cmd = this.#host.client()
    if (space === null || cmd === null) throw new Error('Redis is unavailable')
    const text = await cmd.getdel(space.nsBase + 'session:' + token)
    if (text === null) return null
    const stored = JSON.parse(text) as { p: string, u: string, r: Array<[string, number, string]> | Record<string, never> }
    // cjson encodes an empty table as an object
    const list = Array.isArray(stored.r) ? stored.r : []
    const rooms = new Map<string, RoomPosition>()
    for (const [room, offset, epoch] of list) rooms.set(room, { offset, epoch })
    return { previousId: stored.p, userId: stored.u === '' ? null : stored.u, rooms }
  }

  releaseSession (token: string, rooms: Iterable<string>): void {
    const space = this.#host.space(this.#namespace)
    const cmd = this.#host.client()
    if (space === null || cmd === null) return // the entries expire with the session's ttl anyway
    for (const room of rooms) cmd.zrem(roomKey(space.base, room, 'held'), token).catch((err: unknown) => this.#host.fail('releaseSession', err))
  }

  /** True while a stored session holds `room` (one round trip). */
  async holdsRemote (room: string): Promise<boolean> {
    const space = this.#host.space(this.#namespace)
    const cmd = this.#host.client()
    if (space === null || cmd === null) return false
    return await cmd.zcount(roomKey(space.base, room, 'held'), Date.now(), '+inf') > 0
  }

  /** Rooms stored sessions may hold (until the last of them expires). */
  async heldRooms (): Promise<string[]> {
    const space = this.#host.space(this.#namespace)
    const cmd = this.#host.client()
    if (space === null || cmd === null) return []
    return await cmd.zrangebyscore(space.nsBase + 'held', Date.now(), '+inf')
  }

  /** Redis answers again: change the epoch of every room with unrecorded broadcasts, first thing. */
  onReconnect (): void {
    if (this.#gaps.size === 0 || this.#resetting !== null) return
    this.#resetting = this.#resetGaps().finally(() => { this.#resetting = null })
  }

  /** Rooms whose epoch in Redis must still change (tests). */
  get gaps (): number {
    return this.#gaps.size
  }

  async #resetGaps (): Promise<void> {
    const space = this.#host.space(this.#namespace)
    const cmd = this.#host.client()
    if (space === null || cmd === null) return
    await Promise.all([...this.#gaps].filter((room) => !this.#resets.has(room)).map(async (room) => {
      this.#resets.add(room)
      try {
        await cmd.socketspecReset(roomKey(space.base, room, 'offs'), roomKey(space.base, room, 'hist'), nextEpoch(), this.#ttlMs)
        this.#closeGap(room)
      } catch (err) {
        this.#host.fail('resetEpoch', err)
      } finally {
        this.#resets.delete(room)
      }
    }))
  }

  /**
   * A recorded publication of `room` came from the room's channel. Publications
   * of a room come in offset order: one at or before the last one received in
   * the same epoch means Redis lost writes this node had seen (a replica promoted
   * before it had them), and the room's epoch is changed at once.
   */
  received (room: string, offset: number, epoch: string): void {
    const last = this.#stream.get(room)
    if (last !== undefined && last.epoch === epoch && offset <= last.offset) {
      this.#regressed(room)
      void this.#resetEpoch(room)
    }
    this.#see(this.#stream, room, offset, epoch)
    this.#see(this.#seen, room, offset, epoch)
  }

  /** This node's last seen position of `room` moves to (offset, epoch) unless it already is past it in that epoch. */
  #see (map: Map<string, RoomPosition>, room: string, offset: number, epoch: string): void {
    const last = map.get(room)
    if (last !== undefined && last.epoch === epoch && last.offset >= offset && map === this.#seen) return
    remember(map, room, { offset, epoch })
  }

  #regressed (room: string): void {
    this.stats.regressions++
    this.#host.fail('lostWrites', new Error(`room '${room}': Redis gave offsets this node had already seen (writes lost in a failover); new epoch`))
  }

  async #resetEpoch (room: string): Promise<void> {
    const space = this.#host.space(this.#namespace)
    const cmd = this.#host.client()
    if (space === null || cmd === null) {
      this.#gaps.add(room)
      return
    }
    try {
      await cmd.socketspecReset(roomKey(space.base, room, 'offs'), roomKey(space.base, room, 'hist'), nextEpoch(), this.#ttlMs)
      this.stats.epochResets++
    } catch (err) {
      // the next recording of the room resets it
      this.#gaps.add(room)
      this.#host.fail('resetEpoch', err)
    }
  }

  #closeGap (room: string): void {
    if (!this.#gaps.delete(room)) return
    this.#local.delete(room)
    this.stats.epochResets++
  }

  #localPosition (room: string): RoomPosition {
    let p = this.#local.get(room)
    if (p === undefined) {
      p = { offset: 0, epoch: 'local-' + nextEpoch() }
      this.#local.set(room, p)
    }
    return p
  }

  /** Redis did not record it (SPEC §6: local delivery goes on): this node's members get it in a local epoch. */
  #deliverUnrecorded (ctx: BackendContext, room: string, frame: string, except?: readonly string[]): void {
    this.#gaps.add(room)
    this.stats.unrecorded++
    const p = this.#localPosition(room)
    const offset = ++p.offset
    ctx.deliverRoom(room, positionedFrame(frame, room, offset, p.epoch), except, offset, p.epoch)
  }
}
