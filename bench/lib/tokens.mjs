// JWTs for the auth scenarios: HS256, signed by the load generator before it
// measures anything, verified by every peer with fast-jwt.
import { createSigner } from 'fast-jwt'

/** The shared HS256 secret (the harness passes it to servers as BENCH_JWT_SECRET). */
export const JWT_SECRET = 'socketspec-bench-secret-0123456789abcdef'

/** `count` distinct tokens (`sub` user-<i>, role user) valid for an hour. */
export function makeTokens (count, secret = JWT_SECRET) {
  const sign = createSigner({ key: secret, algorithm: 'HS256', expiresIn: 3_600_000 })
  const tokens = new Array(count)
  for (let i = 0; i < count; i++) tokens[i] = sign({ sub: `user-${i}`, role: 'user' })
  return tokens
}
