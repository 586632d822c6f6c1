import { Type } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import type { Ajv } from 'ajv'
import { createAjv, validatorFor } from '../registry.js'
import { publish, PublishBodySchema, sendOutcome, type PublishBody } from '../publish-api.js'
import { bearerCheck, unauthorized } from './bearer.js'
import type { AdminView } from './view.js'

/** Options of the admin routes. */
export interface AdminRouteOptions {
  view: AdminView
  /** The docs route; the admin routes live under `${docsUrl}/admin/`. */
  docsUrl: string
  token: string
}

const BroadcastBody = Type.Object({
  room: Type.String({ minLength: 1, maxLength: 256 }),
  event: PublishBodySchema.properties.event,
  payload: PublishBodySchema.properties.payload
}, { additionalProperties: false })

/**
 * The JSON routes behind the Admin tab (SPEC §14), under `${docsUrl}/admin/`,
 * each requiring `Authorization: Bearer <admin.token>` (401 otherwise; the docs
 * access token does not open them). Registered in their own context: the
 * docs token hook does not apply, and nothing here applies to other routes.
 */
export async function adminRoutes (fastify: FastifyInstance, opts: AdminRouteOptions): Promise<void> {
  const base = opts.docsUrl.replace(/\/+$/, '') + '/admin'
  const authorized = bearerCheck(opts.token)
  const { view } = opts
  let ajv: Ajv | null = null

  await fastify.register(async (admin: FastifyInstance) => {
    // Strict bodies: no coercion, no silently removed properties.
    admin.setValidatorCompiler(({ schema }) => validatorFor(schema, () => (ajv ??= createAjv())))
    admin.addHook('onRequest', async (request, reply) => {
      if (!authorized(request)) return unauthorized(reply, 'socketspec-admin', 'Missing or invalid admin token')
      reply.header('cache-control', 'no-store')
    })
    const hidden = { hide: true } as any

    admin.get(`${base}/state`, { schema: hidden }, async () => view.state())
    admin.get(`${base}/connections`, { schema: hidden }, async () => view.connections())
    admin.get(`${base}/rooms`, { schema: hidden }, async () => view.rooms())
    admin.get(`${base}/rates`, { schema: hidden }, async () => ({ rates: await view.rates() }))
    admin.post(`${base}/connections/:id/disconnect`, {
      schema: { ...hidden, params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }) }) },
      bodyLimit: 4096
    }, async (request, reply) => {
      const { id } = request.params as { id: string }
      // optional JSON body {reason}; the view checks it (1 to 64 plain characters)
      const body = request.body as { reason?: unknown } | undefined | null
      const reason = body !== null && typeof body === 'object' && body.reason !== undefined ? String(body.reason) : undefined
      const outcome = await view.disconnect(id, reason)
      return reply.code(outcome.status).send(outcome.body)
    })
    admin.post(`${base}/broadcast`, { schema: { ...hidden, body: BroadcastBody }, bodyLimit: 1024 * 1024 }, async (request, reply) => {
      return sendOutcome(reply, await publish(view.engine, request.body as PublishBody))
    })
  })
}
