import fp from 'fastify-plugin'
import websocket from '@fastify/websocket'
import type { FastifyBaseLogger, FastifyInstance } from 'fastify'
import type { IncomingMessage } from 'node:http'
import { resolveOptions, type SocketspecOptions } from '../lib/options.js'
import { Engine } from '../lib/engine.js'
import { contractHash } from '../lib/contract-hash.js'
import { SocketApp } from '../lib/socket-app.js'
import { compileOriginCheck } from '../lib/origin.js'
import { FST_SOCKETSPEC_INVALID_OPTION } from '../lib/errors.js'
import { redactQuery, selectProtocol, sensitiveNames } from '../lib/auth/token.js'
import { sensitiveQueryOf } from '../lib/auth/index.js'
import { kInject, kSocketApps, kWsOwner } from '../lib/symbols.js'
import { metricsHub } from '../lib/metrics.js'
import type { AdminView } from '../lib/admin/view.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The socketspec decorator (when registered with the default `decorator: 'socket'`). */
    socket: SocketApp
  }
}

// pino's public symbol (Symbol.for, stable across pino versions) for its `hooks` option.
const kPinoHooks = Symbol.for('pino.hooks')
const kRedactedNames = Symbol('socketspec.redactedNames')

interface PinoHooks {
  streamWrite?: (line: string) => string
  [kRedactedNames]?: Set<string>
}

/**
 * Redact secret query parameters from every line the Fastify logger writes.
 * Every per-request logger of the server (every route, whenever registered, the
 * 404 handlers, @fastify/websocket's lines) is a pino child of the one root
 * logger that every encapsulated context shares as `fastify.log`; pino children
 * are `Object.create(parent)` and read `this[hooks].streamWrite` on each write,
 * so one own `hooks` object on that logger covers them all, whenever they were
 * created. It works on the finished line, so it also covers an app's own `req`
 * serializer and the 404 message (`Route GET:/x?token=… not found`). Returns
 * false when the logger is not pino (nothing can be redacted then).
 */
function redactLogs (log: FastifyBaseLogger, extraNames: readonly string[]): boolean {
  const logger = log as unknown as Record<symbol, PinoHooks | undefined>
  const hooks = logger[kPinoHooks]
  if (hooks == null) return false
  const installed = Object.hasOwn(logger, kPinoHooks) ? hooks[kRedactedNames] : undefined
  if (installed !== undefined) {
    // another socketspec registration on the same server: one hook, more names
    for (const n of extraNames) installed.add(n.toLowerCase())
    return true
  }
  const names = sensitiveNames(extraNames)
  const next = hooks.streamWrite
  logger[kPinoHooks] = {
    ...hooks,
    [kRedactedNames]: names,
    streamWrite: typeof next === 'function'
      ? (line: string) => next(redactQuery(line, names))
      : (line: string) => redactQuery(line, names)
  }
  return true
}

type HandleProtocols = (protocols: Set<string>, request: IncomingMessage) => string | false

function pathKey (url = ''): string {
  const q = url.indexOf('?')
  return (q === -1 ? url : url.slice(0, q)).replace(/\/+$/, '')
}

/** The app's own `handleProtocols` for its routes, `selectProtocol` for socketspec's. */
function protocolsFor (routeUrl: string, appHandler: HandleProtocols): HandleProtocols {
  const key = pathKey(routeUrl)
  return (protocols, request) => pathKey(request.url) === key ? selectProtocol(protocols) : appHandler(protocols, request)
}

/**
 * The socketspec plugin: validates options, registers @fastify/websocket
 * (unless the app already did), the WebSocket route at `path`, the docs when
 * asked, and decorates the instance with the SocketApp (`socket` by default).
 *
 * @example
 * await app.register(socketspec, { path: '/ws', docs: true })
 * app.socket.on('ping', {}, (conn) => conn.emit('pong', {}))
 */
