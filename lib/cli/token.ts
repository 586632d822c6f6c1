import { createSigner } from 'fast-jwt'
import { usageError } from './cli-error.js'
import { parse } from './parse.js'
import type { CliIO } from './main.js'

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 }

/** `30s`, `15m`, `1h`, `7d` or plain seconds → seconds. */
function seconds (value: string): number {
  const m = /^(\d+(?:\.\d+)?)([smhd]?)$/.exec(value)
  if (m === null) throw usageError(`socketspec token: --expires must look like 3600, 30m, 1h or 7d (got '${value}')`, 'token')
  return Number(m[1]) * UNITS[m[2] === '' ? 's' : m[2]]
}

/**
 * `socketspec token`: print a development JWT (HS256) for `jwtAuth({ secret,
 * algorithm: 'HS256' })`, so a new app can be tried with auth on at once.
 */
export async function tokenCommand (args: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parse(args, {
    secret: { type: 'string' },
    sub: { type: 'string' },
    role: { type: 'string' },
    expires: { type: 'string' },
    help: { type: 'boolean', short: 'h' }
  }, 'token')
  if (values.help === true) {
    const { HELP } = await import('./help.js')
    io.stdout.write(HELP.token)
    return 0
  }
  if (positionals.length > 0) throw usageError(`socketspec token: unexpected argument '${positionals[0]}'`, 'token')
  const secret = values.secret ?? process.env.JWT_SECRET
  if (secret === undefined || secret === '') throw usageError('socketspec token: give the secret with --secret or JWT_SECRET (the one jwtAuth uses)', 'token')
  const claims: Record<string, unknown> = { sub: values.sub ?? 'dev-user' }
  if (values.role !== undefined) claims.role = values.role
  const sign = createSigner({ key: secret, algorithm: 'HS256', expiresIn: seconds(values.expires ?? '1h') * 1000 })
  io.stdout.write(sign(claims) + '\n')
  return 0
}
