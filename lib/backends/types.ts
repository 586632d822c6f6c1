import type { FastifyBaseLogger } from 'fastify'
import type { HistoryLimits, SharedHistory } from '../history.js'

/**
 * What the plugin gives a backend at start: where it lives and how to deliver
 * frames that arrive from other nodes to this node's local connections.
 * Frames are complete, already serialized wire frames (JSON text).
 */
export interface BackendContext {
  /** Namespace of the plugin registration using this backend (one adapter instance may serve several). */
  namespace: string
  /** Unique id of this process/node (uuid), stable for the adapter's lifetime. */
  nodeId: string
  log: FastifyBaseLogger
  /** Heartbeat interval in seconds; a dead node's members must be purged within 2x this. */
  heartbeatInterval: number
  /**
   * Deliver a frame to the local members of `room`, skipping connection ids in `except`. Returns the number of deliveries.
   * `offset`, `epoch`: a broadcast recorded by the adapter's shared history (see `history`), delivered on every node, the publisher's included.
   */
  deliverRoom (room: string, frame: string, except?: readonly string[], offset?: number, epoch?: string): number
  /** Deliver a frame to every local connection of the namespace. */
  deliverAll (frame: string): number
  /** Deliver a frame to one local connection; false when it is not on this node. */
  deliverConnection (connectionId: string, frame: string): boolean
  /**
   * This node's connection ids, read from the plugin's local index (the source of
   * truth). A distributed adapter re-registers them after the shared store came back.
   */
  localConnections (): Iterable<string>
  /** This node's room memberships: each non-empty local room with its local connection ids. */
  localMemberships (): Iterable<[room: string, connectionIds: Iterable<string>]>
}

/** Counters an adapter reports; merged into `stats()` under `backend`. */
export interface BackendStats {
  /** Errors talking to the shared store (e.g. Redis down), since the adapter was created. */
  errors: number
  /** Messages published to other nodes. */
  published: number
  /** Messages received from other nodes. */
  received: number
  /**
   * Adapter-specific counters, e.g. redisBackend's `foreign`: room messages
   * received for rooms this node has no local member in (sharded delivery:
   * 0 outside join/leave races).
   */
  [key: string]: number
}

/**
 * The seam between one process and the cluster: room membership, room
 * existence, presence, and delivery of room / namespace / connection messages
 * to the other nodes. The plugin always delivers to local connections itself
 * (so local delivery never depends on the backend); `publish*` only needs to
 * reach the *other* nodes, which then call their own context's `deliver*`.
 *
 * Every method should resolve even when the shared store is unreachable (log,
 * rate-limited, count the error in `stats()`, and answer with what it knows,
 * possibly nothing): the plugin merges the answers of `members`, `exists` and
 * `rooms` with its own local index, and also catches and logs a rejection, so
 * a backend failure never crashes the process or fails a handler.
 */
export interface BackendAdapter {
  readonly name: string
  /**
   * Called once per namespace at `ready`, before any connection. One adapter
   * instance is one node: it may serve several namespaces, but each namespace
   * only once (a second `start` for a running namespace rejects).
   */
  start (ctx: BackendContext): Promise<void>
  /** Called at `fastify.close()` after every connection is gone: remove this node's presence and stop. */
  stop (namespace: string): Promise<void>

  /** A connection joined this node (presence). */
  addConnection (namespace: string, connectionId: string): Promise<void>
  /** A connection left this node; the plugin has already called `leave` for each of its rooms. */
  removeConnection (namespace: string, connectionId: string): Promise<void>

  join (namespace: string, room: string, connectionId: string): Promise<void>
  leave (namespace: string, room: string, connectionId: string): Promise<void>
  /** Connection ids in `room` on every node. */
  members (namespace: string, room: string): Promise<string[]>
  /** True when the room has at least one member on any node. Static rooms are the plugin's business. */
  exists (namespace: string, room: string): Promise<boolean>
  /** Every non-empty room of the namespace, on every node. */
  rooms (namespace: string): Promise<string[]>
  /** Every connection id of the namespace on every node (presence). */
  connections (namespace: string): Promise<string[]>

