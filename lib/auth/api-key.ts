import { createHash } from 'node:crypto'
import { FST_SOCKETSPEC_INVALID_OPTION } from '../errors.js'
import type { AuthBackend, AuthRequest, Identity, IdentityInit } from '../types.js'
import { normalizeIdentity } from './identity.js'
import { MAX_TOKEN_LENGTH, queryValue } from './token.js'

/** Looks a key up and returns its identity, or null to refuse it. */
export type ApiKeyResolver = (key: string) => IdentityInit | null | Promise<IdentityInit | null>

export interface ApiKeyAuthOptions {
  /** Accepted keys (a Set is kept by reference, so keys added or deleted later take effect), or a resolver. */
  validKeys: Set<string> | readonly string[] | ApiKeyResolver
  /** Header carrying the key. Default 'x-api-key'. */
  header?: string
  /** Query parameter carrying the key. Default 'api_key'. */
  query?: string
}

/** The backend returned by `apiKeyAuth`. */
export interface ApiKeyAuthBackend extends AuthBackend {
  readonly kind: 'api-key'
  /** Query parameters holding credentials; their values must be redacted from logged URLs. */
  readonly sensitiveQuery: readonly string[]
  authenticate (req: AuthRequest): Promise<Identity | null>
}

function invalid (option: string, message: string): Error {
  return new FST_SOCKETSPEC_INVALID_OPTION(`auth.${option}`, message)
}

function name (option: string, value: unknown, fallback: string): string {
  if (value === undefined) return fallback
  if (typeof value !== 'string' || value === '') throw invalid(option, 'must be a non-empty string')
  return value
}

/**
 * A short, non-reversible id for a key, so that logs and `identity.userId` never carry the key itself.
 *
 * @example
 * keyFingerprint('secret-key') // 8 hex chars of its sha256
 */
export function keyFingerprint (key: string): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 8)
}

function keyOf (req: AuthRequest, header: string, query: string): string | null {
  const raw = req.headers?.[header]
  const fromHeader = Array.isArray(raw) ? raw[0] : raw
  const key = (typeof fromHeader === 'string' && fromHeader.trim() !== '' ? fromHeader.trim() : undefined) ??
    queryValue(req.query, query) ??
    (typeof req.token === 'string' && req.token !== '' ? req.token : undefined)
  return key === undefined || key.length > MAX_TOKEN_LENGTH ? null : key
}

/**
 * API key auth backend. The key is read from the `header` (default `x-api-key`),
 * then the `query` parameter (default `api_key`), then the generic token
 * (`Authorization: Bearer`, `bearer.<key>` subprotocol, `?token=`). With a Set or
 * an array, `identity.userId` is the key's fingerprint (8 hex chars of its sha256)
 * and `role` is null; with a function, its result is the identity.
 *
 * @example
 * app.register(socketspec, { auth: apiKeyAuth({ validKeys: new Set([process.env.API_KEY!]) }) })
 * app.register(socketspec, { auth: apiKeyAuth({ validKeys: async (key) => db.findKeyOwner(key) }) })
 */
export function apiKeyAuth (options: ApiKeyAuthOptions): ApiKeyAuthBackend {
  const validKeys = options?.validKeys
  const header = name('header', options?.header, 'x-api-key').toLowerCase()
  const query = name('query', options?.query, 'api_key')

  let resolve: ApiKeyResolver
  if (typeof validKeys === 'function') {
    resolve = validKeys
  } else {
    if (!(validKeys instanceof Set) && !Array.isArray(validKeys)) throw invalid('validKeys', 'must be a Set of keys, an array of keys or a function (key) => identity | null')
    for (const k of validKeys) {
      if (typeof k !== 'string' || k === '') throw invalid('validKeys', 'every key must be a non-empty string')
    }
    const keys: ReadonlySet<string> = validKeys instanceof Set ? validKeys : new Set(validKeys)
    resolve = (key) => keys.has(key) ? { userId: keyFingerprint(key), role: null } : null
  }

  return {
    kind: 'api-key',
    sensitiveQuery: Object.freeze([query]),
    async authenticate (req) {
      const key = keyOf(req, header, query)
      if (key === null) return null
      const result = await resolve(key)
      if (result == null || (result as unknown) === false) return null
      if (typeof result !== 'object') throw new TypeError('apiKeyAuth: validKeys must return an identity object or null')
      return normalizeIdentity(result)
    }
  }
}
