import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyReply, FastifyRequest } from 'fastify'

const digest = (value: string): Buffer => createHash('sha256').update(value).digest()

/**
 * A check of `Authorization: Bearer <token>` against one secret. Both sides
 * are hashed first, so the comparison is constant-time whatever the length of
 * what the client sent. Only the header counts: a query parameter would end
 * up in access logs and browser history.
 */
export function bearerCheck (expected: string): (request: FastifyRequest) => boolean {
  const expectedDigest = digest(expected)
  return (request) => {
    const auth = request.headers.authorization
    if (typeof auth !== 'string' || !/^bearer\s+/i.test(auth)) return false
    return timingSafeEqual(digest(auth.replace(/^bearer\s+/i, '').trim()), expectedDigest)
  }
}

/** Answer 401 with a `WWW-Authenticate` challenge for `realm`. */
export function unauthorized (reply: FastifyReply, realm: string, message: string): FastifyReply {
  return reply.code(401)
    .header('www-authenticate', `Bearer realm="${realm}"`)
    .header('cache-control', 'no-store')
    .send({ statusCode: 401, error: 'Unauthorized', message })
}
