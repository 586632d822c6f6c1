import t from 'tap'
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { createHash, createHmac, createPrivateKey, createPublicKey, createSecretKey, generateKeyPairSync } from 'node:crypto'
import { createSigner } from 'fast-jwt'
import { apiKeyAuth, anonymousIdentity, jwtAuth, keyFingerprint, normalizeIdentity, resolveAuth, sensitiveQueryOf } from '../lib/auth/index.js'
import { SocketError } from '../lib/errors.js'
import type { AuthRequest, IdentityInit } from '../lib/types.js'
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import WebSocket, { WebSocketServer } from 'ws'
import { createUrlRedactor, extractToken, MAX_TOKEN_LENGTH, queryValue, redactQuery, redactUrl, selectProtocol, sensitiveNames, SENSITIVE_QUERY_PARAMS } from '../lib/auth/token.js'

const SECRET = 'a-long-enough-test-secret-for-hmac-256'
const now = (): number => Math.floor(Date.now() / 1000)
const b64url = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url')
const req = (token: string | null, extra: Partial<AuthRequest> = {}): AuthRequest => ({ headers: {}, query: {}, token, ...extra })

function pair (type: 'ec' | 'ed25519' | 'ed448', opts: Record<string, unknown> = {}): { publicKey: string, privateKey: string } {
  return generateKeyPairSync(type as 'ec', {
    ...opts,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' }
  } as any) as unknown as { publicKey: string, privateKey: string }
}

/** A committed test-only RSA pair (test/fixtures/keys: generating one costs ~0.8 s of CPU). */
function rsaPair (name: string): { publicKey: string, privateKey: string } {
  const file = (kind: string): string => readFileSync(new URL(`./fixtures/keys/${name}.${kind}.pem`, import.meta.url), 'utf8')
  return { publicKey: file('pub'), privateKey: file('key') }
}

const rsa = rsaPair('rsa-a')
const rsa2 = rsaPair('rsa-b')
const p256 = pair('ec', { namedCurve: 'P-256' })
const p384 = pair('ec', { namedCurve: 'P-384' })
const p521 = pair('ec', { namedCurve: 'P-521' })
const ed25519 = pair('ed25519')
const ed448 = pair('ed448')

function sign (key: string | Buffer, algorithm: any, payload: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): string {
  return createSigner({ key, algorithm, ...extra })({ sub: 'user-1', ...payload })
}

// Same token with another `alg` in its header: the signature no longer matters, the allowlist must refuse it first.
function withAlg (token: string, alg: string): string {
  const [, payload, signature] = token.split('.')
  return `${b64url({ alg, typ: 'JWT' })}.${payload}.${signature}`
}

