// JSON Schema → TypeScript type text, for `socketspec types`. Small on
// purpose: the CLI must not pull a formatter into users' installs. It covers
// what TypeBox and hand-written payload schemas use; the rest becomes `unknown`.

type Json = Record<string, unknown>

/** A type's text and how tightly it binds (for parentheses). */
interface Emitted {
  text: string
  /** 0: union, 1: intersection, 2: anything else (keyword, literal, object, array, name). */
  prec: 0 | 1 | 2
  /** A union's members. */
  members?: Emitted[]
}

const UNKNOWN: Emitted = { text: 'unknown', prec: 2 }
const NEVER: Emitted = { text: 'never', prec: 2 }
const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/
const INDENT = '  '
/** Keywords that make a schema's own shape part of its type next to anyOf/oneOf/allOf. */
const SHAPE_KEYWORDS = ['properties', 'additionalProperties', 'patternProperties', 'items', 'prefixItems', 'enum', 'const']

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value)

/** A single-quoted TypeScript string literal. */
export function stringLiteral (value: string): string {
  // JSON's escapes are valid in TypeScript; only the quotes change.
  const body = JSON.stringify(value).slice(1, -1).replace(/\\(.)/g, (m, c: string) => c === '"' ? '"' : m)
  return `'${body.replace(/'/g, "\\'")}'`
}

/** A property key as TypeScript writes it: bare when it is an identifier, else quoted. */
export function propertyKey (key: string): string {
  return IDENTIFIER.test(key) ? key : stringLiteral(key)
}

/** `echo payload` → `EchoPayload`: a usable type name for any title (empty or leading digit: prefixed). */
export function typeName (title: string): string {
  const s = title.split(/[^A-Za-z0-9_$]+/).filter((w) => w !== '').map((w) => w[0].toUpperCase() + w.slice(1)).join('')
  return s === '' ? 'Type' : /^[0-9]/.test(s) ? `T${s}` : s
}

