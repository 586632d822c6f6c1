import type { Identity, IdentityInit } from '../types.js'

function toId (value: unknown): string | null {
  switch (typeof value) {
    case 'string': return value
    case 'number': return Number.isFinite(value) ? String(value) : null
    case 'bigint':
    case 'boolean': return String(value)
    default: return null
  }
}

function toTime (value: unknown): number | null {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null
  if (value instanceof Date) return Number.isFinite(value.getTime()) ? value.getTime() : null
  return null
}

/**
 * Fill an auth backend's partial identity: `userId`/`role` as strings or null,
 * `tokenExpiresAt` as epoch milliseconds or null, `extra` as an object.
 *
 * @example
 * normalizeIdentity({ userId: 42 }) // { userId: '42', role: null, tokenExpiresAt: null, extra: {} }
 */
export function normalizeIdentity (init: IdentityInit): Identity {
  const extra = init.extra
  return {
    userId: toId(init.userId),
    role: toId(init.role),
    tokenExpiresAt: toTime(init.tokenExpiresAt),
    extra: extra !== null && typeof extra === 'object' && !Array.isArray(extra) ? extra : {}
  }
}

/**
 * The identity of a connection when no auth backend is configured.
 *
 * @example
 * anonymousIdentity() // { userId: null, role: null, tokenExpiresAt: null, extra: {} }
 */
export function anonymousIdentity (): Identity {
  return { userId: null, role: null, tokenExpiresAt: null, extra: {} }
}
