import { randomUUID } from 'node:crypto'
import type { FastifyBaseLogger } from 'fastify'
import type { BackendAdapter, BackendContext, BackendStats } from './backends/types.js'
import type { StaticRoom } from './types.js'
import { FST_SOCKETSPEC_INVALID_HOOK, FST_SOCKETSPEC_INVALID_OPTION, SocketError } from './errors.js'
import { compileRoomPattern, type RoomParams, type RoomPattern } from './room-pattern.js'
import { PreparedFrame } from './frame.js'
import type { RoomHistory, RoomPosition, SharedHistory } from './history.js'

/** Longest room name accepted by `join`. */
export const MAX_ROOM_NAME_LENGTH = 256

/** What the room manager needs from a connection (the core's Connection satisfies it). */
export interface RoomMember {
  readonly id: string
  /** The member's rooms on this node; the room manager keeps it up to date. */
  readonly rooms: Set<string>
  /** Deliver an already serialized frame; must not throw. */
  send (frame: string): void
  /** Optional: deliver a frame serialized and encoded once for many receivers. */
  sendPrepared? (frame: PreparedFrame): void
  readonly open: boolean
}

/** A room guard: return true to admit the member (anything else, or a throw, refuses). */
export type RoomGuard<M extends RoomMember = RoomMember> = (member: M, params: RoomParams) => boolean | Promise<boolean>
/** An `onRoomJoin` / `onRoomLeave` hook. */
export type RoomHook<M extends RoomMember = RoomMember> = (member: M, room: string) => unknown

export interface RoomManagerOptions {
  namespace: string
  backend: BackendAdapter
  /** Rooms that always exist. */
  staticRooms?: ReadonlyArray<string | StaticRoom>
  log: FastifyBaseLogger
  /** This node's id; a uuid by default. */
  nodeId?: string
}

/** What `start` needs besides the constructor options. */
export interface RoomManagerStart {
  /** Session heartbeat interval in seconds (paces a distributed backend's liveness). */
  heartbeatInterval: number
  /** This node's id, when the caller owns it (overrides the constructor's). */
  nodeId?: string
}

/** With session recovery on: the history that numbers broadcasts, and what a join and a leave tell the member. */
export interface RoomRecovery<M extends RoomMember = RoomMember> {
  history: RoomHistory
  /** True while the member is resuming: its re-joins are reported by `__resumed__`, not `joined` (no position is read for them). */
  resuming (member: M): boolean
  /** True while a dropped session holds the room (it exists, its broadcasts are recorded). */
  holds (room: string): boolean
  /** Rooms dropped sessions hold. */
  held (): Iterable<string>
  /** Called in the same tick the member is added, before any broadcast can reach it. */
  joined (member: M, room: string, position: RoomPosition): void
  left (member: M, room: string): void
}

interface Guard<M extends RoomMember> {
  pattern: RoomPattern
  fn: RoomGuard<M>
}

/**
 * Rooms of one namespace on this node: local membership index, guards, hooks,
 * static rooms, and the bridge to the backend adapter that spreads membership,
 * presence and delivery over the other nodes. Local delivery never waits for
 * nor depends on the backend.
 */
export class RoomManager<M extends RoomMember = RoomMember> {
  readonly namespace: string
  nodeId: string
  readonly backend: BackendAdapter
  readonly #log: FastifyBaseLogger
  readonly #static = new Map<string, StaticRoom>()
  /** room → local members */
  readonly #local = new Map<string, Set<M>>()
  /** connection id → local member */
  readonly #members = new Map<string, M>()
  readonly #guards: Array<Guard<M>> = []
  readonly #joinHooks: Array<RoomHook<M>> = []
  readonly #leaveHooks: Array<RoomHook<M>> = []
  #started = false
  #recovery: RoomRecovery<M> | null = null
  /** With a shared history: room → members whose join position is being read, with the room frames held for them meanwhile. */
  readonly #joining = new Map<string, Map<M, PreparedFrame[]>>()
  /**
   * With a shared history: room → members with the position they were given (by `__joined__` or a replay).
   * The publication and the answer that gave the position come on two connections: frames at or before
   * it may still arrive; they are dropped until the room's stream passes the position.
   */
  readonly #floors = new Map<string, Map<M, RoomPosition>>()

