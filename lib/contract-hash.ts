import { createHash } from 'node:crypto'

/**
 * The contract hash of an AsyncAPI document: what the server sends in
 * `__connect__.contract` and what `socketspec types` writes into the generated
 * module (`export const contract`), so that a client can tell that the server
 * changed (SPEC §11). 22 base64url characters of the SHA-256 of the
 * document's `JSON.stringify`; a parsed copy of the JSON hashes the same.
 *
 * @example
 * const hash = contractHash(app.socket.asyncapi()) // 'q2V0Y3Jv…' (22 characters)
 */
export function contractHash (doc: unknown): string {
  return createHash('sha256').update(JSON.stringify(doc)).digest('base64url').slice(0, 22)
}