function hmacToken (payload: Record<string, unknown>, secret = SECRET): string {
  const input = `${b64url({ alg: 'HS256', typ: 'JWT' })}.${b64url(payload)}`
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`
}

async function refusal (t: any, promise: Promise<unknown>, reason: string, token?: string): Promise<void> {
  const err = await promise.then(() => null, (e: unknown) => e)
  t.type(err, SocketError, `refused (${reason})`)
  t.equal((err as SocketError).code, 'AUTH_ERROR')
  t.same((err as SocketError).details, { reason })
  if (token !== undefined) t.notOk((err as Error).message.includes(token), 'the token is not echoed in the error')
}

t.test('jwtAuth: HMAC family with string, Buffer and KeyObject secrets', async t => {
  for (const algorithm of ['HS256', 'HS384', 'HS512'] as const) {
    for (const secret of [SECRET, Buffer.from(SECRET), createSecretKey(Buffer.from(SECRET))]) {
      const auth = jwtAuth({ secret, algorithm })
      t.equal(auth.kind, 'jwt')
      const identity = await auth.authenticate(req(sign(SECRET, algorithm, { role: 'admin' })))
      t.same(identity, { userId: 'user-1', role: 'admin', tokenExpiresAt: null, extra: { iat: identity?.extra.iat } }, `${algorithm} with ${secret.constructor.name}`)
    }
  }
  const auth = jwtAuth({ secret: SECRET })
  t.ok(await auth.authenticate(req(sign(SECRET, 'HS256'))), 'HS256 is the default with a secret')
  await refusal(t, auth.authenticate(req(sign(SECRET, 'HS512'))), 'invalid_algorithm')
})

t.test('jwtAuth: RSA, PSS, EC and EdDSA keys (PEM string, Buffer, KeyObject)', async t => {
  const cases: Array<[string, { publicKey: string, privateKey: string }]> = [
    ['RS256', rsa], ['RS384', rsa], ['RS512', rsa], ['PS256', rsa], ['PS384', rsa], ['PS512', rsa],
    ['ES256', p256], ['ES384', p384], ['ES512', p521], ['EdDSA', ed25519], ['EdDSA', ed448]
  ]
  for (const [algorithm, keys] of cases) {
    const token = sign(keys.privateKey, algorithm)
    for (const publicKey of [keys.publicKey, Buffer.from(keys.publicKey), createPublicKey(keys.publicKey)]) {
      const identity = await jwtAuth({ publicKey, algorithm: algorithm as any }).authenticate(req(token))
      t.equal(identity?.userId, 'user-1', `${algorithm} verified with a ${typeof publicKey === 'string' ? 'string' : publicKey.constructor.name} key`)
    }
  }
})

t.test('jwtAuth: an X.509 certificate as publicKey', async t => {
  const dir = t.testdir({})
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-subj', '/CN=socketspec-test', '-days', '1'], { stdio: 'ignore' })
  } catch {
    t.plan(0, 'openssl is not installed: cannot make a test certificate')
    return
  }
  const auth = jwtAuth({ publicKey: readFileSync(join(dir, 'cert.pem')) })
  const identity = await auth.authenticate(req(sign(readFileSync(join(dir, 'key.pem'), 'utf8'), 'ES256')))
  t.equal(identity?.userId, 'user-1', 'ES256 inferred from the certificate key')
})

t.test('jwtAuth: default algorithm follows the public key', async t => {
  const defaults: Array<[string, { publicKey: string, privateKey: string }, string]> = [
    ['RS256', rsa, 'RS384'], ['ES256', p256, 'ES384'], ['ES384', p384, 'ES256'], ['ES512', p521, 'ES256'], ['EdDSA', ed25519, 'RS256']
  ]
  for (const [expected, keys, other] of defaults) {
    const auth = jwtAuth({ publicKey: keys.publicKey })
    const token = sign(keys.privateKey, expected)
    t.ok(await auth.authenticate(req(token)), `${expected} accepted by default`)
    await refusal(t, auth.authenticate(req(withAlg(token, other))), 'invalid_algorithm')
  }
  // an RSA key does not silently accept every RSA algorithm: only RS256
  await refusal(t, jwtAuth({ publicKey: rsa.publicKey }).authenticate(req(sign(rsa.privateKey, 'PS256'))), 'invalid_algorithm')
})

t.test('jwtAuth: several algorithms of one family', async t => {
  const auth = jwtAuth({ publicKey: rsa.publicKey, algorithms: ['RS256', 'PS256', 'RS256'] })
  t.ok(await auth.authenticate(req(sign(rsa.privateKey, 'RS256'))))
  t.ok(await auth.authenticate(req(sign(rsa.privateKey, 'PS256'))))
  await refusal(t, auth.authenticate(req(sign(rsa.privateKey, 'RS512'))), 'invalid_algorithm')
  const hs = jwtAuth({ secret: SECRET, algorithms: ['HS256', 'HS512'] })
  t.ok(await hs.authenticate(req(sign(SECRET, 'HS512'))))
})

t.test('jwtAuth: claim mapping and expiry', async t => {
  const exp = now() + 600
  const auth = jwtAuth({ secret: SECRET })
  const identity = await auth.authenticate(req(sign(SECRET, 'HS256', { sub: 'alice', role: 'admin', exp, team: 'blue', iat: 1 })))
  t.same(identity, { userId: 'alice', role: 'admin', tokenExpiresAt: exp * 1000, extra: { exp, team: 'blue', iat: 1 } })

  const custom = jwtAuth({ secret: SECRET, userIdClaim: 'uid', roleClaim: 'scope' })
  const mapped = await custom.authenticate(req(sign(SECRET, 'HS256', { uid: 42, scope: 'reader', role: 'ignored' }, { noTimestamp: true })))
  t.same(mapped, { userId: '42', role: 'reader', tokenExpiresAt: null, extra: { sub: 'user-1', role: 'ignored' } }, 'numeric claim stringified, unmapped claims kept')

  const odd = await auth.authenticate(req(sign(SECRET, 'HS256', { sub: { id: 1 }, role: ['a', 'b'] }, { noTimestamp: true })))
  t.same(odd, { userId: null, role: null, tokenExpiresAt: null, extra: { sub: { id: 1 }, role: ['a', 'b'] } }, 'non-scalar claims stay in extra')

  const viaExpiresIn = await auth.authenticate(req(sign(SECRET, 'HS256', {}, { expiresIn: 60_000 })))
  t.equal(viaExpiresIn?.tokenExpiresAt, (viaExpiresIn?.extra.exp as number) * 1000, 'tokenExpiresAt is exp in milliseconds')
  t.ok(viaExpiresIn!.tokenExpiresAt! > Date.now() && viaExpiresIn!.tokenExpiresAt! <= Date.now() + 61_000)
})

t.test('jwtAuth: issuer and audience', async t => {
  const auth = jwtAuth({ secret: SECRET, issuer: 'https://id.example.com', audience: ['chat', 'docs'] })
  t.ok(await auth.authenticate(req(sign(SECRET, 'HS256', { iss: 'https://id.example.com', aud: 'chat' }))))
  t.ok(await auth.authenticate(req(sign(SECRET, 'HS256', { iss: 'https://id.example.com', aud: ['other', 'docs'] }))), 'one matching audience in an array')
  await refusal(t, auth.authenticate(req(sign(SECRET, 'HS256', { iss: 'https://evil.example.com', aud: 'chat' }))), 'invalid_claims')
  await refusal(t, auth.authenticate(req(sign(SECRET, 'HS256', { iss: 'https://id.example.com', aud: 'other' }))), 'invalid_claims')
  await refusal(t, auth.authenticate(req(sign(SECRET, 'HS256', { aud: 'chat' }))), 'invalid_claims')
  await refusal(t, auth.authenticate(req(sign(SECRET, 'HS256', { iss: 'https://id.example.com' }))), 'invalid_claims')
  await refusal(t, auth.authenticate(req(sign(SECRET, 'HS256', { iss: 5, aud: 'chat' }))), 'invalid_claims')

  const issuers = jwtAuth({ secret: SECRET, issuer: ['a', 'b'], audience: 'chat' })
  t.ok(await issuers.authenticate(req(sign(SECRET, 'HS256', { iss: 'b', aud: 'chat' }))))
  const noChecks = jwtAuth({ secret: SECRET })
  t.ok(await noChecks.authenticate(req(sign(SECRET, 'HS256', { iss: 'anyone', aud: 'anything' }))), 'iss/aud not checked unless configured')
})

t.test('jwtAuth: refusals', async t => {
  const hs = jwtAuth({ secret: SECRET })
  const rs = jwtAuth({ publicKey: rsa.publicKey, algorithm: 'RS256' })

  t.equal(await hs.authenticate(req(null)), null, 'missing token')
  t.equal(await hs.authenticate(req('')), null, 'empty token')
  t.equal(await hs.authenticate({ token: null }), null, 'only the token is needed')

  const payload = b64url({ sub: 'admin', role: 'admin', exp: now() + 600 })
  for (const alg of ['none', 'None', 'NONE']) {
    const unsigned = `${b64url({ alg, typ: 'JWT' })}.${payload}.`
    await refusal(t, hs.authenticate(req(unsigned)), 'invalid_signature', unsigned)
    await refusal(t, rs.authenticate(req(unsigned)), 'invalid_signature')
  }
  const noneWithSig = `${b64url({ alg: 'none' })}.${payload}.${Buffer.from('sig').toString('base64url')}`
  await refusal(t, hs.authenticate(req(noneWithSig)), 'invalid_algorithm')

  const good = sign(SECRET, 'HS256', { role: 'user' })
  const [h, , s] = good.split('.')
  const tampered = `${h}.${b64url({ sub: 'user-1', role: 'admin' })}.${s}`
  await refusal(t, hs.authenticate(req(tampered)), 'invalid_signature', tampered)
  await refusal(t, hs.authenticate(req(sign('another-secret-another-secret', 'HS256'))), 'invalid_signature')
  await refusal(t, rs.authenticate(req(sign(rsa2.privateKey, 'RS256'))), 'invalid_signature')
  const stripped = good.slice(0, good.lastIndexOf('.') + 1)
  await refusal(t, hs.authenticate(req(stripped)), 'invalid_signature')

  // wrong algorithm in both directions, including the classic key confusion:
  // an HS256 token whose HMAC key is the server's RSA public key
  await refusal(t, rs.authenticate(req(sign(SECRET, 'HS256'))), 'invalid_algorithm')
  const confused = sign(rsa.publicKey, 'HS256', { role: 'admin' })
  await refusal(t, rs.authenticate(req(confused)), 'invalid_algorithm')
  await refusal(t, rs.authenticate(req(sign(Buffer.from(createPublicKey(rsa.publicKey).export({ type: 'pkcs1', format: 'pem' })), 'HS256'))), 'invalid_algorithm')
  await refusal(t, hs.authenticate(req(sign(rsa.privateKey, 'RS256'))), 'invalid_algorithm')
  await refusal(t, rs.authenticate(req(sign(p256.privateKey, 'ES256'))), 'invalid_algorithm')
  await refusal(t, jwtAuth({ publicKey: p256.publicKey }).authenticate(req(sign(rsa.privateKey, 'RS256'))), 'invalid_algorithm')

  await refusal(t, hs.authenticate(req(sign(SECRET, 'HS256', { exp: now() - 10 }))), 'expired')
  await refusal(t, hs.authenticate(req(sign(SECRET, 'HS256', { nbf: now() + 60 }))), 'not_yet_valid')
  await refusal(t, hs.authenticate(req(hmacToken({ sub: 'x', exp: 'tomorrow' }))), 'invalid_claims')
  t.ok(await hs.authenticate(req(hmacToken({ sub: 'x', exp: now() + 60 }))), 'the hand-made HMAC token is otherwise valid')
  await refusal(t, hs.authenticate(req(withAlg(sign(SECRET, 'HS256'), 'HS384'))), 'invalid_algorithm')

  for (const junk of ['abc', 'a.b', 'a.b.c', '!!.??.##', `${b64url([1])}.${b64url({})}.x`, `${b64url({ alg: 'HS256' })}.${b64url('str')}.x`]) {
    await refusal(t, hs.authenticate(req(junk)), 'malformed', junk)
  }
  await refusal(t, hs.authenticate(req('x'.repeat(MAX_TOKEN_LENGTH + 1))), 'malformed')
  await refusal(t, hs.authenticate(req(42 as unknown as string)), 'malformed')
})

t.test('jwtAuth: clockTolerance (seconds) lets a just-expired token through', async t => {
  const token = sign(SECRET, 'HS256', { exp: now() - 5, nbf: now() + 5 })
  await refusal(t, jwtAuth({ secret: SECRET }).authenticate(req(token)), 'not_yet_valid')
  t.ok(await jwtAuth({ secret: SECRET, clockTolerance: 30 }).authenticate(req(token)))
})

t.test('jwtAuth: configuration errors name the option', async t => {
  const bad = (options: unknown, option: string, detail?: RegExp): void => {
    const err = t.throws(() => jwtAuth(options as any), { code: 'FST_SOCKETSPEC_INVALID_OPTION' }) as Error
    t.match(err.message, `'${option}'`, `names ${option}`)
    if (detail !== undefined) t.match(err.message, detail)
  }
  const rsaPrivate = createPrivateKey(rsa.privateKey)
  const k1 = generateKeyPairSync('ec', { namedCurve: 'secp256k1' })
  const x25519 = generateKeyPairSync('x25519')

  bad(undefined, 'auth.secret', /required/)
  bad({}, 'auth.secret', /required/)
  bad({ secret: SECRET, publicKey: rsa.publicKey }, 'auth.secret', /not both/)
  bad({ secret: 42 }, 'auth.secret')
  bad({ publicKey: { pem: rsa.publicKey } }, 'auth.publicKey')
  bad({ secret: '' }, 'auth.secret', /empty/)
  bad({ secret: Buffer.alloc(0) }, 'auth.secret', /empty/)
  bad({ secret: rsa.publicKey }, 'auth.secret', /PEM/)
  bad({ secret: Buffer.from(rsa.publicKey), algorithm: 'HS512' }, 'auth.secret', /PEM/)
  bad({ secret: createPublicKey(rsa.publicKey) }, 'auth.secret', /public KeyObject/)
  bad({ secret: SECRET, algorithm: 'none' }, 'auth.algorithm', /'none'/)
  bad({ secret: SECRET, algorithm: 'HS1024' }, 'auth.algorithm', /HS1024/)
  bad({ secret: SECRET, algorithms: ['HS256', 'none'] }, 'auth.algorithms', /'none'/)
  bad({ secret: SECRET, algorithms: [] }, 'auth.algorithms', /non-empty/)
  bad({ secret: SECRET, algorithms: 'HS256' }, 'auth.algorithms', /non-empty/)
  bad({ secret: SECRET, algorithm: 'HS256', algorithms: ['HS256'] }, 'auth.algorithms', /not both/)
  bad({ secret: SECRET, algorithm: 'RS256' }, 'auth.algorithm', /publicKey/)
  bad({ secret: SECRET, algorithms: ['HS256', 'RS256'] }, 'auth.algorithms', /RS256/)
  bad({ publicKey: rsa.publicKey, algorithm: 'HS256' }, 'auth.algorithm', /symmetric/)
  bad({ publicKey: rsa.publicKey, algorithms: ['RS256', 'HS256'] }, 'auth.algorithms', /symmetric/)
  bad({ publicKey: rsa.publicKey, algorithm: 'ES256' }, 'auth.algorithm', /rsa key/)
  bad({ publicKey: p256.publicKey, algorithm: 'ES384' }, 'auth.algorithm', /accepts ES256/)
  bad({ publicKey: ed25519.publicKey, algorithm: 'RS256' }, 'auth.algorithm', /EdDSA/)
  bad({ publicKey: rsa.privateKey }, 'auth.publicKey', /private key/)
  bad({ publicKey: rsaPrivate }, 'auth.publicKey', /private key/)
  bad({ publicKey: createSecretKey(Buffer.from(SECRET)) }, 'auth.publicKey', /secret key/)
  bad({ publicKey: 'not a key' }, 'auth.publicKey', /PEM/)
  bad({ publicKey: k1.publicKey }, 'auth.publicKey', /ec secp256k1/)
  bad({ publicKey: x25519.publicKey }, 'auth.publicKey', /x25519/)
  bad({ secret: SECRET, issuer: '' }, 'auth.issuer')
  bad({ secret: SECRET, audience: [] }, 'auth.audience')
  bad({ secret: SECRET, audience: ['ok', 3] }, 'auth.audience')
  bad({ secret: SECRET, userIdClaim: '' }, 'auth.userIdClaim')
  bad({ secret: SECRET, roleClaim: 7 }, 'auth.roleClaim')
  bad({ secret: SECRET, clockTolerance: -1 }, 'auth.clockTolerance')
  bad({ secret: SECRET, clockTolerance: Infinity }, 'auth.clockTolerance')
  bad({ secret: SECRET, clockTolerance: '5' }, 'auth.clockTolerance')
})

t.test('apiKeyAuth: Set and array of keys', async t => {
  const keys = new Set(['key-one', 'key-two'])
  const auth = apiKeyAuth({ validKeys: keys })
  t.equal(auth.kind, 'api-key')
  const fingerprint = createHash('sha256').update('key-one').digest('hex').slice(0, 8)
  t.equal(keyFingerprint('key-one'), fingerprint)
  const identity = await auth.authenticate(req(null, { headers: { 'x-api-key': 'key-one' } }))
  t.same(identity, { userId: fingerprint, role: null, tokenExpiresAt: null, extra: {} }, 'userId is the fingerprint, never the key')
  t.equal(await auth.authenticate(req(null, { headers: { 'x-api-key': 'nope' } })), null, 'unknown key')
  t.equal(await auth.authenticate(req(null)), null, 'no key')

  keys.add('key-three')
  t.ok(await auth.authenticate(req(null, { headers: { 'x-api-key': 'key-three' } })), 'a Set is live: added keys work')
  keys.delete('key-one')
  t.equal(await auth.authenticate(req(null, { headers: { 'x-api-key': 'key-one' } })), null, 'revoked keys stop working')

  const list = ['k1', 'k2']
  const fromArray = apiKeyAuth({ validKeys: list })
  t.ok(await fromArray.authenticate(req(null, { query: { api_key: 'k2' } })))
  list.push('k3')
  t.equal(await fromArray.authenticate(req(null, { query: { api_key: 'k3' } })), null, 'an array is copied at creation')
})

t.test('apiKeyAuth: key sources and precedence', async t => {
  const auth = apiKeyAuth({ validKeys: ['good'] })
  const ok = async (r: AuthRequest): Promise<boolean> => (await auth.authenticate(r)) !== null
  t.ok(await ok(req(null, { headers: { 'x-api-key': 'good' }, query: { api_key: 'bad' } })), 'header before query')
  t.notOk(await ok(req(null, { headers: { 'x-api-key': 'bad' }, query: { api_key: 'good' } })), 'a present header wins even when wrong')
  t.ok(await ok(req(null, { query: { api_key: 'good' } })), 'query')
  t.ok(await ok(req(null, { query: { api_key: ['good', 'bad'] } })), 'first query value')
  t.ok(await ok(req(null, { headers: { 'x-api-key': '  ' }, query: { api_key: 'good' } })), 'blank header skipped')
  t.ok(await ok(req(null, { headers: { 'x-api-key': ['good', 'bad'] as any } })), 'first header value')
  t.ok(await ok(req('good')), 'falls back to the generic token (bearer header, subprotocol, ?token=)')
  t.notOk(await ok(req('bad', { query: { api_key: '' } })), 'empty query skipped, token used')
  t.notOk(await ok(req('x'.repeat(MAX_TOKEN_LENGTH + 1))), 'oversized key refused')
  t.ok(await ok({ token: 'good' } as AuthRequest), 'headers and query may be absent')

  const custom = apiKeyAuth({ validKeys: ['good'], header: 'X-Service-Key', query: 'key' })
  t.ok(await custom.authenticate(req(null, { headers: { 'x-service-key': 'good' } })), 'header names are case-insensitive')
  t.ok(await custom.authenticate(req(null, { query: { key: 'good' } })))
  t.equal(await custom.authenticate(req(null, { headers: { 'x-api-key': 'good' }, query: { api_key: 'good' } })), null, 'defaults no longer read')
  t.same(custom.sensitiveQuery, ['key'])
  t.same(sensitiveQueryOf(custom), ['key'])
  t.same(auth.sensitiveQuery, ['api_key'])
})

t.test('apiKeyAuth: resolver function', async t => {
  const seen: string[] = []
  const auth = apiKeyAuth({
    validKeys: async (key) => {
      seen.push(key)
      return key === 'svc' ? { userId: 'service-7', role: 'service', extra: { plan: 'pro' } } : null
    }
  })
  t.same(await auth.authenticate(req(null, { headers: { 'x-api-key': 'svc' } })), { userId: 'service-7', role: 'service', tokenExpiresAt: null, extra: { plan: 'pro' } })
  t.equal(await auth.authenticate(req('other')), null)
  t.equal(await auth.authenticate(req(null)), null)
  t.same(seen, ['svc', 'other'], 'not called without a key')

  const sync = apiKeyAuth({ validKeys: (key) => key === 'a' ? { userId: 1 as unknown as string } : (false as unknown as null) })
  t.same(await sync.authenticate(req('a')), { userId: '1', role: null, tokenExpiresAt: null, extra: {} })
  t.equal(await sync.authenticate(req('b')), null, 'false refuses')
  const broken = apiKeyAuth({ validKeys: () => 'yes' as unknown as IdentityInit })
  await t.rejects(broken.authenticate(req('a')), TypeError)
  const throwing = apiKeyAuth({ validKeys: () => { throw new Error('db down') } })
  await t.rejects(throwing.authenticate(req('a')), { message: 'db down' }, 'resolver errors propagate (the engine answers AUTH_ERROR)')
})

t.test('apiKeyAuth: configuration errors', async t => {
  const bad = (options: unknown, option: string): void => {
    const err = t.throws(() => apiKeyAuth(options as any), { code: 'FST_SOCKETSPEC_INVALID_OPTION' }) as Error
    t.match(err.message, `'${option}'`)
  }
  bad(undefined, 'auth.validKeys')
  bad({ validKeys: 'key' }, 'auth.validKeys')
  bad({ validKeys: ['ok', ''] }, 'auth.validKeys')
  bad({ validKeys: new Set([1]) }, 'auth.validKeys')
  bad({ validKeys: [], header: '' }, 'auth.header')
  bad({ validKeys: [], query: 5 }, 'auth.query')
})

t.test('normalizeIdentity and anonymousIdentity', async t => {
  t.same(normalizeIdentity({}), { userId: null, role: null, tokenExpiresAt: null, extra: {} })
  t.same(normalizeIdentity({ userId: 'u', role: 'r', tokenExpiresAt: 1700000000000, extra: { a: 1 } }), { userId: 'u', role: 'r', tokenExpiresAt: 1700000000000, extra: { a: 1 } })
  const loose = { userId: 7, role: true, tokenExpiresAt: new Date(5000), extra: [1] } as unknown as IdentityInit
  t.same(normalizeIdentity(loose), { userId: '7', role: 'true', tokenExpiresAt: 5000, extra: {} })
  const odd = { userId: 10n, role: { r: 1 }, tokenExpiresAt: 'soon', extra: null } as unknown as IdentityInit
  t.same(normalizeIdentity(odd), { userId: '10', role: null, tokenExpiresAt: null, extra: {} })
  const nonFinite = { userId: NaN, tokenExpiresAt: Infinity } as unknown as IdentityInit
  t.same(normalizeIdentity(nonFinite), { userId: null, role: null, tokenExpiresAt: null, extra: {} })
  t.equal(normalizeIdentity({ tokenExpiresAt: new Date('nope') as unknown as number }).tokenExpiresAt, null)
  const a = anonymousIdentity()
  t.same(a, { userId: null, role: null, tokenExpiresAt: null, extra: {} })
  a.extra.x = 1
  t.same(anonymousIdentity().extra, {}, 'a fresh object every time')
})

t.test('resolveAuth', async t => {
  t.equal(resolveAuth(undefined), undefined)
  t.equal(resolveAuth(null), undefined)
  const jwt = jwtAuth({ secret: SECRET })
  t.equal(resolveAuth(jwt), jwt)
  const custom = { authenticate: () => ({ userId: 'x' }) }
  t.equal(resolveAuth(custom), custom)
  t.equal(resolveAuth({ kind: 'custom', authenticate: async () => null })?.kind, 'custom')
  for (const wrong of ['jwt', 42, {}, { authenticate: 'yes' }, () => null, { authenticate: () => null, kind: 3 }]) {
    t.throws(() => resolveAuth(wrong), { code: 'FST_SOCKETSPEC_INVALID_OPTION', message: /'auth'/ })
  }
  t.same(sensitiveQueryOf(undefined), [])
  t.same(sensitiveQueryOf(jwt), [])
  t.same(sensitiveQueryOf({ authenticate: () => null, sensitiveQuery: ['k', 3] } as any), ['k'])
})

// Tokens (lib/auth/token.ts): where a token is taken from, and redaction of the\nURLs and query strings that carry one.
const JWT = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1MSJ9.c2lnbmF0dXJl'

t.test('extractToken: source order', async t => {
  const all = { authorization: 'Bearer from-header', 'sec-websocket-protocol': 'socketspec, bearer.from-protocol' }
  t.same(extractToken(all, { token: 'from-query' }), { token: 'from-header', source: 'header' })
  t.same(extractToken({ 'sec-websocket-protocol': all['sec-websocket-protocol'] }, { token: 'from-query' }), { token: 'from-protocol', source: 'protocol' })
  t.same(extractToken({}, { token: 'from-query' }), { token: 'from-query', source: 'query' })
  t.same(extractToken({}, {}), { token: null, source: null })
  t.same(extractToken({}), { token: null, source: null }, 'query may be absent')
  t.same(extractToken({ authorization: `Bearer ${JWT}` }, {}), { token: JWT, source: 'header' }, 'a JWT keeps its dots')
})

t.test('extractToken: Authorization header', async t => {
  const h = (authorization: string): string | null => extractToken({ authorization }, { token: 'q' }).token
  t.equal(h('bearer abc'), 'abc', 'lowercase scheme')
  t.equal(h('BEARER abc'), 'abc', 'uppercase scheme')
  t.equal(h('Bearer   abc  '), 'abc', 'extra spaces')
  t.equal(h('Bearer\tabc'), 'abc', 'tab separator')
  t.equal(h('  Bearer abc'), 'abc', 'leading whitespace')
  t.equal(h('Bearer '), 'q', 'empty bearer falls through')
  t.equal(h('Bearer'), 'q', 'scheme only falls through')
  t.equal(h('Bearerabc'), 'q', 'no separator is not a bearer token')
  t.equal(h('Basic dXNlcjpwYXNz'), 'q', 'other schemes ignored')
  t.equal(h(''), 'q')
})

t.test('extractToken: Sec-WebSocket-Protocol', async t => {
  const p = (value: string | string[]): string | null => extractToken({ 'sec-websocket-protocol': value as string }, {}).token
  t.equal(p('bearer.abc'), 'abc')
  t.equal(p('socketspec,bearer.abc'), 'abc', 'no spaces')
  t.equal(p(' socketspec ,  bearer.abc , chat '), 'abc', 'trimmed entries')
  t.equal(p(`socketspec, bearer.${JWT}`), JWT, 'dots after the prefix are part of the token')
  t.equal(p('bearer., bearer.second'), 'second', 'empty bearer entry skipped')
  t.equal(p('bearer.first, bearer.second'), 'first', 'first bearer entry wins')
  t.equal(p('socketspec, chat'), null, 'no bearer entry')
  t.equal(p('Bearer.abc'), null, 'subprotocol names are case-sensitive')
  t.equal(p(['socketspec', 'bearer.arr']), 'arr', 'repeated header as an array')
  t.equal(p(''), null)
})

t.test('extractToken: query', async t => {
  t.same(extractToken({}, { token: ['first', 'second'] }), { token: 'first', source: 'query' }, 'first value when repeated')
  t.same(extractToken({}, { token: '' }), { token: null, source: null }, 'empty value')
  t.same(extractToken({}, { token: [] }), { token: null, source: null }, 'empty array')
  t.same(extractToken({}, { token: undefined }), { token: null, source: null })
  t.same(extractToken({}, JSON.parse('{"__proto__": {"token": "polluted"}}')), { token: null, source: null }, 'only own keys')
  t.same(extractToken({}, Object.create({ token: 'inherited' })), { token: null, source: null }, 'inherited keys ignored')
  t.equal(queryValue(undefined, 'token'), undefined)
  t.equal(queryValue({ a: 'x' }, 'a'), 'x')
})

t.test('extractToken: oversized values are refused, not truncated', async t => {
  const max = 'a'.repeat(MAX_TOKEN_LENGTH)
  const over = 'a'.repeat(MAX_TOKEN_LENGTH + 1)
  t.equal(MAX_TOKEN_LENGTH, 16 * 1024)
  t.same(extractToken({ authorization: `Bearer ${max}` }), { token: max, source: 'header' }, 'exactly 16 KiB is accepted')
  t.same(extractToken({ authorization: `Bearer ${over}` }, { token: 'q' }), { token: null, source: null }, 'header')
  t.same(extractToken({ 'sec-websocket-protocol': `socketspec, bearer.${over}` }, { token: 'q' }), { token: null, source: null }, 'subprotocol')
  t.same(extractToken({}, { token: over }), { token: null, source: null }, 'query')
})

t.test('selectProtocol: socketspec or nothing, never another offered entry', async t => {
  t.equal(selectProtocol(new Set(['socketspec', 'bearer.abc'])), 'socketspec')
  t.equal(selectProtocol(new Set(['bearer.abc', 'socketspec'])), 'socketspec', 'order does not matter')
  t.equal(selectProtocol(new Set(['chat', 'socketspec'])), 'socketspec')
  t.equal(selectProtocol(new Set(['chat', 'bearer.abc'])), false, 'chat is never selected')
  t.equal(selectProtocol(new Set(['bearer.abc', 'chat', 'other'])), false, 'nor the first non-token entry')
  t.equal(selectProtocol(new Set(['chat'])), false)
  t.equal(selectProtocol(new Set(['bearer.abc'])), false, 'a token is never echoed back')
  t.equal(selectProtocol(new Set(['Socketspec'])), false, 'subprotocol names are case-sensitive')
  t.equal(selectProtocol(new Set()), false)
})

t.test('a browser-style client passes its token as a subprotocol over a real handshake', async t => {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, handleProtocols: selectProtocol })
  t.teardown(() => new Promise<void>(resolve => wss.close(() => resolve())))
  await once(wss, 'listening')
  const seen = new Promise<[WebSocket, { headers: Record<string, any> }]>(resolve => wss.once('connection', (ws, request) => resolve([ws, request])))

  const client = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}/ws`, ['socketspec', `bearer.${JWT}`])
  t.teardown(() => client.terminate())
  await once(client, 'open')
  t.equal(client.protocol, 'socketspec', 'the server selected socketspec, never the token entry')
  const [server, request] = await seen
  t.equal(server.protocol, 'socketspec')
  t.same(extractToken(request.headers, {}), { token: JWT, source: 'protocol' }, 'the token is read from the upgrade request')
})

