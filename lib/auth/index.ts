import { FST_SOCKETSPEC_INVALID_OPTION } from '../errors.js'
import type { AuthBackend } from '../types.js'

export { jwtAuth } from './jwt.js'
export type { JwtAuthOptions, JwtAuthBackend, JwtAlgorithm, JwtKey } from './jwt.js'
export { apiKeyAuth, keyFingerprint } from './api-key.js'
export type { ApiKeyAuthOptions, ApiKeyAuthBackend, ApiKeyResolver } from './api-key.js'
export { normalizeIdentity, anonymousIdentity } from './identity.js'
export {
  extractToken,
  selectProtocol,
  redactUrl,
  redactQuery,
  createUrlRedactor,
  sensitiveNames,
  queryValue,
  MAX_TOKEN_LENGTH,
  SUBPROTOCOL,
  BEARER_PROTOCOL_PREFIX,
  REDACTED,
  SENSITIVE_QUERY_PARAMS
} from './token.js'
export type { ExtractedToken, TokenSource } from './token.js'

/**
 * Check the `auth` option: undefined/null means no auth; anything else must be
 * an object with an `authenticate(req)` function (`kind`, if set, a string).
 *
 * @example
 * const backend = resolveAuth(options.auth) // AuthBackend | undefined
 */
export function resolveAuth (auth: unknown): AuthBackend | undefined {
  if (auth === undefined || auth === null) return undefined
  if (typeof auth !== 'object' || typeof (auth as AuthBackend).authenticate !== 'function') {
    throw new FST_SOCKETSPEC_INVALID_OPTION('auth', 'must be jwtAuth(...), apiKeyAuth(...) or an object with an authenticate(req) function')
  }
  const kind = (auth as AuthBackend).kind
  if (kind !== undefined && typeof kind !== 'string') throw new FST_SOCKETSPEC_INVALID_OPTION('auth', "'kind' must be a string")
  return auth as AuthBackend
}

/**
 * Query parameters whose values must be redacted from logged URLs for this backend
 * (`token`, `api_key` and `resume_token` always are; `apiKeyAuth` adds its `query` name).
 *
 * @example
 * const redact = createUrlRedactor(sensitiveQueryOf(backend))
 */
export function sensitiveQueryOf (auth: AuthBackend | undefined): readonly string[] {
  const list = (auth as { sensitiveQuery?: unknown } | undefined)?.sensitiveQuery
  return Array.isArray(list) ? list.filter((n): n is string => typeof n === 'string') : []
}