async function socketspec (fastify: FastifyInstance, options: SocketspecOptions): Promise<void> {
  const opts = resolveOptions(options)
  if (fastify.hasDecorator(opts.decorator)) {
    throw new FST_SOCKETSPEC_INVALID_OPTION('decorator', `'${opts.decorator}' is already a decorator of this instance; register each namespace in its own context or pick another decorator name`)
  }
  if (!redactLogs(fastify.log, sensitiveQueryOf(opts.auth))) {
    fastify.log.warn('socketspec cannot redact tokens from this logger (it is not pino): do not log request URLs')
  }
  const engine = new Engine(opts, fastify.log.child({ plugin: 'socketspec', namespace: opts.namespace }))
  // prom-client is an optional peer dependency: imported only now (FST_SOCKETSPEC_MISSING_DEPENDENCY without it).
  if (opts.metrics !== false) engine.metricsHub = await metricsHub(opts.metrics)
  const app = new SocketApp(engine)
  fastify.decorate(opts.decorator, app)

  const server = fastify.server as typeof fastify.server & { [kWsOwner]?: boolean, [kSocketApps]?: Map<string, SocketApp> }
  // The http server is shared by every encapsulated context: TestClient finds a namespace by path here.
  const apps = server[kSocketApps] ?? (server[kSocketApps] = new Map())
  apps.set(opts.path, app)

  if (!fastify.hasDecorator('websocketServer')) {
    const upgradeBefore = server.listeners('upgrade')
    await fastify.register(websocket, {
      options: {
        // ws enforces the hard cap itself and closes 1009; smaller oversize frames get PAYLOAD_TOO_LARGE.
        maxPayload: engine.hardCap,
        handleProtocols: selectProtocol,
        perMessageDeflate: false
      },
      // ws already closes the socket with the right code after a protocol error;
      // the default handler would terminate it before the close frame is flushed.
      errorHandler: (error, _socket, request) => {
        request.log.debug({ err: { message: error.message, code: (error as any).code } }, 'websocket error')
      },
      // socketspec's own preClose hook shuts connections down gracefully.
      preClose: (done) => { done() }
    })
    if (server[kWsOwner] === true) {
      // Another encapsulated socketspec registration already listens for upgrades on
      // this server and routes them through the shared router; a second listener would
      // route every upgrade twice. Keep this context's @fastify/websocket route hooks only.
      for (const l of server.listeners('upgrade')) {
        if (!upgradeBefore.includes(l)) server.removeListener('upgrade', l as (...args: any[]) => void)
      }
    }
    server[kWsOwner] = true
  } else {
    // The app registered @fastify/websocket itself: socketspec's route still selects only
    // `socketspec`; the app's own handleProtocols, if any, keeps deciding for its routes.
    const wssOptions = (fastify as any).websocketServer?.options as { handleProtocols?: HandleProtocols } | undefined
    if (wssOptions !== undefined) {
      const own = wssOptions.handleProtocols
      if (own == null) wssOptions.handleProtocols = selectProtocol
      else if (own !== selectProtocol) wssOptions.handleProtocols = protocolsFor(fastify.prefix + opts.path, own)
    }
  }

  // TestClient injects through the @fastify/websocket of this context (encapsulated ones included).
  app[kInject] = (fastify as any).injectWS?.bind(fastify)

  const originAllowed = compileOriginCheck(opts.allowedOrigins)
  fastify.route({
    method: 'GET',
    url: opts.path,
    schema: { hide: true } as any,
    onRequest: async (request, reply) => {
      if (!originAllowed(request.headers.origin)) {
        return reply.code(403).send({ statusCode: 403, error: 'Forbidden', message: 'Origin not allowed' })
      }
      if (engine.shuttingDown) {
        return reply.code(503).header('retry-after', '1').send({ statusCode: 503, error: 'Service Unavailable', message: 'Server is shutting down' })
      }
      if (opts.maxConnections !== undefined && engine.connections.size >= opts.maxConnections) {
        return reply.code(503).header('retry-after', '1').send({ statusCode: 503, error: 'Service Unavailable', message: 'Too many connections' })
      }
    },
    handler: async (_request, reply) => {
      return reply.code(426).header('upgrade', 'websocket').send({ statusCode: 426, error: 'Upgrade Required', message: 'This route only accepts WebSocket connections' })
    },
    wsHandler: (socket, request) => { engine.accept(socket, request) }
  })

  if (opts.docs) {
    const { default: docs } = await import('./docs.js')
    await fastify.register(docs, { docsUrl: opts.docsUrl, docsAccessToken: opts.docsAccessToken, document: () => app.asyncapi() })
  }

  // Admin view (SPEC §14) and publish API (SPEC §13): routes in their own contexts, hidden from OpenAPI.
  let adminView: AdminView | null = null
  if (opts.admin !== undefined) {
    const [{ AdminView }, { adminRoutes }] = await Promise.all([import('../lib/admin/view.js'), import('../lib/admin/routes.js')])
    adminView = new AdminView(engine)
    await fastify.register(adminRoutes, { view: adminView, docsUrl: opts.docsUrl, token: opts.admin.token })
  }
  if (opts.publishApi !== undefined) {
    const { publishApiRoutes } = await import('../lib/publish-api.js')
    await fastify.register(publishApiRoutes, { engine, ...opts.publishApi })
  }

  fastify.addHook('onReady', async () => {
    await engine.start()
    // __connect__ carries a hash of the AsyncAPI document so a long-lived client learns that the API changed.
    engine.contract = contractHash(app.asyncapi())
    await adminView?.start()
  })
  fastify.addHook('preClose', async () => {
    await adminView?.stop()
    await engine.shutdown()
  })
}

/** The socketspec Fastify plugin. */
export const plugin = fp(socketspec, { fastify: '5.x', name: 'socketspec', encapsulate: false })
export default plugin