  constructor (options: RoomManagerOptions) {
    this.namespace = options.namespace
    this.backend = options.backend
    this.#log = options.log
    this.nodeId = options.nodeId ?? randomUUID()
    for (const entry of options.staticRooms ?? []) {
      const room: StaticRoom = typeof entry === 'string' ? { name: entry } : entry
      if (!isValidRoomName(room?.name)) {
        throw new FST_SOCKETSPEC_INVALID_OPTION('rooms', `static room names must be non-empty strings of at most ${MAX_ROOM_NAME_LENGTH} characters`)
      }
      this.#static.set(room.name, room.description === undefined ? { name: room.name } : { name: room.name, description: room.description })
    }
  }

  /** Turn on session recovery: broadcasts get offsets and are recorded; joins and leaves are announced. */
  setRecovery (recovery: RoomRecovery<M>): void {
    this.#recovery = recovery
  }

  /** True when the room has members on this node. */
  hasLocal (room: string): boolean {
    return this.#local.has(room)
  }

  /** Static rooms, as declared (for docs). */
  get staticRooms (): StaticRoom[] {
    return [...this.#static.values()]
  }

  /** Rooms known on this node: static ones and non-empty local ones (for `stats()`). */
  localRoomCount (): number {
    let n = this.#static.size
    for (const room of this.#local.keys()) if (!this.#static.has(room)) n++
    return n
  }

  /** Same as `localRoomCount()`. */
  get size (): number {
    return this.localRoomCount()
  }

  /** Source patterns of the room guards, in registration order (for docs). */
  guardPatterns (): string[] {
    return this.#guards.map((guard) => guard.pattern.source)
  }

  /** Connections registered on this node. */
  get connectionCount (): number {
    return this.#members.size
  }

  /** Add a guard for rooms matching `pattern` (compiled now). Every matching guard must allow a join. */
  addGuard (pattern: string, fn: RoomGuard<M>): void {
    if (typeof fn !== 'function') throw new FST_SOCKETSPEC_INVALID_HOOK('roomGuard')
    this.#guards.push({ pattern: compileRoomPattern(pattern), fn })
  }

  /** Run `fn(member, room)` after every join, in registration order. */
  onJoin (fn: RoomHook<M>): void {
    if (typeof fn !== 'function') throw new FST_SOCKETSPEC_INVALID_HOOK('onRoomJoin')
    this.#joinHooks.push(fn)
  }

  /** Run `fn(member, room)` after every leave (disconnects included), in registration order. */
  onLeave (fn: RoomHook<M>): void {
    if (typeof fn !== 'function') throw new FST_SOCKETSPEC_INVALID_HOOK('onRoomLeave')
    this.#leaveHooks.push(fn)
  }

  /** Register a connection on this node (presence, and the index `toConnection` uses). */
  async addConnection (member: M): Promise<void> {
    this.#members.set(member.id, member)
    try {
      await this.backend.addConnection(this.namespace, member.id)
    } catch (err) {
      this.#backendFailed('addConnection', err)
    }
  }

  /** Unregister a connection: it leaves every room (hooks run), then its presence is removed. */
  async removeConnection (member: M): Promise<void> {
    await this.leaveAll(member)
    if (this.#members.get(member.id) === member) this.#members.delete(member.id)
    try {
      await this.backend.removeConnection(this.namespace, member.id)
    } catch (err) {
      this.#backendFailed('removeConnection', err)
    }
  }

  /** The local member with this id, if it is on this node. */
  connection (id: string): M | undefined {
    return this.#members.get(id)
  }

  /**
   * Add `member` to `room`. Idempotent. Throws SocketError VALIDATION_ERROR for a bad
   * room name and PERMISSION_ERROR when a guard refuses (before admission).
   */
  async join (member: M, room: string): Promise<void> {
    if (!isValidRoomName(room)) {
      throw new SocketError('VALIDATION_ERROR', 'Invalid room name', {
        errors: [{ path: '/room', message: `must be a non-empty string of at most ${MAX_ROOM_NAME_LENGTH} characters`, keyword: 'room' }]
      })
    }
    if (member.rooms.has(room)) return
    if (this.#guards.length > 0) await this.#checkGuards(member, room)
    // The guards may have awaited: the member may have joined meanwhile, or gone.
    if (member.rooms.has(room)) return
    if (!member.open && !this.#members.has(member.id)) return
    member.rooms.add(room)
    let set = this.#local.get(room)
    if (set === undefined) {
      set = new Set()
      this.#local.set(room, set)
    }
    set.add(member)
    const recovery = this.#recovery
    if (recovery !== null && recovery.history.shared && !recovery.resuming(member)) {
      // the backend join (a sharded backend subscribes to the room) comes before the position read
      await this.#announceShared(member, room, recovery.history, recovery)
    } else {
      if (recovery !== null && !recovery.history.shared) recovery.joined(member, room, recovery.history.position(room))
      await this.#backendJoin(member, room)
    }
    await this.#runHooks(this.#joinHooks, member, room, 'onRoomJoin')
  }

  /** Tell the backend of a local join (a sharded backend resolves once this node receives the room's frames). */
  async #backendJoin (member: M, room: string): Promise<void> {
    try {
      await this.backend.join(this.namespace, room, member.id)
    } catch (err) {
      this.#backendFailed('join', err)
    }
  }

  /** Remove `member` from `room`; a no-op when it is not a member. */
  async leave (member: M, room: string): Promise<void> {
    if (!member.rooms.delete(room)) return
    const set = this.#local.get(room)
    if (set !== undefined) {
      set.delete(member)
      if (set.size === 0) this.#local.delete(room)
    }
    this.#recovery?.left(member, room)
    if (this.#floors.size > 0) this.#clearFloor(member, room)
    try {
      await this.backend.leave(this.namespace, room, member.id)
    } catch (err) {
      this.#backendFailed('leave', err)
    }
    await this.#runHooks(this.#leaveHooks, member, room, 'onRoomLeave')
  }

  /** Leave every room of `member` (on disconnect). */
  async leaveAll (member: M): Promise<void> {
    if (member.rooms.size === 0) return
    for (const room of [...member.rooms]) await this.leave(member, room)
  }

  /**
   * Deliver an already serialized frame to every member of `room` on every node,
   * skipping the ids in `except`. Resolves with the number of local deliveries.
   * Throws SocketError ROOM_NOT_FOUND when the room exists nowhere.
   */
  async broadcast (room: string, frame: string, except?: readonly string[]): Promise<number> {
    const recovery = this.#recovery
    if (!this.#local.has(room) && !this.#static.has(room) && !(recovery?.holds(room) ?? false) && !(isValidRoomName(room) && await this.#remoteExists(room))) {
      throw new SocketError('ROOM_NOT_FOUND', undefined, { room })
    }
    let offset: number | undefined
    const history = recovery?.history
    if (history !== undefined && history.shared) {
      // numbered, recorded and published in one round trip; every node, this one included, delivers from the publication
      const set = this.#local.get(room)
      const members = set === undefined ? 0 : countReceivers(set, except)
      await history.publish(room, frame, except)
      return members
    }
    if (history !== undefined) {
      // numbered, recorded and delivered in one synchronous step: members get offsets in order
      const recorded = history.record(room, frame)
      frame = recorded.frame
      offset = recorded.offset
    }
    const set = this.#local.get(room)
    const delivered = set === undefined ? 0 : deliver(set, frame, except, room, offset)
    try {
      await this.backend.publishRoom(this.namespace, room, frame, except)
    } catch (err) {
      this.#backendFailed('publishRoom', err)
    }
    return delivered
  }

  /** Deliver a frame to every connection of the namespace on every node. Resolves with the local count. */
  async emitAll (frame: string): Promise<number> {
    const delivered = deliver(this.#members.values(), frame)
    try {
      await this.backend.publishAll(this.namespace, frame)
    } catch (err) {
      this.#backendFailed('publishAll', err)
    }
    return delivered
  }

  /** Deliver a frame to one connection on any node. Resolves true when it was delivered on this node. */
  async toConnection (id: string, frame: string): Promise<boolean> {
    const member = this.#members.get(id)
    if (member !== undefined) {
      if (!member.open) return false
      member.send(frame)
      return true
    }
    try {
      await this.backend.publishConnection(this.namespace, id, frame)
    } catch (err) {
      this.#backendFailed('publishConnection', err)
    }
    return false
  }

  /** Connection ids in `room` on every node. */
  async members (room: string): Promise<string[]> {
    const ids = new Set<string>()
    const set = this.#local.get(room)
    if (set !== undefined) for (const member of set) ids.add(member.id)
    if (isValidRoomName(room)) {
      try {
        for (const id of await this.backend.members(this.namespace, room)) ids.add(id)
      } catch (err) {
        this.#backendFailed('members', err)
      }
    }
    return [...ids]
  }

  /** True for static rooms and rooms with a member on any node. */
  async exists (room: string): Promise<boolean> {
    if (this.#static.has(room) || this.#local.has(room) || (this.#recovery?.holds(room) ?? false)) return true
    return isValidRoomName(room) && await this.#remoteExists(room)
  }

  /** Every room that exists: static ones, then the non-empty ones of every node. */
  async list (): Promise<string[]> {
    const rooms = new Set(this.#static.keys())
    for (const room of this.#local.keys()) rooms.add(room)
    if (this.#recovery !== null) for (const room of this.#recovery.held()) rooms.add(room)
    try {
      for (const room of await this.backend.rooms(this.namespace)) rooms.add(room)
    } catch (err) {
      this.#backendFailed('rooms', err)
    }
    return [...rooms]
  }

  /** Connection ids of the namespace on every node. */
  async connections (): Promise<string[]> {
    const ids = new Set(this.#members.keys())
    try {
      for (const id of await this.backend.connections(this.namespace)) ids.add(id)
    } catch (err) {
      this.#backendFailed('connections', err)
    }
    return [...ids]
  }

  /** The backend's counters (merged into `stats()` under `backend`). */
  backendStats (): BackendStats {
    try {
      return this.backend.stats()
    } catch (err) {
      this.#backendFailed('stats', err)
      return { errors: 0, published: 0, received: 0 }
    }
  }

  /** Start the backend for this namespace (at `ready`, before any connection). */
  async start (opts: RoomManagerStart): Promise<void> {
    if (this.#started) return
    if (opts.nodeId !== undefined) this.nodeId = opts.nodeId
    const ctx: BackendContext = {
      namespace: this.namespace,
      nodeId: this.nodeId,
      log: this.#log,
      heartbeatInterval: opts.heartbeatInterval,
      deliverRoom: (room, frame, except, offset, epoch) => {
        const set = this.#local.get(room)
        if (set === undefined) return 0
        return offset === undefined ? deliver(set, frame, except) : this.#deliverRecorded(set, frame, except, room, offset, epoch)
      },
      deliverAll: (frame) => deliver(this.#members.values(), frame),
      deliverConnection: (id, frame) => {
        const member = this.#members.get(id)
        if (member === undefined || !member.open) return false
        member.send(frame)
        return true
      },
      localConnections: () => this.#members.keys(),
      localMemberships: () => localMemberships(this.#local)
    }
    await this.backend.start(ctx)
    this.#started = true
  }

  /** Stop the backend for this namespace (at close, after every connection is gone). */
  async stop (): Promise<void> {
    if (!this.#started) return
    this.#started = false
    try {
      await this.backend.stop(this.namespace)
    } catch (err) {
      this.#backendFailed('stop', err)
    }
  }

  /**
   * A join with a shared history: the member is already in the room's local set,
   * and the backend join resolves once this node receives the room's frames
   * (a sharded backend subscribes to the room's channel on its first local
   * member), so the position read next is at or after its first frame. Frames
   * that arrive meanwhile are held, then `__joined__ {offset}` goes out, then
   * the held frames after that offset.
   */
  async #announceShared (member: M, room: string, history: SharedHistory, recovery: RoomRecovery<M>): Promise<void> {
    let waiting = this.#joining.get(room)
    if (waiting === undefined) {
      waiting = new Map()
      this.#joining.set(room, waiting)
    }
    const held: PreparedFrame[] = []
    waiting.set(member, held)
    let position: RoomPosition
    try {
      await this.#backendJoin(member, room)
      position = await history.position(room)
    } finally {
      if (waiting.get(member) === held) waiting.delete(member)
      if (waiting.size === 0 && this.#joining.get(room) === waiting) this.#joining.delete(room)
    }
    if (!member.rooms.has(room) || !member.open) return
    recovery.joined(member, room, position)
    this.setFloor(member, room, position)
    for (const frame of held) {
      if (frame.offset! > position.offset) {
        if (member.sendPrepared !== undefined) member.sendPrepared(frame)
        else member.send(frame.text)
      }
    }
  }

  /**
   * With a shared history: `member` has every frame of `room` up to `position`;
   * later deliveries at or before it (still on their way) are dropped.
   */
  setFloor (member: M, room: string, position: RoomPosition): void {
    if (!member.rooms.has(room)) return
    let floors = this.#floors.get(room)
    if (floors === undefined) {
      floors = new Map()
      this.#floors.set(room, floors)
    }
    floors.set(member, position)
  }

  #clearFloor (member: M, room: string): void {
    const floors = this.#floors.get(room)
    if (floors !== undefined && floors.delete(member) && floors.size === 0) this.#floors.delete(room)
  }

  /** Deliver a recorded broadcast (from a shared history's publication): held for members whose join position is being read, dropped for those past it. */
  #deliverRecorded (members: Iterable<M>, frame: string, except: readonly string[] | undefined, room: string, offset: number, epoch: string | undefined): number {
    let n = 0
    const prepared = new PreparedFrame(frame, room, offset)
    const all = except === undefined || except.length === 0
    const joining = this.#joining.get(room)
    const floors = this.#floors.get(room)
    for (const member of members) {
      if (member.open && (all || !except.includes(member.id))) {
        const floor = floors?.get(member)
        if (floor !== undefined) {
          if (floor.epoch === epoch && offset <= floor.offset) continue
          // the stream passed the position (frames of one room come in offset order): no more to drop
          this.#clearFloor(member, room)
        }
        const held = joining?.get(member)
        if (held !== undefined) held.push(prepared)
        else if (member.sendPrepared !== undefined) member.sendPrepared(prepared)
        else member.send(frame)
        n++
      }
    }
    return n
  }

  async #checkGuards (member: M, room: string): Promise<void> {
    for (const guard of this.#guards) {
      const params = guard.pattern.match(room)
      if (params === null) continue
      let allowed: unknown
      try {
        allowed = await guard.fn(member, params)
      } catch (err) {
        // A SocketError is the app speaking to its client: its code goes through unchanged.
        if (err instanceof SocketError) throw err
        this.#log.warn({ err, room, pattern: guard.pattern.source, connectionId: member.id }, 'room guard threw; join refused')
        allowed = false
      }
      if (allowed !== true) {
        throw new SocketError('PERMISSION_ERROR', `Not allowed to join room '${room}'`, { room })
      }
    }
  }

  async #runHooks (hooks: Array<RoomHook<M>>, member: M, room: string, name: string): Promise<void> {
    for (const hook of hooks) {
      try {
        await hook(member, room)
      } catch (err) {
        this.#log.error({ err, room, hook: name, connectionId: member.id }, 'room hook failed')
      }
    }
  }

  async #remoteExists (room: string): Promise<boolean> {
    try {
      return await this.backend.exists(this.namespace, room)
    } catch (err) {
      this.#backendFailed('exists', err)
      return false
    }
  }

  #backendFailed (op: string, err: unknown): void {
    // Built-in adapters never reject; this protects the process from third-party ones.
    this.#log.warn({ err, op, backend: this.backend.name }, 'room backend operation failed')
  }
}

/** True for a non-empty string of at most MAX_ROOM_NAME_LENGTH characters. */
export function isValidRoomName (room: unknown): room is string {
  return typeof room === 'string' && room.length > 0 && room.length <= MAX_ROOM_NAME_LENGTH
}

function deliver (members: Iterable<RoomMember>, frame: string, except?: readonly string[], room?: string, offset?: number): number {
  let n = 0
  // Encoded once for every member that can take raw frame bytes.
  const prepared = new PreparedFrame(frame, room, offset)
  const all = except === undefined || except.length === 0
  for (const member of members) {
    if (member.open && (all || !except.includes(member.id))) {
      if (member.sendPrepared !== undefined) member.sendPrepared(prepared)
      else member.send(frame)
      n++
    }
  }
  return n
}

function countReceivers (members: Iterable<RoomMember>, except: readonly string[] | undefined): number {
  let n = 0
  for (const member of members) if (member.open && (except === undefined || !except.includes(member.id))) n++
  return n
}

function * localMemberships (local: Map<string, Set<RoomMember>>): Generator<[string, string[]]> {
  for (const [room, set] of local) {
    const ids: string[] = []
    for (const member of set) ids.push(member.id)
    yield [room, ids]
  }
}
