import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance, FastifyReply } from 'fastify'
import type { Engine } from './engine.js'
import { ErrorCode, isSocketError } from './errors.js'
import { createAjv, validatorFor } from './registry.js'
import { bearerCheck, unauthorized } from './admin/bearer.js'
import { MAX_ROOM_NAME_LENGTH } from './rooms.js'

/** Body of `POST publishApi.path` and of the admin view's broadcast (SPEC §13). */
export const PublishBodySchema = Type.Object({
  room: Type.Optional(Type.String({ minLength: 1, maxLength: MAX_ROOM_NAME_LENGTH, description: 'Broadcast to the members of this room on every node.' })),
  connection: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'Send to this connection, on whichever node it lives.' })),
  event: Type.String({ minLength: 1, maxLength: 256, description: 'An outbound event declared in some emits, broadcasts or reply.' }),
  payload: Type.Optional(Type.Unknown({ description: 'Checked against the event\'s declared schema; {} when omitted.' }))
}, { additionalProperties: false })
export type PublishBody = Static<typeof PublishBodySchema>

/** What a publish answers: the HTTP status and its JSON body. */
export interface PublishOutcome {
  status: 202 | 400 | 404
  body: Record<string, unknown>
}

/** Names of every outbound event the namespace declares (emits, broadcasts, reply), read once after ready. */
function declaredEvents (engine: Engine): Set<string> {
  const names = new Set<string>()
  for (const def of engine.registry.definitions()) {
    for (const out of def.emits) names.add(out.event)
    for (const out of def.broadcasts) names.add(out.event)
    if (def.reply !== undefined) names.add(def.reply.event)
  }
  return names
}

const declaredCache = new WeakMap<Engine, Set<string>>()

/**
 * Publish a declared outbound event to a room, a connection or the whole
 * namespace, as `to(room).emit`, `toConnection(id).emit` and `emit` do. The
 * payload goes through the event's compiled validator and serializer (the
 * OUTBOUND_VALIDATION_ERROR path): a mismatch answers 400 with the schema
 * errors and nothing is sent. An event no emits/broadcasts/reply declares and
 * a room that does not exist answer 404.
 */
export async function publish (engine: Engine, body: PublishBody): Promise<PublishOutcome> {
  if (body.room !== undefined && body.connection !== undefined) {
    return { status: 400, body: { statusCode: 400, error: 'Bad Request', code: ErrorCode.VALIDATION_ERROR, message: 'Give room or connection, not both' } }
  }
  let declared = declaredCache.get(engine)
  if (declared === undefined) declaredCache.set(engine, declared = declaredEvents(engine))
  if (!declared.has(body.event)) {
    return notFound(ErrorCode.UNKNOWN_EVENT, `Event '${body.event}' is not declared in any emits, broadcasts or reply of namespace '${engine.namespace}'`, { event: body.event })
  }
  let frame: string
  try {
    // HTTP input is checked even under outboundValidation 'never' (that option trusts the app's own code)
    engine.serializer.check(body.event, body.payload)
    frame = engine.serializer.frame(body.event, body.payload === undefined ? {} : body.payload)
  } catch (err) {
    if (isSocketError(err) && err.code === ErrorCode.OUTBOUND_VALIDATION_ERROR) {
      return {
        status: 400,
        body: { statusCode: 400, error: 'Bad Request', code: ErrorCode.VALIDATION_ERROR, message: `Payload of '${body.event}' does not match its declared schema`, details: err.details }
      }
    }
    throw err
  }
  if (body.room !== undefined) {
    try {
      const delivered = await engine.rooms.broadcast(body.room, frame)
      return accepted({ target: 'room', room: body.room, event: body.event, localDeliveries: delivered })
    } catch (err) {
      if (isSocketError(err) && err.code === ErrorCode.ROOM_NOT_FOUND) return notFound(ErrorCode.ROOM_NOT_FOUND, `Room '${body.room}' does not exist`, { room: body.room })
      throw err
    }
  }
  if (body.connection !== undefined) {
    const local = await engine.rooms.toConnection(body.connection, frame)
    return accepted({ target: 'connection', connection: body.connection, event: body.event, localDeliveries: local ? 1 : 0 })
  }
  const delivered = await engine.rooms.emitAll(frame)
  return accepted({ target: 'namespace', event: body.event, localDeliveries: delivered })
}

function accepted (body: Record<string, unknown>): PublishOutcome {
  return { status: 202, body: { published: true, ...body } }
}

function notFound (code: string, message: string, details: Record<string, unknown>): PublishOutcome {
  return { status: 404, body: { statusCode: 404, error: 'Not Found', code, message, details } }
}

/** Options of the publish API routes. */
export interface PublishApiRouteOptions {
  engine: Engine
  path: string
  token: string
  bodyLimit: number
}

/** Send a publish outcome. */
export function sendOutcome (reply: FastifyReply, outcome: PublishOutcome): FastifyReply {
  return reply.code(outcome.status).header('cache-control', 'no-store').send(outcome.body)
}

/**
 * `POST path` with `Authorization: Bearer <token>` (SPEC §13): 202 when
 * published, 401 without the token (checked before the body is read), 400 for
 * a malformed body or a payload that breaks the event's schema, 404 for an
 * undeclared event or a room that does not exist, 413 over `bodyLimit`.
 */
export async function publishApiRoutes (fastify: FastifyInstance, opts: PublishApiRouteOptions): Promise<void> {
  const authorized = bearerCheck(opts.token)
  // Strict: no type coercion, no silently removed properties (Fastify's default Ajv does both).
  const validate = validatorFor(PublishBodySchema, createAjv)
  fastify.route({
    method: 'POST',
    url: opts.path,
    bodyLimit: opts.bodyLimit,
    schema: { hide: true, body: PublishBodySchema } as any,
    validatorCompiler: () => validate,
    onRequest: async (request, reply) => {
      if (!authorized(request)) return unauthorized(reply, 'socketspec-publish', 'Missing or invalid publish API token')
    },
    handler: async (request, reply) => sendOutcome(reply, await publish(opts.engine, request.body as PublishBody))
  })
}
