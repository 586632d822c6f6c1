import type { SchemaLike } from './schema-types.js'
import type { ResumeHook } from './recovery.js'
import type { Connection, RoomTarget } from './connection.js'
import type { ConnectHook, DisconnectHook, Engine, ErrorHook, Middleware } from './engine.js'
import { FST_SOCKETSPEC_ALREADY_STARTED, FST_SOCKETSPEC_INVALID_HOOK, FST_SOCKETSPEC_NOT_READY } from './errors.js'
import { buildAsyncApi } from './asyncapi.js'
import { appPackage } from './app-package.js'
import { kEngine, kInject } from './symbols.js'
import type { BroadcastDeclaration, ConnectionFor, EmitDeclaration, EventOptions, HandlerContext, OutboundMap, PayloadOf, ReplyDeclaration, ReplyValue, SocketStats } from './types.js'
import type { BackendStats } from './backends/types.js'

/**
 * Handler of an event: `payload` is typed from the event's TypeBox schema,
 * `conn.emit` / `conn.to(room).emit` from its declared `emits` and
 * `broadcasts` (`M`), and the return value from its `reply` (`Ret`).
 */
export type EventHandler<P extends SchemaLike | undefined, D extends Record<string, unknown>, M = Record<never, never>, Ret = unknown> =
  (conn: ConnectionFor<M>, payload: PayloadOf<P>, ctx: HandlerContext<D>) => Ret

/** Options of `rooms.broadcast`. */
export interface BroadcastOptions {
  /** Connection ids that must not receive the frame. */
  except?: readonly string[]
}

/** Server-side room operations (`app.socket.rooms`). */
export interface RoomsApi {
  /** Add a connection to a room (guards run first; PERMISSION_ERROR when refused). */
  join (conn: Connection, room: string): Promise<void>
  leave (conn: Connection, room: string): Promise<void>
  /** Send an event to every member on every node; ROOM_NOT_FOUND when the room does not exist. */
  broadcast (room: string, event: string, payload?: unknown, options?: BroadcastOptions): Promise<void>
  /** Connection ids in the room, on every node. */
  members (room: string): Promise<string[]>
  exists (room: string): Promise<boolean>
  /** Static rooms and every non-empty dynamic room. */
  list (): Promise<string[]>
}

/**
 * The decorator (`app.socket`): declare events, hooks, middleware and room
 * guards; emit to rooms, connections and the whole namespace.
 *
 * @example
 * app.socket.on('add', {
 *   payload: Type.Object({ a: Type.Number(), b: Type.Number() }),
 *   reply: { event: 'sum', schema: Type.Object({ sum: Type.Number() }) }
 * }, async (conn, { a, b }) => ({ sum: a + b }))
 */
export class SocketApp {
  /** @internal */ readonly [kEngine]: Engine
  /** @internal @fastify/websocket's injectWS of the registering context (for TestClient) */ [kInject]?: (...args: any[]) => Promise<unknown>
  readonly rooms: RoomsApi
  private document: Record<string, unknown> | null = null

  constructor (engine: Engine) {
    this[kEngine] = engine
    const e = engine
    this.rooms = {
      join: (conn, room) => e.rooms.join(conn, room),
      leave: (conn, room) => e.rooms.leave(conn, room),
      broadcast: async (room, event, payload, options) => {
        this.assertStarted('rooms.broadcast()')
        await e.rooms.broadcast(room, e.serializer.frame(event, payload), options?.except)
      },
      members: (room) => e.rooms.members(room),
      exists: (room) => e.rooms.exists(room),
      list: () => e.rooms.list()
    }
  }

  /** WebSocket route of this namespace. */
  get path (): string { return this[kEngine].opts.path }
  /** Namespace of this registration. */
  get namespace (): string { return this[kEngine].namespace }

  private assertNotStarted (what: string): void {
    if (this[kEngine].started) throw new FST_SOCKETSPEC_ALREADY_STARTED(what)
  }

  /** Sending needs the compiled serializers and the started backend. */
  private assertStarted (what: string): void {
    if (!this[kEngine].started) throw new FST_SOCKETSPEC_NOT_READY(what)
  }

