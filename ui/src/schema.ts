/** A JSON Schema as found in the AsyncAPI document (plain JSON). */
export type Schema = Record<string, any>

export interface SchemaRow {
  /** Dotted path, `[]` marks array items. */
  path: string
  depth: number
  type: string
  required: boolean
  description: string
}

const MAX_DEPTH = 8

/** Resolves local `$ref`s (`#/...`) against the whole document. */
export type Resolver = (schema: Schema | undefined) => Schema | undefined

export function makeResolver (doc: unknown): Resolver {
  const resolve: Resolver = (schema) => {
    let current = schema
    for (let hops = 0; current !== undefined && typeof current.$ref === 'string' && hops < 16; hops++) {
      current = pointer(doc, current.$ref)
    }
    return current
  }
  return resolve
}

function pointer (doc: unknown, ref: string): Schema | undefined {
  if (!ref.startsWith('#/')) return undefined
  let node: any = doc
  for (const raw of ref.slice(2).split('/')) {
    const key = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~')
    if (node === null || typeof node !== 'object' || !(key in node)) return undefined
    node = node[key]
  }
  return node
}

function variants (schema: Schema): Schema[] | undefined {
  return schema.anyOf ?? schema.oneOf
}

/** Short human label for a schema's type: `string (email)`, `array<integer>`, `string | null`, `const "x"`. */
export function typeLabel (schema: Schema | undefined, resolve: Resolver, depth = 0): string {
  const s = resolve(schema)
  if (s === undefined || depth > MAX_DEPTH) return 'any'
  if ('const' in s) return `const ${JSON.stringify(s.const)}`
  const alts = variants(s)
  if (alts !== undefined) {
    const resolved = alts.map((v) => resolve(v))
    // TypeBox unions of literals: show them as an enum.
    if (resolved.every((v) => v !== undefined && 'const' in v)) return `enum ${resolved.map((v) => JSON.stringify(v?.const)).join(' | ')}`
    return alts.map((v) => typeLabel(v, resolve, depth + 1)).join(' | ')
  }
  if (Array.isArray(s.allOf)) return s.allOf.map((v: Schema) => typeLabel(v, resolve, depth + 1)).join(' & ')
  let type: string
  if (Array.isArray(s.type)) type = s.type.join(' | ')
  else if (typeof s.type === 'string') type = s.type
  else if (s.enum !== undefined) type = 'enum'
  else if (s.properties !== undefined) type = 'object'
  else type = 'any'
  if (type === 'array') type = `array<${s.items === undefined ? 'any' : typeLabel(s.items, resolve, depth + 1)}>`
  if (s.format !== undefined) type += ` (${s.format})`
  if (s.enum !== undefined && type !== 'enum') type += ' enum'
  return type
}

function constraints (s: Schema): string[] {
  const out: string[] = []
  if (Array.isArray(s.enum)) out.push(`one of: ${s.enum.map((v: unknown) => JSON.stringify(v)).join(', ')}`)
  if (s.default !== undefined) out.push(`default: ${JSON.stringify(s.default)}`)
  if (s.minLength !== undefined) out.push(`min length ${s.minLength}`)
  if (s.maxLength !== undefined) out.push(`max length ${s.maxLength}`)
  if (s.minimum !== undefined) out.push(`≥ ${s.minimum}`)
  if (s.exclusiveMinimum !== undefined) out.push(`> ${s.exclusiveMinimum}`)
  if (s.maximum !== undefined) out.push(`≤ ${s.maximum}`)
  if (s.exclusiveMaximum !== undefined) out.push(`< ${s.exclusiveMaximum}`)
  if (s.minItems !== undefined) out.push(`min items ${s.minItems}`)
  if (s.maxItems !== undefined) out.push(`max items ${s.maxItems}`)
  if (s.pattern !== undefined) out.push(`pattern ${s.pattern}`)
  if (Array.isArray(s.examples) && s.examples.length > 0) out.push(`example: ${JSON.stringify(s.examples[0])}`)
  return out
}

function describe (s: Schema): string {
  return [s.description, ...constraints(s)].filter((x) => typeof x === 'string' && x !== '').join(' · ')
}

/** The object schema to descend into, if any: the schema itself, its array items, or its single non-null variant. */
function container (s: Schema, resolve: Resolver): { schema: Schema, suffix: string } | undefined {
  if (s.type === 'object' || s.properties !== undefined) return s.properties === undefined ? undefined : { schema: s, suffix: '' }
  if (s.type === 'array' && s.items !== undefined) {
    const items = resolve(s.items)
    if (items === undefined) return undefined
    const inner = container(items, resolve)
    return inner === undefined ? undefined : { schema: inner.schema, suffix: '[]' + inner.suffix }
  }
  const alts = variants(s)
  if (alts !== undefined) {
    const objects = alts.map((v) => resolve(v)).filter((v): v is Schema => v !== undefined && v.type !== 'null')
    if (objects.length === 1) return container(objects[0], resolve)
  }
  return undefined
}

