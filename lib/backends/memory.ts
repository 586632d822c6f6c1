import type { BackendAdapter, BackendContext, BackendStats } from './types.js'
import { FST_SOCKETSPEC_INVALID_OPTION } from '../errors.js'

interface Space {
  rooms: Map<string, Set<string>>
  connections: Set<string>
}

/**
 * The default backend: everything stays in this process, so there are no other
 * nodes to publish to. One instance serves any number of namespaces (each once).
 *
 * @example
 * await app.register(socketspec, { backend: memoryBackend() }) // same as backend: 'memory'
 */
export function memoryBackend (): BackendAdapter {
  return new MemoryBackend()
}

class MemoryBackend implements BackendAdapter {
  readonly name = 'memory'
  readonly #spaces = new Map<string, Space>()
  readonly #started = new Set<string>()

  async start (ctx: BackendContext): Promise<void> {
    if (this.#started.has(ctx.namespace)) {
      throw new FST_SOCKETSPEC_INVALID_OPTION('backend', `this memory backend already serves namespace '${ctx.namespace}'; it holds a single node, use redisBackend() for several`)
    }
    this.#started.add(ctx.namespace)
  }

  async stop (namespace: string): Promise<void> {
    this.#started.delete(namespace)
    this.#spaces.delete(namespace)
  }

  async addConnection (namespace: string, connectionId: string): Promise<void> {
    this.#space(namespace).connections.add(connectionId)
  }

  async removeConnection (namespace: string, connectionId: string): Promise<void> {
    this.#spaces.get(namespace)?.connections.delete(connectionId)
  }

  async join (namespace: string, room: string, connectionId: string): Promise<void> {
    const rooms = this.#space(namespace).rooms
    let members = rooms.get(room)
    if (members === undefined) {
      members = new Set()
      rooms.set(room, members)
    }
    members.add(connectionId)
  }

  async leave (namespace: string, room: string, connectionId: string): Promise<void> {
    const rooms = this.#spaces.get(namespace)?.rooms
    const members = rooms?.get(room)
    if (members === undefined) return
    members.delete(connectionId)
    if (members.size === 0) rooms!.delete(room)
  }

  async members (namespace: string, room: string): Promise<string[]> {
    const members = this.#spaces.get(namespace)?.rooms.get(room)
    return members === undefined ? [] : [...members]
  }

  async exists (namespace: string, room: string): Promise<boolean> {
    return this.#spaces.get(namespace)?.rooms.has(room) ?? false
  }

  async rooms (namespace: string): Promise<string[]> {
    const rooms = this.#spaces.get(namespace)?.rooms
    return rooms === undefined ? [] : [...rooms.keys()]
  }

  async connections (namespace: string): Promise<string[]> {
    const connections = this.#spaces.get(namespace)?.connections
    return connections === undefined ? [] : [...connections]
  }

  // A single node: the plugin has already delivered locally, nobody else to reach.
  async publishRoom (): Promise<void> {}
  async publishAll (): Promise<void> {}
  async publishConnection (): Promise<void> {}

  stats (): BackendStats {
    return { errors: 0, published: 0, received: 0 }
  }

  #space (namespace: string): Space {
    let space = this.#spaces.get(namespace)
    if (space === undefined) {
      space = { rooms: new Map(), connections: new Set() }
      this.#spaces.set(namespace, space)
    }
    return space
  }
}
