import type { BackendAdapter, BackendPublisher, BackendStats } from './backends/types.js'
import { FST_SOCKETSPEC_INVALID_OPTION, FST_SOCKETSPEC_RESERVED_EVENT, SocketError } from './errors.js'
import { MAX_ROOM_NAME_LENGTH, isValidRoomName } from './rooms.js'
import { isReservedName } from '../schemas/protocol.js'

export type { BackendPublisher } from './backends/types.js'
// what a worker needs, without the plugin (and Fastify) of the main entry
export { redisBackend, type RedisBackendOptions } from './backends/redis.js'

/** Options of `createEmitter()`. */
export interface EmitterOptions {
  /**
   * The cluster's backend, configured as the nodes' (same Redis, same
   * `keyPrefix`), e.g. `redisBackend({ url, keyPrefix })` or, on a Redis
   * Cluster, `redisBackend({ cluster, keyPrefix })`. It must offer
   * `publisher()`: the memory backend has no other process to reach.
   */
  backend: BackendAdapter
  /** Namespace to publish in (the nodes' `namespace` option). Default `'/'`. */
  namespace?: string
}

/** What `to(room)` and `toConnection(id)` return. */
export interface EmitterTarget {
  /**
   * Publish `{event, payload}` (JSON, no schema: the emitter has none).
   * Resolves true once the backend took it; false when it could not (Redis
   * unreachable, the emitter closed, or — for `toConnection` — no node holds
   * the connection). It never rejects for a backend failure: see `stats()`.
   */
  emit (event: string, payload?: unknown): Promise<boolean>
}

/** A publisher for processes that run no WebSocket server (SPEC §13). */
export interface Emitter {
  /** This emitter's node id (`emitter:<uuid>` with redisBackend). */
  readonly nodeId: string
  readonly namespace: string
  /** Every member of `room` on every node (with recovery on, recorded with an offset like a node's broadcast). */
  to (room: string): EmitterTarget
  /** Every connection of the namespace, on every node. */
  emit (event: string, payload?: unknown): Promise<boolean>
  /** One connection, on whichever node holds it. */
  toConnection (id: string): EmitterTarget
  readonly rooms: {
    /** Connection ids in `room` on every node. */
    members (room: string): Promise<string[]>
  }
  /** The backend handle's counters: `{errors, published, recorded, dropped, …}`. */
  stats (): BackendStats
  /** Close the connection to the backend; later calls resolve false (or empty). */
  close (): Promise<void>
}

/**
 * Publish to a socketspec cluster from a process that runs no WebSocket
 * server (workers, cron jobs): rooms, the whole namespace, one connection.
 * Frames are `JSON.stringify({ event, payload })`: the emitter knows no
 * schema, so nothing is validated or serialized by a declared schema.
 *
 * @example
 * import { createEmitter, redisBackend } from 'socketspec/emitter'
 *
 * const emitter = createEmitter({ backend: redisBackend({ url: process.env.REDIS_URL }) })
 * await emitter.to('news:eu').emit('headline', { title: 'Hello' })
 * await emitter.close()
 */
export function createEmitter (options: EmitterOptions): Emitter {
  if (options === null || typeof options !== 'object') throw new FST_SOCKETSPEC_INVALID_OPTION('backend', 'createEmitter takes { backend, namespace? }')
  const { backend, namespace = '/' } = options
  if (backend === null || typeof backend !== 'object') {
    throw new FST_SOCKETSPEC_INVALID_OPTION('backend', 'createEmitter needs a backend adapter such as redisBackend({ url, keyPrefix })')
  }
  if (typeof namespace !== 'string' || !namespace.startsWith('/')) {
    throw new FST_SOCKETSPEC_INVALID_OPTION('namespace', "must be a string starting with '/'")
  }
  if (typeof backend.publisher !== 'function') {
    throw new FST_SOCKETSPEC_INVALID_OPTION('backend', backend.name === 'memory'
      ? 'the memory backend has no other process to reach; use redisBackend({ url, keyPrefix }) with the nodes\' settings'
      : `backend '${String(backend.name)}' has no publisher(): it cannot publish from a process without a server`)
  }
  const publisher: BackendPublisher = backend.publisher(namespace)
  return {
    nodeId: publisher.nodeId,
    namespace,
    to (room) {
      checkRoom(room)
      return { emit: async (event, payload) => await publisher.publishRoom(room, frame(event, payload)) }
    },
    emit: async (event, payload) => await publisher.publishAll(frame(event, payload)),
    toConnection (id) {
      if (typeof id !== 'string' || id.length === 0) throw new SocketError('VALIDATION_ERROR', 'A connection id is a non-empty string')
      return { emit: async (event, payload) => await publisher.publishConnection(id, frame(event, payload)) }
    },
    rooms: {
      members: async (room) => {
        checkRoom(room)
        return await publisher.members(room)
      }
    },
    stats: () => publisher.stats(),
    close: async () => { await publisher.close() }
  }
}

/** The wire frame of an event: `{"event":…,"payload":…}`. */
function frame (event: string, payload: unknown): string {
  if (typeof event !== 'string' || event.length === 0) throw new SocketError('VALIDATION_ERROR', 'An event name is a non-empty string')
  if (isReservedName(event)) throw new FST_SOCKETSPEC_RESERVED_EVENT(event)
  return JSON.stringify({ event, payload })
}

function checkRoom (room: string): void {
  if (!isValidRoomName(room)) {
    throw new SocketError('VALIDATION_ERROR', 'Invalid room name', {
      errors: [{ path: '/room', message: `must be a non-empty string of at most ${MAX_ROOM_NAME_LENGTH} characters`, keyword: 'room' }]
    })
  }
}
