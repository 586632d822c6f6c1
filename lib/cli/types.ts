import { readFile, mkdir, writeFile } from 'node:fs/promises'
import { dirname, extname, resolve } from 'node:path'
import { contractHash } from '../contract-hash.js'
import { asyncapiCommand } from './asyncapi.js'
import { CliError, usageError } from './cli-error.js'
import { HELP } from './help.js'
import { jsDoc, propertyKey, SchemaToTs } from './json-schema-to-ts.js'
import type { CliIO } from './main.js'
import { parse } from './parse.js'

type Json = Record<string, unknown>

/** Environment variable read when `--token` is not given (a token on the command line lands in the shell history). */
export const TOKEN_ENV = 'SOCKETSPEC_DOCS_TOKEN'
const FETCH_TIMEOUT_MS = 30_000
const PREFIX = 'socketspec types:'

/** What `typesModule` made of a document. */
export interface TypesModule {
  /** The TypeScript module (no imports): `contract`, `Contract` and one type per titled schema. */
  text: string
  /** The contract hash of the document, as the server sends it in `__connect__.contract`. */
  contract: string
  /** Event names of the contract, in document order. */
  events: string[]
  /** What could not be typed exactly (unresolved `$ref`s, nameless messages). */
  warnings: string[]
}

/** One client event of the document. */
interface ClientEvent {
  name: string
  message: Json
  /** Payload schema of the reply message; undefined when the event declares no reply. */
  reply?: unknown
  hasReply: boolean
  /** Server event name → payload schemas of the messages the event declares it sends. */
  outbound: Map<string, unknown[]>
}

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value)
const isSystemName = (name: string): boolean => /^__.+__$/.test(name)

/**
 * `socketspec types <app module | asyncapi.json | http(s) URL> [--out api.ts]`:
 * write the client `Contract` type of an AsyncAPI document, and its contract hash.
 */
export async function typesCommand (args: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parse(args, {
    out: { type: 'string', short: 'o' },
    token: { type: 'string' },
    decorator: { type: 'string' },
    help: { type: 'boolean', short: 'h' }
  }, 'types')
  if (values.help === true) {
    io.stdout.write(HELP.types)
    return 0
  }
  if (positionals.length === 0) throw usageError(`${PREFIX} missing the app module, AsyncAPI JSON file or URL (e.g. dist/app.js)`, 'types')
  if (positionals.length > 1) throw usageError(`${PREFIX} unexpected argument '${positionals[1]}'`, 'types')
  if (values.out === '') throw usageError(`${PREFIX} --out needs a file name`, 'types')
  if (values.out?.endsWith('.d.ts') === true) throw usageError(`${PREFIX} --out must be a .ts file, not a .d.ts: the module exports a value (contract)`, 'types')
  const source = positionals[0]
  const isUrl = /^https?:\/\//i.test(source)
  if (!isUrl && values.token !== undefined) throw usageError(`${PREFIX} --token is for a URL source (docs protected by docsAccessToken)`, 'types')
  if (isUrl && values.decorator !== undefined) throw usageError(`${PREFIX} --decorator is for an app module source`, 'types')

  let doc: unknown
  let label: string
  if (isUrl) {
    label = redact(source)
    doc = await fromUrl(source, values.token ?? nonEmpty(process.env[TOKEN_ENV]), label)
  } else if (extname(source).toLowerCase() === '.json') {
    label = resolve(io.cwd, source)
    doc = await fromFile(label)
  } else {
    label = resolve(io.cwd, source)
    doc = await fromModule(label, values.decorator, io)
  }
  assertAsyncApi(doc, label)

  const mod = typesModule(doc)
  for (const w of mod.warnings) io.stderr.write(`${PREFIX} warning: ${w}\n`)
  if (values.out === undefined) {
    io.stdout.write(mod.text)
  } else {
    const out = resolve(io.cwd, values.out)
    await mkdir(dirname(out), { recursive: true })
    await writeFile(out, mod.text)
    io.stderr.write(`Types of ${mod.events.length} events written to ${out} (contract ${mod.contract})\n`)
  }
  return 0
}

/**
 * The TypeScript module of an AsyncAPI 3 document (as socketspec serves it):
 * `export const contract` (the hash the server sends in `__connect__`),
 * `export type Contract` for `connect<Contract>()`, and one named type per
 * titled payload schema. System events (`__x__`) are left out.
 *
 * @example
 * const { text } = typesModule(app.socket.asyncapi())
 * await writeFile('api.ts', text)
 */
