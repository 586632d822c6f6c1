import { createPublicKey, KeyObject } from 'node:crypto'
import { createRequire } from 'node:module'
import { FST_SOCKETSPEC_INVALID_OPTION, SocketError } from '../errors.js'
import type { AuthBackend, AuthRequest, Identity } from '../types.js'
import { normalizeIdentity } from './identity.js'
import { MAX_TOKEN_LENGTH } from './token.js'

/** fast-jwt, loaded by the first jwtAuth() (CommonJS: a require keeps jwtAuth synchronous); apps without it do not load it. */
let fastJwt: typeof import('fast-jwt') | undefined
const loadFastJwt = (): typeof import('fast-jwt') => (fastJwt ??= createRequire(import.meta.url)('fast-jwt') as typeof import('fast-jwt'))

/** Signature algorithms `jwtAuth` can verify (`none` is never accepted). */
export type JwtAlgorithm =
  | 'HS256' | 'HS384' | 'HS512'
  | 'RS256' | 'RS384' | 'RS512'
  | 'PS256' | 'PS384' | 'PS512'
  | 'ES256' | 'ES384' | 'ES512'
  | 'EdDSA'

/** A secret or public key: a string, a Buffer (PEM for public keys) or a node:crypto KeyObject. */
export type JwtKey = string | Buffer | KeyObject

export interface JwtAuthOptions {
  /** HMAC secret, for HS256/HS384/HS512. */
  secret?: JwtKey
  /** PEM public key (or X.509 certificate, or public KeyObject), for RS*, PS*, ES* and EdDSA. */
  publicKey?: JwtKey
  /** The one accepted algorithm. Default: 'HS256' with `secret`; with `publicKey`, RS256, ES256/384/512 (by curve) or EdDSA. */
  algorithm?: JwtAlgorithm
  /** Several accepted algorithms of the key's family, instead of `algorithm`. */
  algorithms?: JwtAlgorithm[]
  /** Required `iss` value(s); a token without `iss` is then refused. */
  issuer?: string | string[]
  /** Required `aud` value(s); a token without `aud` is then refused. */
  audience?: string | string[]
  /** Claim giving `identity.userId`. Default 'sub'. */
  userIdClaim?: string
  /** Claim giving `identity.role`. Default 'role'. */
  roleClaim?: string
  /** Leeway for `exp` and `nbf`, in seconds. Default 0. */
  clockTolerance?: number
}

/** The backend returned by `jwtAuth`. */
export interface JwtAuthBackend extends AuthBackend {
  readonly kind: 'jwt'
  authenticate (req: Pick<AuthRequest, 'token'> & Partial<AuthRequest>): Promise<Identity | null>
}

const HS: readonly JwtAlgorithm[] = ['HS256', 'HS384', 'HS512']
const RSA: readonly JwtAlgorithm[] = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512']
const ALL: ReadonlySet<string> = new Set([...HS, ...RSA, 'ES256', 'ES384', 'ES512', 'EdDSA'])
const EC_CURVES: Readonly<Record<string, JwtAlgorithm>> = { prime256v1: 'ES256', secp384r1: 'ES384', secp521r1: 'ES512' }

// fast-jwt error codes → the reason a client is told (never the token, never fast-jwt's own text).
const REASONS: Readonly<Record<string, [string, string]>> = {
  FAST_JWT_EXPIRED: ['expired', 'Token expired'],
  FAST_JWT_INACTIVE: ['not_yet_valid', 'Token not yet valid'],
  FAST_JWT_INVALID_ALGORITHM: ['invalid_algorithm', 'Token algorithm not accepted'],
  FAST_JWT_INVALID_SIGNATURE: ['invalid_signature', 'Token signature invalid'],
  FAST_JWT_MISSING_SIGNATURE: ['invalid_signature', 'Token signature invalid'],
  FAST_JWT_INVALID_CLAIM_TYPE: ['invalid_claims', 'Token claims invalid'],
  FAST_JWT_INVALID_CLAIM_VALUE: ['invalid_claims', 'Token claims invalid'],
  FAST_JWT_MISSING_REQUIRED_CLAIM: ['invalid_claims', 'Token claims invalid']
}
const MALFORMED: [string, string] = ['malformed', 'Token malformed']

function invalid (option: string, message: string): Error {
  return new FST_SOCKETSPEC_INVALID_OPTION(`auth.${option}`, message)
}