  /**
   * Declare an event. Checked and compiled at `ready` (reserved or duplicate
   * names and invalid schemas make `ready` fail with a coded error).
   *
   * @example
   * app.socket.on('echo', { payload: Type.Object({ echo: Type.String() }) }, (conn, p) => conn.emit('echo_response', p))
   */
  on<
    P extends SchemaLike | undefined = undefined,
    D extends Record<string, unknown> = Record<never, never>,
    const E extends readonly EmitDeclaration[] = [],
    const B extends readonly BroadcastDeclaration[] = [],
    const R extends ReplyDeclaration | undefined = undefined
  >(event: string, options: EventOptions<P, D, E, B, R>, handler: EventHandler<P, D, OutboundMap<E, B, R>, ReplyValue<R>>): this
  on (event: string, handler: EventHandler<undefined, Record<never, never>>): this
  on (event: string, optionsOrHandler: any, maybeHandler?: any): this {
    this.assertNotStarted('on')
    const options: EventOptions<any, any, any, any, any> = typeof optionsOrHandler === 'function' ? {} : (optionsOrHandler ?? {})
    const handler = typeof optionsOrHandler === 'function' ? optionsOrHandler : maybeHandler
    this[kEngine].registry.add({
      name: event,
      payload: options.payload,
      description: options.description,
      summary: options.summary,
      tags: options.tags ?? [],
      emits: options.emits ?? [],
      broadcasts: options.broadcasts ?? [],
      reply: options.reply,
      ordered: options.ordered === true,
      deprecated: options.deprecated === true,
      rateLimit: options.rateLimit,
      deps: options.deps,
      handler,
      definedAt: callSite(this.on)
    })
    return this
  }

  private hook<T> (name: string, list: T[], fn: T): this {
    if (typeof fn !== 'function') throw new FST_SOCKETSPEC_INVALID_HOOK(name)
    list.push(fn)
    return this
  }

  /** Run after `__connect__` is sent, in registration order. */
  onConnect (fn: ConnectHook): this { return this.hook('onConnect', this[kEngine].hooks.connect, fn) }
  /** Run when a connection ends; `reason` is e.g. 'client_closed', 'idle_timeout', 'server_shutdown'. */
  onDisconnect (fn: DisconnectHook): this { return this.hook('onDisconnect', this[kEngine].hooks.disconnect, fn) }
  /** Run after a handler, dependency or middleware threw (after the `__error__` is sent). */
  onError (fn: ErrorHook): this { return this.hook('onError', this[kEngine].hooks.error, fn) }
  /**
   * Run after a successful `__resume__` (SPEC §12), with the id of the connection
   * whose session was taken over and whether every room was recovered.
   *
   * @example
   * app.socket.onResume((conn, { previousId, recovered }) => conn.log.info({ previousId, recovered }, 'resumed'))
   */
  onResume (fn: ResumeHook): this {
    const recovery = this[kEngine].recovery
    if (typeof fn !== 'function') throw new FST_SOCKETSPEC_INVALID_HOOK('onResume')
    // Without recovery there is never a resume: the hook is kept nowhere, like a listener of an event that never fires.
    if (recovery !== null) recovery.hooks.push(fn)
    return this
  }

  /** Run after a connection joined a room. */
  onRoomJoin (fn: (conn: Connection, room: string) => unknown): this {
    if (typeof fn !== 'function') throw new FST_SOCKETSPEC_INVALID_HOOK('onRoomJoin')
    this[kEngine].rooms.onJoin(fn as any)
    return this
  }

  /** Run after a connection left a room (also on disconnect). */
  onRoomLeave (fn: (conn: Connection, room: string) => unknown): this {
    if (typeof fn !== 'function') throw new FST_SOCKETSPEC_INVALID_HOOK('onRoomLeave')
    this[kEngine].rooms.onLeave(fn as any)
    return this
  }

  /**
   * Guard the rooms matching `pattern` ('admin:{section}'); a false answer refuses the join with PERMISSION_ERROR.
   *
   * @example
   * app.socket.roomGuard('team:{team}', (conn, { team }) => conn.identity.extra.team === team)
   */
  roomGuard (pattern: string, fn: (conn: Connection, params: Record<string, string>) => boolean | Promise<boolean>): this {
    if (typeof fn !== 'function') throw new FST_SOCKETSPEC_INVALID_HOOK('roomGuard')
    this[kEngine].rooms.addGuard(pattern, fn as any)
    return this
  }

