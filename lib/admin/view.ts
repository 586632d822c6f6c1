import type { Engine } from '../engine.js'
import type { Connection } from '../connection.js'
import type { EventDefinition } from '../types.js'
import type { TimerHandle } from '../clock.js'
import { CloseCode } from '../errors.js'
import { AdminCounters } from './stats.js'
import type { AdminConnection, AdminRoom, EventRate } from './wire.js'

export type { AdminConnection, AdminRoom, EventRate } from './wire.js'

/** Connections a node lists (in its snapshot and in the admin routes); the totals count every one. */
export const MAX_LISTED_CONNECTIONS = 1000
/** Rooms listed, and member ids listed per room. */
export const MAX_LISTED_ROOMS = 200
export const MAX_LISTED_MEMBERS = 200
/** Rooms listed per connection. */
export const MAX_ROOMS_PER_CONNECTION = 50
/** How often a node rewrites its snapshot in the backend, and how long the snapshot lives there. */
export const SNAPSHOT_MS = 2000
export const SNAPSHOT_TTL_MS = 5000
/** Close reason when the admin view disconnects a connection (code 1000, as `conn.disconnect()`). */
export const ADMIN_DISCONNECT_REASON = 'admin_disconnect'
const REASON = /^[\w .:-]{1,64}$/

const kCounted = Symbol('socketspec.adminCounted')

/** What a node tells the others (through the backend) about itself. */
export interface NodeSnapshot {
  v: 1
  nodeId: string
  /** Epoch ms the snapshot was taken. */
  at: number
  /** Open connections on the node (the list may hold fewer). */
  total: number
  connections: AdminConnection[]
  rates: EventRate[]
}

/** Result of an admin action: an HTTP status and its JSON body. */
export interface AdminOutcome {
  status: 200 | 202 | 400 | 404
  body: Record<string, unknown>
}

type Command = { type: 'disconnect', connection: string, reason: string }

/**
 * The admin view of one namespace (SPEC §14): counts events per connection
 * and per event name, lists connections and rooms of every node (the other
 * nodes' through the backend's optional `admin` support: each node rewrites a
 * snapshot of itself every 2 s while the view is on), and disconnects a
 * connection wherever it lives (a command to its node, never a client frame).
 */
export class AdminView {
  readonly engine: Engine
  readonly counters: AdminCounters
  #timer: TimerHandle | null = null
  #started = false

  constructor (engine: Engine) {
    this.engine = engine
    this.counters = new AdminCounters(engine.clock)
    engine.admin = this.counters
  }

  get nodeId (): string {
    return this.engine.nodeId
  }