/** A JSDoc block from a schema's `description`, `default` and `deprecated` ('' when it has none). */
export function jsDoc (schema: unknown, indent: string): string {
  if (!isObject(schema)) return ''
  const lines: string[] = []
  if (typeof schema.description === 'string' && schema.description.trim() !== '') {
    lines.push(...schema.description.trim().split(/\r?\n/))
  }
  if ('default' in schema) lines.push(`@default ${JSON.stringify(schema.default)}`)
  if (schema.deprecated === true) lines.push('@deprecated')
  if (lines.length === 0) return ''
  const safe = lines.map((l) => l.replace(/\*\//g, '*\\/').trimEnd())
  if (safe.length === 1) return `${indent}/** ${safe[0]} */\n`
  return `${indent}/**\n${safe.map((l) => `${indent} *${l === '' ? '' : ' ' + l}`).join('\n')}\n${indent} */\n`
}

const wrap = (e: Emitted, min: 0 | 1 | 2): string => e.prec < min ? `(${e.text})` : e.text

/** `A | B`, flattened (a member that is a union adds its members), without repeats or `never`; any `unknown` wins. */
function union (members: Emitted[]): Emitted {
  const kept: Emitted[] = []
  for (const m of members.flatMap((m) => m.members ?? [m])) {
    if (m.text === 'unknown') return UNKNOWN
    if (m.text !== 'never' && !kept.some((k) => k.text === m.text)) kept.push(m)
  }
  if (kept.length === 0) return NEVER
  if (kept.length === 1) return kept[0]
  return { text: kept.map((m) => wrap(m, 1)).join(' | '), prec: 0, members: kept }
}

/** `A & B` without repeats or `unknown`; any `never` wins. */
function intersection (members: Emitted[]): Emitted {
  const kept: Emitted[] = []
  for (const m of members) {
    if (m.text === 'never') return NEVER
    if (m.text !== 'unknown' && !kept.some((k) => k.text === m.text)) kept.push(m)
  }
  if (kept.length === 0) return UNKNOWN
  if (kept.length === 1) return kept[0]
  return { text: kept.map((m) => wrap(m, 1)).join(' & '), prec: 1 }
}

/**
 * Turns JSON Schemas into TypeScript type text. A schema with a `title`, and
 * the target of a `$ref`, becomes a named `export type` (declared once, even
 * when several places use it; two different schemas with one title get
 * `Title` and `Title2`); everything else is written inline.
 *
 * @example
 * const ts = new SchemaToTs(asyncapiDocument)
 * const name = ts.type({ title: 'Point', type: 'object', properties: { x: { type: 'number' } }, required: ['x'] })
 * name // 'Point'
 * ts.declarations() // 'export type Point = {\n  x: number\n}\n'
 */
export class SchemaToTs {
  /** Things a reader should know: unresolved `$ref`s. */
  readonly warnings: string[] = []
  readonly #root: unknown
  /** Names already taken (declared types and reserved names). */
  readonly #taken = new Set<string>()
  /** Declared schema → its name. */
  readonly #byObject = new Map<object, string>()
  /** Title + JSON of a declared schema → its name: equal copies share one type. */
  readonly #byContent = new Map<string, string>()
  /** Declarations in the order their names were given (parents before the types they use). */
  readonly #decls: Array<{ name: string, text: string }> = []
  /** Schemas with an `$id` enclosing the one being written: where a relative `$ref` looks first. */
  readonly #scope: Json[] = []
  #ids: Map<string, Json> | undefined

  /** `root` is the document `$ref`s point into (`#/components/schemas/X`); `reserved` are names not to declare. */
  constructor (root: unknown, reserved: Iterable<string> = []) {
    this.#root = root
    for (const name of reserved) this.#taken.add(name)
  }

  /** The type of `schema`, as text that may span lines; `depth` is its indentation level. */
  type (schema: unknown, depth = 0): string {
    return this.#type(schema, depth).text
  }

  /** Declare `schema` as a named type (named by its title, else by `fallback`) and return the name. */
  named (schema: unknown, fallback: string): string {
    if (!isObject(schema)) return this.#alias(schema, fallback)
    const known = this.#byObject.get(schema)
    if (known !== undefined) return known
    const title = typeof schema.title === 'string' && schema.title !== '' ? schema.title : fallback
    const content = `${title}\0${JSON.stringify(schema)}`
    const same = this.#byContent.get(content)
    if (same !== undefined) {
      this.#byObject.set(schema, same)
      return same
    }
    const name = this.#claim(typeName(title))
    this.#byObject.set(schema, name)
    this.#byContent.set(content, name)
    const decl = { name, text: '' }
    this.#decls.push(decl)
    decl.text = `${jsDoc(schema, '')}export type ${name} = ${this.#body(schema, 0).text}\n`
    return name
  }

  /** Every named type, in the order they were first used. */
  declarations (): string {
    return this.#decls.map((d) => d.text).join('\n')
  }

  #alias (schema: unknown, fallback: string): string {
    const name = this.#claim(typeName(fallback))
    this.#decls.push({ name, text: `export type ${name} = ${this.#type(schema, 0).text}\n` })
    return name
  }

  #claim (base: string): string {
    let name = base
    for (let i = 2; this.#taken.has(name); i++) name = `${base}${i}`
    this.#taken.add(name)
    return name
  }

  #type (schema: unknown, depth: number): Emitted {
    if (schema === false) return NEVER
    if (!isObject(schema)) return UNKNOWN
    if (typeof schema.title === 'string' && schema.title !== '') return { text: this.named(schema, schema.title), prec: 2 }
    return this.#body(schema, depth)
  }

  /** The schema's own type, whatever its title. */
  #body (schema: Json, depth: number): Emitted {
    const scoped = typeof schema.$id === 'string'
    if (scoped) this.#scope.push(schema)
    try {
      return this.#nullable(schema, this.#combined(schema, depth))
    } finally {
      if (scoped) this.#scope.pop()
    }
  }

  #nullable (schema: Json, e: Emitted): Emitted {
    return schema.nullable === true ? union([e, { text: 'null', prec: 2 }]) : e
  }

  #combined (schema: Json, depth: number): Emitted {
    if (typeof schema.$ref === 'string') return this.#ref(schema.$ref)
    const parts: Emitted[] = []
    for (const key of ['anyOf', 'oneOf'] as const) {
      const list = schema[key]
      if (Array.isArray(list)) parts.push(union(list.map((s) => this.#type(s, depth))))
    }
    if (Array.isArray(schema.allOf)) parts.push(intersection(schema.allOf.map((s) => this.#type(s, depth))))
    if (parts.length === 0) return this.#shape(schema, depth)
    // Next to combinators, a bare `type` only restates what the members say.
    const shaped = SHAPE_KEYWORDS.some((k) => k in schema)
    if (shaped) parts.unshift(this.#shape(schema, depth))
    const combined = intersection(parts)
    return combined.text === 'unknown' && !shaped && schema.type !== undefined ? this.#shape(schema, depth) : combined
  }

  /** `const`, `enum`, then `type` (one or a list). */
  #shape (schema: Json, depth: number): Emitted {
    if ('const' in schema) return literal(schema.const)
    if (Array.isArray(schema.enum)) return union(schema.enum.map(literal))
    const types = Array.isArray(schema.type) ? schema.type : [schema.type]
    if (types[0] === undefined) {
      if ('properties' in schema || 'additionalProperties' in schema || 'patternProperties' in schema) return this.#object(schema, depth)
      if ('items' in schema || 'prefixItems' in schema) return this.#array(schema, depth)
      return UNKNOWN
    }
    return union(types.map((t) => this.#ofType(t, schema, depth)))
  }

  #ofType (type: unknown, schema: Json, depth: number): Emitted {
    switch (type) {
      case 'string': return { text: 'string', prec: 2 }
      case 'number':
      case 'integer': return { text: 'number', prec: 2 }
      case 'boolean': return { text: 'boolean', prec: 2 }
      case 'null': return { text: 'null', prec: 2 }
      case 'object': return this.#object(schema, depth)
      case 'array': return this.#array(schema, depth)
      default: return UNKNOWN
    }
  }

  #object (schema: Json, depth: number): Emitted {
    const pad = INDENT.repeat(depth + 1)
    const properties = isObject(schema.properties) ? schema.properties : undefined
    const required = new Set(Array.isArray(schema.required) ? schema.required : [])
    const lines: string[] = []
    const types: Emitted[] = []
    let optional = false
    for (const [key, value] of Object.entries(properties ?? {})) {
      const t = this.#type(value, depth + 1)
      const opt = !required.has(key)
      optional ||= opt
      types.push(t)
      lines.push(`${jsDoc(value, pad)}${pad}${propertyKey(key)}${opt ? '?' : ''}: ${t.text}`)
    }
    const rest = this.#rest(schema, depth + 1, properties === undefined)
    if (rest !== undefined) {
      // Every declared property must fit the index signature too.
      const all = rest.text === 'unknown' ? rest : union([rest, ...types, ...(optional ? [{ text: 'undefined', prec: 2 as const }] : [])])
      lines.push(`${pad}[key: string]: ${all.text}`)
    }
    if (lines.length === 0) return { text: '{}', prec: 2 }
    return { text: `{\n${lines.join('\n')}\n${INDENT.repeat(depth)}}`, prec: 2 }
  }

  /** The index signature's type: from additionalProperties and patternProperties (undefined: none). */
  #rest (schema: Json, depth: number, noProperties: boolean): Emitted | undefined {
    const extra: Emitted[] = []
    const additional = schema.additionalProperties
    if (additional === true || isObject(additional)) extra.push(this.#type(additional, depth))
    if (isObject(schema.patternProperties)) {
      for (const s of Object.values(schema.patternProperties)) extra.push(this.#type(s, depth))
    }
    if (extra.length > 0) return union(extra)
    // `{type: 'object'}` and nothing else: any object.
    return noProperties && additional === undefined ? UNKNOWN : undefined
  }

  #array (schema: Json, depth: number): Emitted {
    let prefix: unknown[] | undefined
    let rest: unknown
    if (Array.isArray(schema.prefixItems)) {
      prefix = schema.prefixItems
      rest = schema.items
    } else if (Array.isArray(schema.items)) {
      prefix = schema.items
      rest = schema.additionalItems
    }
    if (prefix === undefined) {
      return { text: `${wrap(this.#type(schema.items ?? true, depth), 2)}[]`, prec: 2 }
    }
    const min = typeof schema.minItems === 'number' ? schema.minItems : 0
    const closed = rest === false || schema.maxItems === prefix.length
    const elements = prefix.map((s, i) => {
      const t = this.#type(s, depth)
      return i >= min ? `${wrap(t, 2)}?` : t.text
    })
    if (!closed) elements.push(`...${wrap(this.#type(rest ?? true, depth), 2)}[]`)
    return { text: `[${elements.join(', ')}]`, prec: 2 }
  }

  #ref (ref: string): Emitted {
    // A $ref to a $ref: name the schema at the end of the chain (a type alias cannot be itself).
    let last = ref
    let target = this.#resolve(ref)
    const seen = new Set<unknown>()
    while (isObject(target) && typeof target.$ref === 'string') {
      if (seen.has(target)) {
        this.warnings.push(`$ref '${ref}' refers to itself: typed as unknown`)
        return UNKNOWN
      }
      seen.add(target)
      last = target.$ref
      target = this.#resolve(last)
    }
    if (target === undefined) {
      this.warnings.push(`cannot resolve $ref '${last}': typed as unknown`)
      return UNKNOWN
    }
    const name = last.split(/[/#]/).filter((s) => s !== '').pop() ?? 'Ref'
    return { text: this.named(target, decodePointer(name)), prec: 2 }
  }

  /** A JSON pointer into the document, else an `$id` (the nearest enclosing first, then anywhere). */
  #resolve (ref: string): unknown {
    if (ref.startsWith('#')) {
      let node: unknown = this.#root
      for (const raw of ref.slice(1).split('/').slice(1)) {
        if (!isObject(node) && !Array.isArray(node)) return undefined
        node = (node as Record<string, unknown>)[decodePointer(raw)]
      }
      return node === undefined ? undefined : node
    }
    for (let i = this.#scope.length - 1; i >= 0; i--) {
      if (this.#scope[i].$id === ref) return this.#scope[i]
    }
    this.#ids ??= indexIds(this.#root)
    return this.#ids.get(ref)
  }
}

function decodePointer (segment: string): string {
  let s = segment
  try {
    s = decodeURIComponent(segment)
  } catch {}
  return s.replace(/~1/g, '/').replace(/~0/g, '~')
}

/** Every `$id` in the document (the first of each wins). */
function indexIds (root: unknown): Map<string, Json> {
  const ids = new Map<string, Json>()
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const n of node) walk(n)
      return
    }
    if (!isObject(node)) return
    if (typeof node.$id === 'string' && !ids.has(node.$id)) ids.set(node.$id, node)
    for (const v of Object.values(node)) walk(v)
  }
  walk(root)
  return ids
}

/** A JSON value as a literal type (JSON text is valid TypeScript type syntax for every JSON value). */
function literal (value: unknown): Emitted {
  return { text: typeof value === 'string' ? stringLiteral(value) : JSON.stringify(value) ?? 'unknown', prec: 2 }
}