function refuse (err: unknown): SocketError {
  const code = (err as { code?: unknown } | null)?.code
  const [reason, message] = (typeof code === 'string' && REASONS[code]) || MALFORMED
  return new SocketError('AUTH_ERROR', message, { reason })
}

function isKeyInput (value: unknown): value is JwtKey {
  return typeof value === 'string' || Buffer.isBuffer(value) || value instanceof KeyObject
}

function looksLikePem (value: string | Buffer): boolean {
  return value.toString('latin1', 0, Math.min(value.length, 4096)).includes('-----BEGIN')
}

function secretKey (secret: JwtKey): Buffer | string {
  if (secret instanceof KeyObject) {
    if (secret.type !== 'secret') throw invalid('secret', `a ${secret.type} KeyObject is not an HMAC secret; use publicKey with an asymmetric algorithm`)
    return secret.export()
  }
  if (secret.length === 0) throw invalid('secret', 'must not be empty')
  // Using a PEM key as an HMAC secret is the algorithm-confusion misconfiguration: refuse it outright.
  if (looksLikePem(secret)) throw invalid('secret', 'looks like a PEM key; use publicKey with an asymmetric algorithm')
  return secret
}

function publicKeyObject (key: JwtKey): KeyObject {
  if (key instanceof KeyObject) {
    if (key.type !== 'public') throw invalid('publicKey', `must be a public key, got a ${key.type} key`)
    return key
  }
  if (key.toString('latin1').includes('PRIVATE KEY-----')) throw invalid('publicKey', 'must be a public key, got a private key')
  try {
    return createPublicKey(key)
  } catch {
    throw invalid('publicKey', 'is not a PEM public key or certificate')
  }
}

function algorithmsOf (key: KeyObject): readonly JwtAlgorithm[] {
  switch (key.asymmetricKeyType) {
    case 'rsa': return RSA
    case 'ec': {
      const alg = EC_CURVES[key.asymmetricKeyDetails?.namedCurve ?? '']
      return alg === undefined ? [] : [alg]
    }
    case 'ed25519':
    case 'ed448': return ['EdDSA']
    default: return []
  }
}

function pinnedAlgorithms (options: JwtAuthOptions): JwtAlgorithm[] | undefined {
  const { algorithm, algorithms } = options
  if (algorithm !== undefined && algorithms !== undefined) throw invalid('algorithms', "give either 'algorithm' or 'algorithms', not both")
  const list: unknown[] | undefined = algorithms !== undefined
    ? (Array.isArray(algorithms) && algorithms.length > 0 ? algorithms : undefined)
    : (algorithm !== undefined ? [algorithm] : [])
  const name = algorithms !== undefined ? 'algorithms' : 'algorithm'
  if (list === undefined) throw invalid(name, 'must be a non-empty array of algorithm names')
  for (const a of list) {
    if (typeof a !== 'string' || !ALL.has(a)) throw invalid(name, `unknown or refused algorithm '${String(a)}' (one of ${[...ALL].join(', ')})`)
  }
  return list.length === 0 ? undefined : [...new Set(list as JwtAlgorithm[])]
}

function stringList (name: string, value: string | string[] | undefined): string[] | undefined {
  if (value === undefined) return undefined
  const list = Array.isArray(value) ? value : [value]
  if (list.length === 0 || list.some(v => typeof v !== 'string' || v === '')) throw invalid(name, 'must be a non-empty string or array of non-empty strings')
  return list
}

function claimName (name: string, value: unknown, fallback: string): string {
  if (value === undefined) return fallback
  if (typeof value !== 'string' || value === '') throw invalid(name, 'must be a non-empty string')
  return value
}

function claimId (value: unknown): string | null {
  if (typeof value === 'string') return value
  if (typeof value === 'number' && Number.isFinite(value)) return String(value)
  return null
}

/**
 * JWT auth backend on fast-jwt: the verifier is built once and pinned to the
 * configured algorithm(s), so `alg: none`, other algorithms, bad signatures,
 * expired and not-yet-valid tokens, and wrong `iss`/`aud` are refused with an
 * `AUTH_ERROR` SocketError (`details.reason` says why). `exp` becomes
 * `identity.tokenExpiresAt` (ms); the other claims land in `identity.extra`.
 *
 * @example
 * app.register(socketspec, { auth: jwtAuth({ secret: process.env.JWT_SECRET!, algorithm: 'HS256', issuer: 'https://id.example.com' }) })
 */
