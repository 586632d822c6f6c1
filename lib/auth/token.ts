import type { IncomingHttpHeaders } from 'node:http'

/** Longest credential read from any source; a large JWT is a few KiB, anything past this is abuse. */
export const MAX_TOKEN_LENGTH = 16 * 1024

/** The only subprotocol the server ever selects; browsers offer it next to `bearer.<token>`. */
export const SUBPROTOCOL = 'socketspec'

/** Prefix of the `Sec-WebSocket-Protocol` entry that carries a token. */
export const BEARER_PROTOCOL_PREFIX = 'bearer.'

/** What replaces a sensitive query value in logs. */
export const REDACTED = '[REDACTED]'

/** Query parameters whose values are always redacted from logs (and by `redactUrl`). */
export const SENSITIVE_QUERY_PARAMS: readonly string[] = Object.freeze(['token', 'api_key', 'resume_token'])

export type TokenSource = 'header' | 'protocol' | 'query'

/** The token of a request and where it was found. */
export interface ExtractedToken {
  token: string | null
  source: TokenSource | null
}

type Query = Record<string, string | string[] | undefined>

// A candidate is `undefined` when absent or empty (try the next source), a string otherwise.
function fromAuthorization (value: string | undefined): string | undefined {
  if (typeof value !== 'string') return undefined
  const v = value.trim()
  // 'Bearer' + at least one space or tab; the scheme is case-insensitive (RFC 7235)
  if (v.length < 8 || v.slice(0, 6).toLowerCase() !== 'bearer' || (v[6] !== ' ' && v[6] !== '\t')) return undefined
  const token = v.slice(7).trim()
  return token === '' ? undefined : token
}

function fromProtocols (value: string | string[] | undefined): string | undefined {
  if (value === undefined) return undefined
  const list = Array.isArray(value) ? value.join(',') : value
  for (const entry of list.split(',')) {
    const p = entry.trim()
    if (p.length > BEARER_PROTOCOL_PREFIX.length && p.startsWith(BEARER_PROTOCOL_PREFIX)) {
      return p.slice(BEARER_PROTOCOL_PREFIX.length)
    }
  }
  return undefined
}

/** First value of a query parameter, or undefined when absent or empty. */
export function queryValue (query: Query | undefined, name: string): string | undefined {
  if (query == null) return undefined
  const raw = Object.hasOwn(query, name) ? query[name] : undefined
  const value = Array.isArray(raw) ? raw[0] : raw
  return typeof value === 'string' && value !== '' ? value : undefined
}

/**
 * Find the request's token: `Authorization: Bearer <t>`, then the `bearer.<t>`
 * entry of `Sec-WebSocket-Protocol`, then `?token=<t>`. Empty values are skipped;
 * a value longer than `MAX_TOKEN_LENGTH` yields no token at all.
 *
 * @example
 * const { token, source } = extractToken(request.headers, request.query)
 */
export function extractToken (headers: IncomingHttpHeaders, query?: Query): ExtractedToken {
  let token: string | undefined
  let source: TokenSource | null = null
  if ((token = fromAuthorization(headers.authorization)) !== undefined) source = 'header'
  else if ((token = fromProtocols(headers['sec-websocket-protocol'])) !== undefined) source = 'protocol'
  else if ((token = queryValue(query, 'token')) !== undefined) source = 'query'
  // An oversized credential does not fall through to a lower-priority source: the client meant this one.
  if (token === undefined || token.length > MAX_TOKEN_LENGTH) return { token: null, source: null }
  return { token, source }
}

/**
 * ws `handleProtocols`: select `socketspec` when the client offered it, else no
 * subprotocol at all; never another entry the client offered (SPEC §3), and so
 * never a `bearer.` token. RFC 6455 only lets the server pick a protocol the
 * client offered, and browsers (and the `ws` client) fail a handshake that
 * offered protocols and got none back, so browsers must offer
 * `['socketspec', 'bearer.<token>']`.
 *
 * @example
 * fastify.register(websocket, { options: { handleProtocols: selectProtocol } })
 */
export function selectProtocol (protocols: Set<string>): string | false {
  return protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : false
}

function decodeKey (raw: string): string {
  if (!raw.includes('%') && !raw.includes('+')) return raw.toLowerCase()
  try {
    return decodeURIComponent(raw.replaceAll('+', ' ')).toLowerCase()
  } catch {
    return raw.toLowerCase()
  }
}

// `?name=value` or `&name=value`, in a URL or in a JSON log line: the value ends at
// `&`, `#`, whitespace or the end of the JSON string, and keeps its `\"`-style escapes.
const QUERY_PAIR = /([?&])([^=&#?"\\\s]+)=((?:\\.|[^&#"\\\s])+)/g

/**
 * Replace with `[REDACTED]` the value of every query parameter of `text` whose
 * name, percent-decoded and lower-cased, is in `names`. `text` is a URL or any
 * text holding URLs (a JSON log line); text without a `?` is returned as is,
 * without further work.
 *
 * @example
 * redactQuery('{"url":"/ws?key=abc&room=1"}', new Set(['key'])) // '{"url":"/ws?key=[REDACTED]&room=1"}'
 */
export function redactQuery (text: string, names: ReadonlySet<string>): string {
  if (typeof text !== 'string' || !text.includes('?')) return text
  return text.replace(QUERY_PAIR, (pair: string, sep: string, name: string) =>
    names.has(decodeKey(name)) ? sep + name + '=' + REDACTED : pair)
}

/**
 * The lower-cased names whose values are redacted from logs: `token`, `api_key`,
 * `resume_token` and every extra name given.
 *
 * @example
 * const names = sensitiveNames(['Key']) // Set { 'token', 'api_key', 'resume_token', 'key' }
 */
export function sensitiveNames (extraNames: Iterable<string> = []): Set<string> {
  const names = new Set<string>(SENSITIVE_QUERY_PARAMS)
  for (const n of extraNames) names.add(n.toLowerCase())
  return names
}

/**
 * Build a URL redactor: the values of `token`, `api_key`, `resume_token` and of
 * every extra name given are replaced with `[REDACTED]`. Names are matched after
 * percent-decoding and case-insensitively, so `?%74oken=` and `?TOKEN=` are
 * redacted too.
 *
 * @example
 * const redact = createUrlRedactor(['key'])
 * redact('/ws?key=abc&room=1') // '/ws?key=[REDACTED]&room=1'
 */
export function createUrlRedactor (extraNames: Iterable<string> = []): (url: string) => string {
  const names = sensitiveNames(extraNames)
  return (url) => redactQuery(url, names)
}

/**
 * Replace the values of the `token`, `api_key` and `resume_token` query
 * parameters with `[REDACTED]` (use `createUrlRedactor` for more names).
 *
 * @example
 * redactUrl('/ws?token=eyJ...') // '/ws?token=[REDACTED]'
 */
export const redactUrl: (url: string) => string = createUrlRedactor()