/** Flattens a schema into table rows; nested objects become dotted, indented rows. */
export function schemaRows (schema: Schema | undefined, resolve: Resolver): SchemaRow[] {
  const root = resolve(schema)
  if (root === undefined || Object.keys(root).length === 0) return []
  const top = container(root, resolve)
  if (top === undefined || top.suffix !== '') {
    return [{ path: '(payload)', depth: 0, type: typeLabel(root, resolve), required: true, description: describe(root) }]
  }
  const rows: SchemaRow[] = []
  const walk = (obj: Schema, prefix: string, depth: number) => {
    const required: string[] = Array.isArray(obj.required) ? obj.required : []
    for (const [name, raw] of Object.entries<Schema>(obj.properties ?? {})) {
      const prop = resolve(raw) ?? {}
      const path = prefix === '' ? name : `${prefix}.${name}`
      rows.push({ path, depth, type: typeLabel(prop, resolve), required: required.includes(name), description: describe(prop) })
      const inner = depth < MAX_DEPTH ? container(prop, resolve) : undefined
      if (inner !== undefined) walk(inner.schema, path + inner.suffix, depth + 1)
    }
  }
  walk(top.schema, '', 0)
  return rows
}

const FORMAT_EXAMPLES: Record<string, unknown> = {
  email: 'user@example.com',
  uri: 'https://example.com',
  url: 'https://example.com',
  uuid: '3fa85f64-5717-4562-b3fc-2c963f66afa6',
  date: '2025-01-01',
  time: '12:00:00Z',
  hostname: 'example.com',
  ipv4: '192.0.2.1',
  ipv6: '2001:db8::1'
}

/** An example value for a schema: default, examples, const, enum, format, then type. */
export function exampleFor (schema: Schema | undefined, resolve: Resolver, depth = 0): unknown {
  const s = resolve(schema)
  if (s === undefined || depth > MAX_DEPTH) return {}
  if (s.default !== undefined) return s.default
  if (Array.isArray(s.examples) && s.examples.length > 0) return s.examples[0]
  if (s.example !== undefined) return s.example
  if ('const' in s) return s.const
  if (Array.isArray(s.enum) && s.enum.length > 0) return s.enum[0]
  const alts = variants(s)
  if (alts !== undefined && alts.length > 0) {
    const first = alts.find((v) => resolve(v)?.type !== 'null') ?? alts[0]
    return exampleFor(first, resolve, depth + 1)
  }
  if (Array.isArray(s.allOf)) {
    return Object.assign({}, ...s.allOf.map((v: Schema) => {
      const e = exampleFor(v, resolve, depth + 1)
      return e !== null && typeof e === 'object' ? e : {}
    }))
  }
  const type = Array.isArray(s.type) ? s.type.find((t: string) => t !== 'null') : s.type
  switch (type ?? (s.properties !== undefined ? 'object' : undefined)) {
    case 'string': {
      if (s.format === 'date-time') return new Date(0).toISOString().replace('1970-01-01', '2025-01-01')
      if (typeof s.format === 'string' && s.format in FORMAT_EXAMPLES) return FORMAT_EXAMPLES[s.format]
      let value = 'string'
      if (typeof s.minLength === 'number' && value.length < s.minLength) value = value.padEnd(s.minLength, 'x')
      if (typeof s.maxLength === 'number' && value.length > s.maxLength) value = value.slice(0, s.maxLength)
      return value
    }
    case 'integer':
    case 'number': {
      let n = 0
      if (typeof s.minimum === 'number') n = s.minimum
      else if (typeof s.exclusiveMinimum === 'number') n = type === 'integer' ? Math.floor(s.exclusiveMinimum) + 1 : s.exclusiveMinimum + 1
      else if (typeof s.maximum === 'number' && s.maximum < 0) n = s.maximum
      return type === 'integer' ? Math.ceil(n) : n
    }
    case 'boolean':
      return false
    case 'null':
      return null
    case 'array': {
      const count = Math.max(1, typeof s.minItems === 'number' ? s.minItems : 1)
      if (s.items === undefined) return []
      return Array.from({ length: Math.min(count, 10) }, () => exampleFor(s.items, resolve, depth + 1))
    }
    case 'object': {
      const out: Record<string, unknown> = {}
      for (const [name, prop] of Object.entries<Schema>(s.properties ?? {})) out[name] = exampleFor(prop, resolve, depth + 1)
      return out
    }
    default:
      return {}
  }
}