  /** Send a frame to the members of `room` on the other nodes (one publish). */
  publishRoom (namespace: string, room: string, frame: string, except?: readonly string[]): Promise<void>
  /** Send a frame to every connection of the namespace on the other nodes. */
  publishAll (namespace: string, frame: string): Promise<void>
  /** Send a frame to one connection that lives on another node. */
  publishConnection (namespace: string, connectionId: string, frame: string): Promise<void>

  stats (): BackendStats

  /**
   * Optional: the room history session recovery uses with this adapter (SPEC §12),
   * shared by every node. Called once per namespace, before `start`. Without it,
   * `recovery` is refused for this adapter.
   */
  history? (namespace: string, limits: HistoryLimits): SharedHistory

  /**
   * Optional: a publish-only handle on the cluster for a process that runs no
   * WebSocket server (`createEmitter` of `socketspec/emitter`, SPEC §13): no
   * subscription, no presence, no liveness, its own node id (so every node
   * delivers its frames). Without it, `createEmitter` refuses the adapter
   * (right for a single-process adapter such as `memory`).
   */
  publisher? (namespace: string): BackendPublisher

  /**
   * Optional: what the admin view (`admin` option, SPEC §14) needs to show and
   * act on the connections of the other nodes. Without it the admin view shows
   * this node only (right for a single-node adapter such as `memory`).
   */
  readonly admin?: BackendAdmin
}

/**
 * A publish-only handle on the cluster (`BackendAdapter.publisher`), used by
 * `socketspec/emitter`. Frames are complete wire frames (JSON text). Like the
 * adapter's methods, these never reject: they resolve false (or empty) when
 * the shared store could not take the message, and count it in `stats().errors`.
 */
export interface BackendPublisher {
  /** This publisher's node id (e.g. `emitter:<uuid>`), different from every node's. */
  readonly nodeId: string
  /**
   * Send a room broadcast to the members of `room` on every node. With session
   * recovery on in the namespace, it gets an offset and is kept in the room's
   * history like a node's broadcast. Resolves true once the store took it.
   */
  publishRoom (room: string, frame: string): Promise<boolean>
  /** Send a frame to every connection of the namespace on every node. */
  publishAll (frame: string): Promise<boolean>
  /** Send a frame to one connection, on the node that holds it; false when no node holds it. */
  publishConnection (connectionId: string, frame: string): Promise<boolean>
  /** Connection ids in `room` on every node. */
  members (room: string): Promise<string[]>
  stats (): BackendStats
  /** Close the handle's connection to the store. */
  close (): Promise<void>
}

/**
 * Cross-node support of the admin view. Snapshots and commands are opaque
 * JSON strings made by the plugin; they never travel on a client's wire.
 * Like every adapter method these must resolve even when the shared store is
 * down (count the error, answer with what is known).
 */
export interface BackendAdmin {
  /** Store this node's snapshot, readable by the other nodes for `ttlMs` (the plugin rewrites it every ~2 s). */
  publishSnapshot (namespace: string, nodeId: string, snapshot: string, ttlMs: number): Promise<void>
  /** The snapshots of every node whose snapshot has not expired, this node's included. */
  snapshots (namespace: string): Promise<string[]>
  /** Receive the commands other nodes send to `nodeId` (until `unlisten`). */
  listen (namespace: string, nodeId: string, onCommand: (command: string) => void): Promise<void>
  /** Stop receiving commands and remove this node's snapshot. */
  unlisten (namespace: string, nodeId: string): Promise<void>
  /** Send a command to node `nodeId`; resolves true when a listening node received it. */
  command (namespace: string, nodeId: string, command: string): Promise<boolean>
}