  /**
   * Add a middleware, run in registration order before validation; call `await next()` to continue.
   *
   * @example
   * app.socket.middleware(async (conn, event, payload, next) => { const t = Date.now(); await next(); conn.log.info({ event, ms: Date.now() - t }) })
   */
  middleware (fn: Middleware): this {
    this.assertNotStarted('middleware')
    return this.hook('middleware', this[kEngine].middleware, fn)
  }

  /** Target every member of a room on every node. */
  to (room: string): RoomTarget {
    const e = this[kEngine]
    return {
      emit: async (event: string, payload?: unknown) => {
        this.assertStarted('to(room).emit()')
        await e.rooms.broadcast(room, e.serializer.frame(event, payload))
      }
    }
  }

  /** Send an event to every connection of the namespace, on every node. */
  async emit (event: string, payload?: unknown): Promise<void> {
    this.assertStarted('emit()')
    const e = this[kEngine]
    await e.rooms.emitAll(e.serializer.frame(event, payload))
  }

  /** The local Connection with this id, or undefined. */
  connection (id: string): Connection | undefined {
    const c = this[kEngine].connections.get(id)
    return c !== undefined && c.open ? c : undefined
  }

  /** Target one connection wherever it lives. */
  toConnection (id: string): RoomTarget {
    const e = this[kEngine]
    return {
      emit: async (event: string, payload?: unknown) => {
        this.assertStarted('toConnection(id).emit()')
        await e.rooms.toConnection(id, e.serializer.frame(event, payload))
      }
    }
  }

  /** The AsyncAPI 3.0 document of this namespace (built once, after ready). */
  asyncapi (): Record<string, unknown> {
    const e = this[kEngine]
    if (!e.started) throw new FST_SOCKETSPEC_NOT_READY('asyncapi()')
    if (this.document === null) {
      const o = e.opts
      const pkg = o.title === undefined || o.version === undefined ? appPackage() : {}
      this.document = buildAsyncApi({
        title: o.title ?? pkg.name,
        version: o.version ?? pkg.version,
        path: o.path,
        namespace: o.namespace,
        events: e.registry.definitions(),
        rooms: o.rooms,
        roomGuards: e.rooms.guardPatterns(),
        auth: o.auth !== undefined ? { kind: o.auth.kind } : undefined,
        session: o.session,
        rateLimit: o.rateLimit,
        maxPayloadSize: o.maxPayloadSize
      })
    }
    return this.document
  }

  /**
   * Counters of this namespace on this node: `{connections, rooms, eventsIn, eventsOut, errors}`.
   * `errors` counts wire error codes sent, plus `BACKEND_ERROR` for failed backend calls (e.g. Redis down).
   */
  stats (): SocketStats {
    const e = this[kEngine]
    let connections = 0
    for (const c of e.connections.values()) if (c.open) connections++
    const errors = { ...e.stats.errors }
    const backendErrors = e.rooms.backendStats().errors
    if (backendErrors > 0) errors.BACKEND_ERROR = backendErrors
    return {
      connections,
      rooms: e.rooms.localRoomCount(),
      eventsIn: e.stats.eventsIn,
      eventsOut: e.stats.eventsOut,
      errors
    }
  }

  /** The backend adapter's own counters (errors, published, received, and adapter-specific ones). */
  backendStats (): BackendStats {
    return { ...this[kEngine].rooms.backendStats() }
  }
}

/** `file:line:column` of the caller of `fn` (the app's `on()` call), or undefined. */
function callSite (fn: (...args: any[]) => unknown): string | undefined {
  const holder: { stack?: string } = {}
  const limit = Error.stackTraceLimit
  Error.stackTraceLimit = 1
  Error.captureStackTrace(holder, fn)
  Error.stackTraceLimit = limit
  const line = holder.stack?.split('\n')[1]
  if (line === undefined) return undefined
  const m = /\(?((?:file|node):[^()]+|\/[^()]+):(\d+):(\d+)\)?\s*$/.exec(line)
  return m === null ? line.trim().replace(/^at /, '') : `${m[1].replace(/^file:\/\//, '')}:${m[2]}:${m[3]}`
}