t.test('redactUrl', async t => {
  t.equal(redactUrl('/ws?token=abc'), '/ws?token=[REDACTED]')
  t.equal(redactUrl(`/ws?room=1&token=${JWT}&x=2`), '/ws?room=1&token=[REDACTED]&x=2')
  t.equal(redactUrl('/ws?api_key=k&token=t'), '/ws?api_key=[REDACTED]&token=[REDACTED]')
  t.equal(redactUrl('/ws?token=a&token=b'), '/ws?token=[REDACTED]&token=[REDACTED]', 'every repeat')
  t.equal(redactUrl('/ws?TOKEN=abc'), '/ws?TOKEN=[REDACTED]', 'case-insensitive')
  t.equal(redactUrl('/ws?%74oken=abc'), '/ws?%74oken=[REDACTED]', 'percent-encoded name')
  t.equal(redactUrl('/ws?api+key=abc&api%5Fkey=def'), '/ws?api+key=abc&api%5Fkey=[REDACTED]')
  t.equal(redactUrl('/ws?%E0%A4%A=1&token=x'), '/ws?%E0%A4%A=1&token=[REDACTED]', 'malformed escapes do not throw')
  t.equal(redactUrl('/ws?token=abc#frag'), '/ws?token=[REDACTED]#frag')
  t.equal(redactUrl('/ws?token='), '/ws?token=', 'nothing to hide')
  t.equal(redactUrl('/ws?token'), '/ws?token')
  t.equal(redactUrl('/ws?tokens=abc&my_token=x'), '/ws?tokens=abc&my_token=x', 'exact names only')
  t.equal(redactUrl('/ws'), '/ws')
  t.equal(redactUrl('/ws?room=1'), '/ws?room=1')
  t.equal(redactUrl(''), '')
  t.equal(redactUrl(undefined as unknown as string), undefined, 'non-strings pass through')
  t.equal(redactUrl('https://host:3000/ws?token=abc'), 'https://host:3000/ws?token=[REDACTED]', 'absolute URLs')

  const custom = createUrlRedactor(['Key'])
  t.equal(custom('/ws?key=k&token=t&api_key=a&room=1'), '/ws?key=[REDACTED]&token=[REDACTED]&api_key=[REDACTED]&room=1')
  t.equal(redactUrl('/ws?key=k'), '/ws?key=k', 'the default redactor is unchanged')
  t.equal(redactUrl('/ws?resume_token=r&Resume_Token=s'), '/ws?resume_token=[REDACTED]&Resume_Token=[REDACTED]', 'resume_token')
  t.equal(redactUrl('/ws?token=a?b&c=1'), '/ws?token=[REDACTED]&c=1', 'a ? inside the value is part of it')
  t.equal(redactUrl('/ws?&token=b'), '/ws?&token=[REDACTED]')
  t.equal(redactUrl('/ws?token=a=b&c=1'), '/ws?token=[REDACTED]&c=1', 'an = inside the value')
})

