import { FST_SOCKETSPEC_INVALID_ROOM_PATTERN } from './errors.js'

/** Params captured by a room pattern, e.g. `{ room: 'general' }` for `'chat:{room}'` and `'chat:general'`. */
export type RoomParams = Record<string, string>

/** A room pattern compiled once, at registration time. */
export interface RoomPattern {
  /** The source pattern, e.g. `'chat:{room}'`. */
  readonly source: string
  /** Param names in order of appearance. */
  readonly params: readonly string[]
  /** Params when `room` matches, else null. */
  match (room: string): RoomParams | null
}

const PARAM_NAME = /^[A-Za-z_$][\w$]*$/
const REGEXP_SPECIAL = /[.*+?^${}()|[\]\\/-]/g

/**
 * Compile a room pattern such as `'chat:{room}'` or `'admin:{section}:{id}'`.
 *
 * Literal text must match exactly. A `{param}` matches one or more characters
 * other than `:`, except a param that ends the pattern, which matches the rest
 * of the room name, `:` included: so `'admin:{section}'` also covers
 * `'admin:a:b'` (a guard cannot be bypassed by adding a segment) and `'{any}'`
 * matches every room. Two params must be separated by literal text.
 * Throws FST_SOCKETSPEC_INVALID_ROOM_PATTERN for an empty pattern, unbalanced
 * braces, a bad or duplicate param name, or two adjacent params.
 *
 * @example
 * compileRoomPattern('chat:{room}').match('chat:general') // { room: 'general' }
 */
export function compileRoomPattern (pattern: string): RoomPattern {
  if (typeof pattern !== 'string' || pattern.length === 0) {
    throw new FST_SOCKETSPEC_INVALID_ROOM_PATTERN(String(pattern), 'a pattern must be a non-empty string')
  }
  const params: string[] = []
  let source = '^'
  let i = 0
  let previousWasParam = false
  while (i < pattern.length) {
    const open = pattern.indexOf('{', i)
    const close = pattern.indexOf('}', i)
    if (close !== -1 && (open === -1 || close < open)) {
      throw new FST_SOCKETSPEC_INVALID_ROOM_PATTERN(pattern, `unbalanced '}' at ${close}`)
    }
    if (open === -1) {
      source += escape(pattern.slice(i))
      break
    }
    if (open > i) {
      source += escape(pattern.slice(i, open))
      previousWasParam = false
    }
    const end = pattern.indexOf('}', open + 1)
    if (end === -1) {
      throw new FST_SOCKETSPEC_INVALID_ROOM_PATTERN(pattern, `unbalanced '{' at ${open}`)
    }
    const name = pattern.slice(open + 1, end)
    if (name.includes('{')) {
      throw new FST_SOCKETSPEC_INVALID_ROOM_PATTERN(pattern, `unbalanced '{' at ${open}`)
    }
    if (!PARAM_NAME.test(name) || name === '__proto__') {
      throw new FST_SOCKETSPEC_INVALID_ROOM_PATTERN(pattern, `invalid param name '${name}'`)
    }
    if (params.includes(name)) {
      throw new FST_SOCKETSPEC_INVALID_ROOM_PATTERN(pattern, `duplicate param '${name}'`)
    }
    if (previousWasParam) {
      throw new FST_SOCKETSPEC_INVALID_ROOM_PATTERN(pattern, `params '${params[params.length - 1]}' and '${name}' must be separated by literal text`)
    }
    params.push(name)
    source += end === pattern.length - 1 ? '(.+)' : '([^:]+)'
    previousWasParam = true
    i = end + 1
  }
  const regexp = new RegExp(source + '$', 's')
  const names = params

  if (names.length === 0) {
    return {
      source: pattern,
      params: names,
      match: (room) => room === pattern ? {} : null
    }
  }
  return {
    source: pattern,
    params: names,
    match (room) {
      const m = regexp.exec(room)
      if (m === null) return null
      const out: RoomParams = {}
      for (let k = 0; k < names.length; k++) out[names[k]] = m[k + 1]
      return out
    }
  }
}

function escape (literal: string): string {
  return literal.replace(REGEXP_SPECIAL, '\\$&')
}