export function typesModule (doc: Json): TypesModule {
  const contract = contractHash(doc)
  const warnings: string[] = []
  const events = clientEvents(doc, warnings)
  const ts = new SchemaToTs(doc, ['Contract'])
  const pad = (n: number): string => '  '.repeat(n)

  const entries = events.map((ev) => {
    const payload = ts.type(payloadSchema(ev.message, doc), 2)
    const reply = ev.hasReply ? ts.type(ev.reply, 2) : 'never'
    const outbound = [...ev.outbound].map(([name, schemas]) => {
      const type = schemas.length === 1 ? ts.type(schemas[0], 3) : schemas.map((s) => ts.type(s, 3)).join(' | ')
      return `${pad(3)}${propertyKey(name)}: ${type}`
    })
    return [
      `${jsDoc(ev.message, pad(1))}${pad(1)}${propertyKey(ev.name)}: {`,
      `${pad(2)}payload: ${payload}`,
      `${pad(2)}reply: ${reply}`,
      outbound.length === 0 ? `${pad(2)}outbound: {}` : `${pad(2)}outbound: {\n${outbound.join('\n')}\n${pad(2)}}`,
      `${pad(1)}}`
    ].join('\n')
  })
  warnings.push(...ts.warnings)

  const info = isObject(doc.info) ? doc.info : {}
  const what = typeof info.title === 'string' ? `"${info.title.replace(/[\r\n]+/g, ' ')}"${typeof info.version === 'string' ? ` ${info.version}` : ''}` : 'an AsyncAPI document'
  const text = [
    `// Generated by \`socketspec types\` from ${what}. Do not edit: generate it again when the server changes.`,
    '/* eslint-disable */',
    '',
    '/** Hash of the AsyncAPI document these types come from: `connect<Contract>(url, { contract })` reports a server whose hash differs as `info.contract === \'stale\'`. */',
    `export const contract = '${contract}'`,
    '',
    '/** Every client event: its `payload`, the `reply` that `request()` resolves with (`never`: none), and the server events it makes the server send (`outbound`). */',
    entries.length === 0 ? 'export type Contract = {}' : `export type Contract = {\n${entries.join('\n')}\n}`,
    ''
  ].join('\n')
  const declarations = ts.declarations()
  return { text: declarations === '' ? text : `${text}\n${declarations}`, contract, events: events.map((e) => e.name), warnings }
}

/** The events a client sends: the document's `receive` operations, without system ones. */
function clientEvents (doc: Json, warnings: string[]): ClientEvent[] {
  const events: ClientEvent[] = []
  const operations = isObject(doc.operations) ? doc.operations : {}
  for (const [id, op] of Object.entries(operations)) {
    if (!isObject(op) || op.action !== 'receive' || op['x-socketspec-system'] === true) continue
    const outbound = new Map<string, unknown[]>()
    const add = (declared: unknown, message: Json | undefined): void => {
      const name = typeof declared === 'string' ? declared : message?.name
      if (message === undefined || typeof name !== 'string' || isSystem(name, message)) return
      const schema = payloadSchema(message, doc)
      const list = outbound.get(name) ?? []
      if (!list.some((s) => JSON.stringify(s) === JSON.stringify(schema))) list.push(schema)
      outbound.set(name, list)
    }
    for (const key of ['x-socketspec-emits', 'x-socketspec-broadcasts']) {
      const list = op[key]
      if (Array.isArray(list)) for (const d of list) if (isObject(d)) add(d.event, deref(d.message, doc))
    }
    let reply: Json | undefined
    const declared = op['x-socketspec-reply']
    if (isObject(declared)) {
      reply = deref(declared.message, doc)
      add(declared.event, reply)
    } else if (isObject(op.reply) && Array.isArray(op.reply.messages)) {
      // A document from elsewhere: the operation's reply, less the error messages.
      reply = op.reply.messages.map((m) => deref(m, doc)).find((m) => m !== undefined && !isSystem(String(m.name), m))
      add(undefined, reply)
    }
    for (const ref of Array.isArray(op.messages) ? op.messages : []) {
      const message = deref(ref, doc)
      if (message === undefined) {
        warnings.push(`operation '${id}': cannot resolve its message ${JSON.stringify(ref)}; left out`)
        continue
      }
      const name = typeof message.name === 'string' ? message.name : typeof op.title === 'string' ? op.title : undefined
      if (name === undefined) {
        warnings.push(`operation '${id}': its message has no name; left out`)
        continue
      }
      if (isSystem(name, message)) continue
      if (events.some((e) => e.name === name)) {
        warnings.push(`event '${name}' is received by several operations; the first one is kept`)
        continue
      }
      const hasReply = reply !== undefined
      events.push({ name, message, hasReply, reply: hasReply ? payloadSchema(reply as Json, doc) : undefined, outbound })
    }
  }
  return events
}

function isSystem (name: string, message: Json): boolean {
  return message['x-socketspec-system'] === true || isSystemName(name)
}

/** Follow `$ref`s (`#/channels/root/messages/echo` → `#/components/messages/echo` → the message). */
function deref (value: unknown, doc: Json): Json | undefined {
  let node = value
  for (let hops = 0; isObject(node) && typeof node.$ref === 'string'; hops++) {
    if (hops > 32 || !node.$ref.startsWith('#/')) return undefined
    node = pointer(doc, node.$ref)
  }
  return isObject(node) ? node : undefined
}