t.test('SENSITIVE_QUERY_PARAMS and sensitiveNames', async t => {
  t.same(SENSITIVE_QUERY_PARAMS, ['token', 'api_key', 'resume_token'])
  t.ok(Object.isFrozen(SENSITIVE_QUERY_PARAMS))
  t.same([...sensitiveNames()], ['token', 'api_key', 'resume_token'])
  t.same([...sensitiveNames(['Key', 'token'])], ['token', 'api_key', 'resume_token', 'key'], 'lower-cased, no duplicates')
})

t.test('redactQuery: log lines (JSON text holding URLs)', async t => {
  const names = sensitiveNames(['key'])
  const line = '{"level":30,"req":{"method":"GET","url":"/ws?key=K1&room=1"},"msg":"incoming request"}'
  t.equal(redactQuery(line, names), '{"level":30,"req":{"method":"GET","url":"/ws?key=[REDACTED]&room=1"},"msg":"incoming request"}')
  t.equal(redactQuery('{"msg":"Route GET:/nope?token=S4 not found"}', names), '{"msg":"Route GET:/nope?token=[REDACTED] not found"}', 'a value inside a message ends at a space')
  t.equal(redactQuery('{"a":"/x?token=A","b":"/y?api_key=B&token=C"}', names), '{"a":"/x?token=[REDACTED]","b":"/y?api_key=[REDACTED]&token=[REDACTED]"}', 'several URLs in one line')
  t.equal(redactQuery('{"url":"/n?token=ab\\"cd\\\\ef&x=1"}', names), '{"url":"/n?token=[REDACTED]&x=1"}', 'JSON escapes (\\" and \\\\) stay inside the value')
  t.equal(redactQuery('{"url":"/n?token=abc"}\n', names), '{"url":"/n?token=[REDACTED]"}\n', 'the value ends with its JSON string')
  const plain = '{"level":30,"msg":"request completed"}'
  t.equal(redactQuery(plain, names), plain, 'a line without ? is returned as is')
  t.equal(redactQuery('{"msg":"a&token=b, no query"}', names), '{"msg":"a&token=b, no query"}', 'no ? in the line: no work at all')
  t.equal(redactQuery('{"msg":"why? token=b"}', names), '{"msg":"why? token=b"}', 'only ?name= and &name= pairs')
})