  /** At ready, after the engine started: count handled events, publish snapshots, listen for commands. */
  async start (): Promise<void> {
    if (this.#started) return
    this.#started = true
    for (const def of this.engine.registry.definitions()) this.#count(def)
    this.counters.start()
    const admin = this.engine.backend.admin
    if (admin === undefined) return
    await admin.listen(this.engine.namespace, this.nodeId, (command) => this.#onCommand(command))
    await this.#publish()
    const clock = this.engine.clock
    const tick = (): void => {
      this.#publish().catch(/* c8 ignore next */ (err) => this.engine.log.warn({ err }, 'admin snapshot failed'))
      this.#timer = clock.setTimeout(tick, SNAPSHOT_MS)
    }
    this.#timer = clock.setTimeout(tick, SNAPSHOT_MS)
  }

  /** At close, before the engine shuts down. */
  async stop (): Promise<void> {
    if (!this.#started) return
    this.#started = false
    this.counters.stop()
    if (this.#timer !== null) this.engine.clock.clearTimeout(this.#timer)
    this.#timer = null
    await this.engine.backend.admin?.unlisten(this.engine.namespace, this.nodeId)
  }

  /** Count the handler calls of an event (wrapped once; the pipeline reads `def.handler` at each call). */
  #count (def: EventDefinition): void {
    const handler = def.handler as EventDefinition['handler'] & { [kCounted]?: true }
    if (handler[kCounted] === true) return
    const counters = this.counters
    const name = def.name
    const counted = Object.assign(function (this: unknown, conn: Connection, payload: unknown, ctx: any) {
      counters.received(conn, name)
      return handler.call(this, conn, payload, ctx)
    }, { [kCounted]: true as const })
    def.handler = counted
  }

  /** This node, as the other nodes see it. */
  snapshot (): NodeSnapshot {
    const connections: AdminConnection[] = []
    let total = 0
    for (const conn of this.engine.connections.values()) {
      if (!conn.open) continue
      total++
      if (connections.length < MAX_LISTED_CONNECTIONS) connections.push(this.#describe(conn))
    }
    return { v: 1, nodeId: this.nodeId, at: this.engine.clock.now(), total, connections, rates: this.counters.rates() }
  }

  #describe (conn: Connection): AdminConnection {
    const counts = this.counters.connection(conn)
    const rooms: string[] = []
    for (const room of conn.rooms) {
      if (rooms.length === MAX_ROOMS_PER_CONNECTION) break
      rooms.push(room)
    }
    return {
      id: conn.id,
      node: this.nodeId,
      userId: conn.identity.userId,
      role: conn.identity.role,
      rooms,
      connectedAt: conn.connectedAt,
      lastActive: conn.lastActive,
      eventsIn: counts.in,
      eventsOut: counts.out
    }
  }

  async #publish (): Promise<void> {
    const admin = this.engine.backend.admin
    if (admin === undefined || !this.#started) return
    await admin.publishSnapshot(this.engine.namespace, this.nodeId, JSON.stringify(this.snapshot()), SNAPSHOT_TTL_MS)
  }

  /** Every node's snapshot: this node's fresh one first, then the other live nodes' from the backend. */
  async nodes (): Promise<NodeSnapshot[]> {
    const self = this.snapshot()
    const out = [self]
    const admin = this.engine.backend.admin
    if (admin === undefined) return out
    for (const text of await admin.snapshots(this.engine.namespace)) {
      const snap = parseSnapshot(text)
      if (snap !== null && snap.nodeId !== self.nodeId) out.push(snap)
    }
    return out
  }

  /** Connections of every node, oldest first, at most MAX_LISTED_CONNECTIONS. */
  async connections (nodes?: NodeSnapshot[]): Promise<{ total: number, truncated: boolean, items: AdminConnection[] }> {
    nodes ??= await this.nodes()
    let total = 0
    const items: AdminConnection[] = []
    for (const node of nodes) {
      total += node.total
      items.push(...node.connections)
    }
    items.sort((a, b) => a.connectedAt - b.connectedAt || (a.id < b.id ? -1 : 1))
    const truncated = items.length > MAX_LISTED_CONNECTIONS || total > items.length
    return { total, truncated, items: items.slice(0, MAX_LISTED_CONNECTIONS) }
  }

  /** Rooms of every node with their members (static rooms included), by name. */
  async rooms (): Promise<{ total: number, truncated: boolean, items: AdminRoom[] }> {
    const rooms = this.engine.rooms
    const statics = new Set(rooms.staticRooms.map((r) => r.name))
    const names = (await rooms.list()).sort()
    const items: AdminRoom[] = await Promise.all(names.slice(0, MAX_LISTED_ROOMS).map(async (name) => {
      const members = (await rooms.members(name)).sort()
      return { name, static: statics.has(name), memberCount: members.length, members: members.slice(0, MAX_LISTED_MEMBERS) }
    }))
    return { total: names.length, truncated: names.length > MAX_LISTED_ROOMS, items }
  }

  /** Per-event rates summed over every node, busiest first. */
  async rates (nodes?: NodeSnapshot[]): Promise<EventRate[]> {
    nodes ??= await this.nodes()
    const sum = new Map<string, EventRate>()
    for (const node of nodes) {
      for (const r of node.rates) {
        const acc = sum.get(r.event)
        if (acc === undefined) sum.set(r.event, { ...r })
        else {
          acc.inPerSec += r.inPerSec
          acc.outPerSec += r.outPerSec
          acc.totalIn += r.totalIn
          acc.totalOut += r.totalOut
        }
      }
    }
    return [...sum.values()].sort((a, b) => (b.inPerSec + b.outPerSec) - (a.inPerSec + a.outPerSec) || (b.totalIn + b.totalOut) - (a.totalIn + a.totalOut) || (a.event < b.event ? -1 : 1))
  }

  /** Everything the Admin tab shows, in one answer. */
  async state (): Promise<Record<string, unknown>> {
    const nodes = await this.nodes()
    const [connections, rooms, rates] = await Promise.all([this.connections(nodes), this.rooms(), this.rates(nodes)])
    return {
      namespace: this.engine.namespace,
      node: this.nodeId,
      at: this.engine.clock.now(),
      nodes: nodes.map((n) => ({ nodeId: n.nodeId, at: n.at, connections: n.total, self: n.nodeId === this.nodeId })),
      connections,
      rooms,
      rates
    }
  }

  /**
   * Close a connection with code 1000 (as `conn.disconnect()`) and `reason`,
   * on whichever node holds it: 200 when it was on this node, 202 when the
   * command went to its node, 404 when no node has it.
   */
  async disconnect (id: string, reason = ADMIN_DISCONNECT_REASON): Promise<AdminOutcome> {
    if (!REASON.test(reason)) {
      return { status: 400, body: { statusCode: 400, error: 'Bad Request', message: 'reason must be 1 to 64 letters, digits, spaces or . : _ -' } }
    }
    if (this.#closeLocal(id, reason)) return { status: 200, body: { disconnected: true, connection: id, node: this.nodeId, code: CloseCode.NORMAL, reason } }
    const admin = this.engine.backend.admin
    if (admin !== undefined) {
      const nodes = await this.nodes()
      const holder = nodes.find((n) => n.nodeId !== this.nodeId && n.connections.some((c) => c.id === id))
      // Not in a (bounded) listing: ask every node that lists fewer than it holds, if presence knows the id.
      const targets = holder !== undefined
        ? [holder]
        : (await this.engine.rooms.connections()).includes(id) ? nodes.filter((n) => n.nodeId !== this.nodeId && n.total > n.connections.length) : []
      const command = JSON.stringify({ type: 'disconnect', connection: id, reason } satisfies Command)
      const sent: string[] = []
      for (const node of targets) {
        if (await admin.command(this.engine.namespace, node.nodeId, command)) sent.push(node.nodeId)
      }
      if (sent.length > 0) return { status: 202, body: { disconnected: 'requested', connection: id, node: sent.length === 1 ? sent[0] : sent, code: CloseCode.NORMAL, reason } }
    }
    return { status: 404, body: { statusCode: 404, error: 'Not Found', message: `No node holds connection '${id}'` } }
  }

  #closeLocal (id: string, reason: string): boolean {
    const conn = this.engine.connections.get(id)
    if (conn === undefined || !conn.open) return false
    this.engine.log.info({ connectionId: id, reason }, 'admin view disconnects a connection')
    this.engine.close(conn, CloseCode.NORMAL, reason)
    return true
  }

  #onCommand (text: string): void {
    let command: Partial<Command>
    try {
      command = JSON.parse(text) as Partial<Command>
    } catch {
      return
    }
    if (command?.type === 'disconnect' && typeof command.connection === 'string' && typeof command.reason === 'string' && REASON.test(command.reason)) {
      this.#closeLocal(command.connection, command.reason)
    }
  }
}

function parseSnapshot (text: string): NodeSnapshot | null {
  try {
    const snap = JSON.parse(text) as NodeSnapshot
    if (snap?.v !== 1 || typeof snap.nodeId !== 'string' || !Array.isArray(snap.connections) || !Array.isArray(snap.rates)) return null
    return snap
  } catch {
    return null
  }
}