export function jwtAuth (options: JwtAuthOptions): JwtAuthBackend {
  const opts: JwtAuthOptions = options ?? {}
  const { secret, publicKey } = opts
  if (secret !== undefined && publicKey !== undefined) throw invalid('secret', "give either 'secret' or 'publicKey', not both")
  if (secret === undefined && publicKey === undefined) throw invalid('secret', "a 'secret' (HS*) or a 'publicKey' (RS*, PS*, ES*, EdDSA) is required")
  if (secret !== undefined && !isKeyInput(secret)) throw invalid('secret', 'must be a string, a Buffer or a secret KeyObject')
  if (publicKey !== undefined && !isKeyInput(publicKey)) throw invalid('publicKey', 'must be a PEM string, a PEM Buffer or a public KeyObject')

  let algorithms = pinnedAlgorithms(opts)
  const algName = opts.algorithms !== undefined ? 'algorithms' : 'algorithm'
  let key: string | Buffer
  if (secret !== undefined) {
    algorithms ??= ['HS256']
    const asymmetric = algorithms.find(a => !HS.includes(a))
    if (asymmetric !== undefined) throw invalid(algName, `'${asymmetric}' needs a publicKey, not a secret`)
    key = secretKey(secret)
  } else {
    const symmetric = algorithms?.find(a => HS.includes(a))
    if (symmetric !== undefined) throw invalid(algName, `'${symmetric}' is a symmetric algorithm and cannot be used with a publicKey; use secret`)
    const keyObject = publicKeyObject(publicKey as JwtKey)
    const supported = algorithmsOf(keyObject)
    if (supported.length === 0) throw invalid('publicKey', `unsupported key type '${String(keyObject.asymmetricKeyType)}${keyObject.asymmetricKeyDetails?.namedCurve !== undefined ? ` ${keyObject.asymmetricKeyDetails.namedCurve}` : ''}'`)
    algorithms ??= [supported[0]]
    const mismatch = algorithms.find(a => !supported.includes(a))
    if (mismatch !== undefined) throw invalid(algName, `'${mismatch}' cannot be verified with this ${String(keyObject.asymmetricKeyType)} key (accepts ${supported.join(', ')})`)
    key = keyObject.export({ type: 'spki', format: 'pem' }) as string
  }

  const issuer = stringList('issuer', opts.issuer)
  const audience = stringList('audience', opts.audience)
  const userIdClaim = claimName('userIdClaim', opts.userIdClaim, 'sub')
  const roleClaim = claimName('roleClaim', opts.roleClaim, 'role')
  const tolerance = opts.clockTolerance ?? 0
  if (typeof tolerance !== 'number' || !Number.isFinite(tolerance) || tolerance < 0) throw invalid('clockTolerance', 'must be a non-negative number of seconds')

  // fast-jwt skips iss/aud checks when the claim is absent, so require it whenever it is checked.
  const requiredClaims = [...(issuer !== undefined ? ['iss'] : []), ...(audience !== undefined ? ['aud'] : [])]
  let verify: (token: string) => Record<string, unknown>
  try {
    verify = loadFastJwt().createVerifier({
      key,
      algorithms,
      allowedIss: issuer,
      allowedAud: audience,
      requiredClaims: requiredClaims.length > 0 ? requiredClaims : undefined,
      clockTolerance: tolerance * 1000
    })
  } catch (err) {
    // fast-jwt re-reads the key with its own parser: report any disagreement as a configuration error.
    throw invalid(secret !== undefined ? 'secret' : 'publicKey', (err as Error).message)
  }

  return {
    kind: 'jwt',
    async authenticate ({ token }) {
      if (token == null || token === '') return null
      if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH) throw refuse(null)
      let claims: Record<string, unknown>
      try {
        claims = verify(token)
      } catch (err) {
        throw refuse(err)
      }
      const userId = claimId(claims[userIdClaim])
      const role = claimId(claims[roleClaim])
      // Copied without the identity claims rather than spread then `delete`d: a delete turns the
      // object into a dictionary (~400 bytes more, kept per connection; issue 14).
      const extra: Record<string, unknown> = {}
      for (const key of Object.keys(claims)) {
        if ((userId !== null && key === userIdClaim) || (role !== null && key === roleClaim)) continue
        if (key === '__proto__') Object.defineProperty(extra, key, { value: claims[key], writable: true, enumerable: true, configurable: true })
        else extra[key] = claims[key]
      }
      const exp = claims.exp
      return normalizeIdentity({
        userId,
        role,
        tokenExpiresAt: typeof exp === 'number' ? exp * 1000 : null,
        extra
      })
    }
  }
}
