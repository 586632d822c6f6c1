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
  /** The namespace's base, node id and context once it started, else null. */
  space (namespace: string): { base: string, nodeId: string, ctx: BackendContext } | null
  /** Count and (rate-limited) log a failure. */
  fail (op: string, err: unknown): void
}

/** The command connection with the history's scripts (see `defineHistoryCommands`). */
export interface HistoryClient extends Redis {
  socketspecRecord (offs: string, hist: string, channel: string, head: string, frame: string, roomJson: string, historySize: number, ttlMs: number, epoch: string, reset: string): Promise<[number, string]>
  socketspecPosition (offs: string, hist: string, epoch: string, ttlMs: number): Promise<[number, string]>
  socketspecSince (offs: string, hist: string, epoch: string, from: number, historySize: number): Promise<string[] | null>
  socketspecReset (offs: string, hist: string, epoch: string, ttlMs: number): Promise<number>
  socketspecSave (...args: Array<string | number>): Promise<number>
}

/** A publish-only connection (an emitter's) with its room script (see `defineEmitterCommands`). */
export interface EmitterClient extends Redis {
  socketspecEmitRoom (offs: string, hist: string, recovery: string, channel: string, recordedHead: string, plainHead: string, frame: string, roomJson: string, epoch: string): Promise<[number, string]>
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
// Offset, history, expiry and publication in one step: the frame carries its position at the top level.
const RECORD_FN = ENSURE + `
local function record(offs, hist, channel, head, frame, roomJson, historySize, ttlMs, newEpoch, reset)
  local epoch = ensure(offs, hist, newEpoch, reset)
  local offset = redis.call('HINCRBY', offs, 'offset', 1)
  local positioned = string.sub(frame, 1, -2) .. ',"room":' .. roomJson .. ',"offset":' .. offset .. ',"epoch":"' .. epoch .. '"}'
  redis.call('RPUSH', hist, positioned)
  redis.call('LTRIM', hist, -historySize, -1)
  redis.call('PEXPIRE', offs, ttlMs)
  redis.call('PEXPIRE', hist, ttlMs)
  redis.call('PUBLISH', channel, head .. offset .. '\\n' .. epoch .. '\\n' .. positioned)
  return {offset, epoch}
end
`
// KEYS offs, hist; ARGV channel, message head, frame, room as JSON, historySize, ttl ms, new epoch, reset ('1').
const RECORD = RECORD_FN + `
return record(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5]), ARGV[6], ARGV[7], ARGV[8] == '1')
`
// An emitter's room broadcast (socketspec/emitter). KEYS offs, hist, the namespace's recovery settings (a hash
// the nodes write at start); ARGV channel, recorded head, plain head, frame, room as JSON, new epoch.
// With recovery settings: recorded like a node's broadcast (same record()); without: published as is.
// Read at every broadcast, inside the script: an emitter started before the nodes records once they wrote them.
const EMIT_ROOM = RECORD_FN + `
local s = redis.call('HMGET', KEYS[3], 'ttl', 'historySize')
local ttl = tonumber(s[1])
local size = tonumber(s[2])
if not ttl or not size or size < 1 then
  redis.call('PUBLISH', ARGV[1], ARGV[3] .. ARGV[4])
  return {0, ''}
end
return record(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[4], ARGV[5], size, math.ceil(ttl * 1000), ARGV[6], false)
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
// KEYS session, held rooms index, then offs, hist, held of each room;
// ARGV ttl ms, token, previous id, user id ('' none), epoch prefix, then the rooms.
// Stores {p, u, r: [[room, offset, epoch]]} for ttl; each room is held (and its history kept) at least as long.
const SAVE = ENSURE + `
local ttl = tonumber(ARGV[1])
local t = redis.call('TIME')
local expires = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + ttl
local rooms = {}
for i = 6, #ARGV do
  local k = 3 + (i - 6) * 3
  local epoch = ensure(KEYS[k], KEYS[k + 1], ARGV[5] .. (i - 5), false)
  local offset = tonumber(redis.call('HGET', KEYS[k], 'offset'))
  for j = 0, 1 do
    if redis.call('PTTL', KEYS[k + j]) < ttl and redis.call('EXISTS', KEYS[k + j]) == 1 then redis.call('PEXPIRE', KEYS[k + j], ttl) end
  end
  redis.call('ZADD', KEYS[k + 2], expires, ARGV[2])
  redis.call('PEXPIRE', KEYS[k + 2], ttl)
  redis.call('ZADD', KEYS[2], 'GT', expires, ARGV[i])
  rooms[#rooms + 1] = {ARGV[i], offset, epoch}
end
redis.call('PEXPIRE', KEYS[2], ttl)
redis.call('SET', KEYS[1], cjson.encode({p = ARGV[3], u = ARGV[4], r = rooms}), 'PX', ttl)
return #rooms
`

/** Register the history's scripts on a command connection (EVALSHA, reloaded after a Redis restart). */
export function defineHistoryCommands (cmd: Redis): void {
  cmd.defineCommand('socketspecRecord', { numberOfKeys: 2, lua: RECORD })
  cmd.defineCommand('socketspecPosition', { numberOfKeys: 2, lua: POSITION })
  cmd.defineCommand('socketspecSince', { numberOfKeys: 2, lua: SINCE })
  cmd.defineCommand('socketspecReset', { numberOfKeys: 2, lua: RESET })
  // one key triple per room: the number of keys is given per call
  cmd.defineCommand('socketspecSave', { lua: SAVE })
}

/** Register the emitter's room script on its connection (EVALSHA, reloaded after a Redis restart). */
export function defineEmitterCommands (cmd: Redis): void {
  cmd.defineCommand('socketspecEmitRoom', { numberOfKeys: 3, lua: EMIT_ROOM })
}

/**
 * Publish an emitter's room broadcast in one round trip: recorded with an
 * offset (and delivered by every node from the publication) when the
 * namespace's recovery settings are in Redis, published as is otherwise.
 * Resolves with the offset given (0: not recorded).
 */
export async function emitRoom (cmd: EmitterClient, base: string, nodeId: string, room: string, frame: string): Promise<number> {
  const [offset] = await cmd.socketspecEmitRoom(roomKey(base, room, 'offs'), roomKey(base, room, 'hist'), base + 'recovery', roomKey(base, room, 'bus'),
    roomHead('R', nodeId, room), roomHead('r', nodeId, room), frame, JSON.stringify(room), nextEpoch())
  return offset
}

/** Epochs made by this process: a random prefix and a counter (cheaper than random bytes per broadcast, never reused). */
const EPOCH_PREFIX = randomBytes(6).toString('base64url')
let epochs = 0
function nextEpoch (): string {
  return EPOCH_PREFIX + (++epochs).toString(36)
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
 */
export class RedisHistory implements SharedHistory {
  readonly shared = true
  readonly sessions = 0
  readonly stats = { recorded: 0, unrecorded: 0, epochResets: 0 }
  readonly #host: HistoryHost
  readonly #namespace: string
  readonly #limits: HistoryLimits
  readonly #ttlMs: number
  /** Rooms with broadcasts Redis did not record: their shared epoch must change. */
  readonly #gaps = new Set<string>()
  /** Local positions of rooms while Redis is unreachable (a local epoch each). */
  readonly #local = new Map<string, RoomPosition>()
  #resetting: Promise<void> | null = null

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
    const reset = this.#gaps.has(room)
    const exceptCsv = except === undefined || except.length === 0 ? '' : except.join(',')
    try {
      const [offset, epoch] = await cmd.socketspecRecord(roomKey(space.base, room, 'offs'), roomKey(space.base, room, 'hist'), roomKey(space.base, room, 'bus'),
        roomHead('R', space.nodeId, room, exceptCsv), frame, JSON.stringify(room), this.#limits.historySize, this.#ttlMs, nextEpoch(), reset ? '1' : '0')
      this.stats.recorded++
      if (reset) this.#closeGap(room)
      // Without a confirmed subscription to the room this node may not see its own broadcast: its members get it now.
      // (A copy that still comes from a subscription being confirmed is at or before the position a joining member
      // is given, so it is dropped: held frames and floors, lib/rooms.ts.)
      if (!this.#host.subscribed(this.#namespace, room)) space.ctx.deliverRoom(room, positionedFrame(frame, room, offset, epoch), except, offset, epoch)
    } catch (err) {
      this.#host.fail('record', err)
      this.#deliverUnrecorded(space.ctx, room, frame, except)
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
    const pipeline = cmd.pipeline()
    for (const [room, from] of rooms) {
      (pipeline as unknown as HistoryClient).socketspecSince(roomKey(space.base, room, 'offs'), roomKey(space.base, room, 'hist'), from.epoch, from.offset, this.#limits.historySize)
    }
    try {
      const results = await pipeline.exec()
      return rooms.map(([room], i) => {
        const [err, frames] = results?.[i] ?? [new Error('no reply'), null]
        // a room with a gap not yet closed in Redis is not recoverable, whatever Redis says
        if (err !== null || this.#gaps.has(room)) return null
        return frames as string[] | null
      })
    } catch (err) {
      this.#host.fail('since', err)
      return rooms.map(() => null)
    }
  }

  async saveSession (token: string, previousId: string, userId: string | null, rooms: Iterable<string>): Promise<void> {
    const space = this.#host.space(this.#namespace)
    const cmd = this.#host.client()
    const list = [...rooms]
    if (space === null || cmd === null) {
      this.#host.fail('saveSession', null)
      return
    }
    const keys: string[] = [space.base + 'session:' + token, space.base + 'held']
    for (const room of list) keys.push(roomKey(space.base, room, 'offs'), roomKey(space.base, room, 'hist'), roomKey(space.base, room, 'held'))
    try {
      await (cmd as HistoryClient).socketspecSave(keys.length, ...keys, this.#ttlMs, token, previousId, userId ?? '', nextEpoch() + '.', ...list)
    } catch (err) {
      this.#host.fail('saveSession', err)
    }
  }

  async takeSession (token: string): Promise<ResumableSession | null> {
    const space = this.#host.space(this.#namespace)
    const cmd = this.#host.client()
    if (space === null || cmd === null) throw new Error('Redis is unavailable')
    const text = await cmd.getdel(space.base + 'session:' + token)
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
    const release = cmd.pipeline()
    for (const room of rooms) release.zrem(roomKey(space.base, room, 'held'), token)
    if (release.length > 0) release.exec().catch((err: unknown) => this.#host.fail('releaseSession', err))
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
    return await cmd.zrangebyscore(space.base + 'held', Date.now(), '+inf')
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
    const rooms = [...this.#gaps]
    const pipeline = cmd.pipeline()
    for (const room of rooms) (pipeline as unknown as HistoryClient).socketspecReset(roomKey(space.base, room, 'offs'), roomKey(space.base, room, 'hist'), nextEpoch(), this.#ttlMs)
    try {
      const results = await pipeline.exec()
      rooms.forEach((room, i) => { if (results?.[i]?.[0] === null) this.#closeGap(room) })
    } catch (err) {
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