function pointer (doc: Json, ref: string): unknown {
  let node: unknown = doc
  for (const raw of ref.slice(2).split('/')) {
    if (!isObject(node) && !Array.isArray(node)) return undefined
    node = (node as Json)[decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~')]
  }
  return node
}

/** The schema of a message's payload: inside socketspec's envelope (`properties.payload`), else the message payload itself. */
function payloadSchema (message: Json, doc: Json): unknown {
  let schema = message.payload
  // AsyncAPI 3 multi-format schema object.
  if (isObject(schema) && typeof schema.schemaFormat === 'string' && 'schema' in schema) schema = schema.schema
  const resolved = deref(schema, doc)
  const props = resolved?.properties
  const isEnvelope = isObject(props) && isObject(props.event) && typeof props.event.const === 'string' && 'payload' in props
  // Not an envelope: the schema as written (a $ref stays one, so its target gets a name).
  return isEnvelope ? props.payload : schema
}

function assertAsyncApi (doc: unknown, label: string): asserts doc is Json {
  if (!isObject(doc) || typeof doc.asyncapi !== 'string') {
    throw new CliError(`${PREFIX} ${label} is not an AsyncAPI document (no "asyncapi" version field)`)
  }
  if (!doc.asyncapi.startsWith('3.')) {
    throw new CliError(`${PREFIX} ${label} is an AsyncAPI ${doc.asyncapi} document; socketspec types reads AsyncAPI 3 (what socketspec serves)`)
  }
}

async function fromFile (file: string): Promise<unknown> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    const e = err as NodeJS.ErrnoException
    throw new CliError(e.code === 'ENOENT' ? `${PREFIX} cannot find ${file}` : `${PREFIX} cannot read ${file}: ${e.message}`)
  }
  return parseJson(text, file)
}

async function fromUrl (url: string, token: string | undefined, label: string): Promise<unknown> {
  const headers: Record<string, string> = { accept: 'application/json' }
  if (token !== undefined) headers.authorization = `Bearer ${token}`
  let res: Response
  try {
    res = await fetch(url, { headers, signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) })
  } catch (err) {
    throw new CliError(`${PREFIX} cannot fetch ${label}: ${fetchFailure(err)}`)
  }
  if (!res.ok) {
    const hint = res.status === 401 || res.status === 403
      ? token === undefined ? ` (the docs are protected: pass --token <docsAccessToken> or set ${TOKEN_ENV})` : ' (is the token the docsAccessToken?)'
      : ''
    await res.body?.cancel().catch(() => {})
    throw new CliError(`${PREFIX} ${label} answered HTTP ${res.status}${res.statusText === '' ? '' : ' ' + res.statusText}${hint}`)
  }
  const text = await res.text()
  const html = /text\/html/i.test(res.headers.get('content-type') ?? '')
  return parseJson(text, label, html ? ' (an HTML page: pass the URL of the document, e.g. <docsUrl>/asyncapi.json)' : '')
}

/** Load the app module as `socketspec asyncapi` does, and take the document it prints. */
async function fromModule (file: string, decorator: string | undefined, io: CliIO): Promise<unknown> {
  let json = ''
  const args = decorator === undefined ? [file] : [file, '--decorator', decorator]
  const rename = (s: string): string => s.replace(/socketspec asyncapi:/g, PREFIX)
  try {
    await asyncapiCommand(args, {
      cwd: io.cwd,
      stdout: { write: (s: string) => { json += s } },
      stderr: { write: (s: string) => io.stderr.write(rename(s)) }
    })
  } catch (err) {
    // asyncapiCommand turns every failure of the app into a CliError; anything else is a socketspec bug, reported by main().
    throw err instanceof CliError ? new CliError(rename(err.message), err.exitCode) : err
  }
  return JSON.parse(json)
}

function parseJson (text: string, label: string, hint = ''): unknown {
  try {
    return JSON.parse(text)
  } catch (err) {
    throw new CliError(`${PREFIX} ${label} is not valid JSON: ${(err as Error).message}${hint}`)
  }
}

function fetchFailure (err: unknown): string {
  const e = err as Error & { cause?: { code?: string, message?: string } }
  if (e.name === 'TimeoutError') return `no answer within ${FETCH_TIMEOUT_MS / 1000} s`
  return e.cause?.code ?? e.cause?.message ?? e.message
}

/** The URL as it may be printed: a `token` query parameter masked. */
function redact (url: string): string {
  try {
    const u = new URL(url)
    for (const key of [...u.searchParams.keys()]) {
      if (/token|key|secret/i.test(key)) u.searchParams.set(key, '***')
    }
    if (u.password !== '') u.password = '***'
    return u.href
  } catch {
    return url
  }
}

function nonEmpty (value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value
}
