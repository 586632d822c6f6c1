// `socketspec types` (SPEC §11 "Types" and "Contract version"): the JSON
// Schema emitter, the three sources (app module, JSON file, URL), the contract
// hash against a live server, and compile tests that run the repository's
// TypeScript over the generated modules with the client SDK.
import t, { type Test } from 'tap'
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { basename, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import Fastify from 'fastify'
import { Type } from '../lib/index.js'
import { contractHash } from '../lib/contract-hash.js'
import { SchemaToTs, jsDoc, propertyKey, stringLiteral, typeName } from '../lib/cli/json-schema-to-ts.js'
import { TOKEN_ENV, typesModule } from '../lib/cli/types.js'
import { connect } from '../lib/client/index.js'
import type { ClientState, StateInfo } from '../lib/client/index.js'
import { buildTypesApp } from './fixtures/types/app.js'
import { buildClientTestApp } from './fixtures/client/app.js'
import { run as runCli, type Run } from './helpers/cli.js'
import { listen, open } from './helpers/ws-client.js'
import { freePort } from './helpers/redis.js'
import { bare, cleanEnv, publishedTree } from './helpers/project.js'
import { tsc7Executable } from '../scripts/typescript7.mjs'

const root = resolve(fileURLToPath(import.meta.url), '../..')
const TYPES_APP = 'test/fixtures/types/app.ts'
const CLIENT_APP = 'test/fixtures/types/client-app.ts'
const CHAT_APP = 'examples/chat/app.ts'

/** Run the CLI in process (in the repository root unless told otherwise). */
const run = async (args: string[], cwd = root): Promise<Run> => await runCli(args, cwd)

/** The text of one schema's type, and the named types it declared. */
function emit (schema: unknown, doc: unknown = {}): { type: string, decls: string, warnings: string[] } {
  const ts = new SchemaToTs(doc)
  const type = ts.type(schema)
  return { type, decls: ts.declarations(), warnings: ts.warnings }
}

/** The `__connect__.contract` a live server sends. */
async function liveContract (t: Test, wsUrl: string): Promise<string> {
  const ws = await open(t, wsUrl)
  const frame = await ws.next('__connect__')
  ws.ws.close()
  return frame.payload.contract
}

t.test('emitter: keywords, literals, unions and intersections', async (t) => {
  t.equal(emit({ type: 'string' }).type, 'string')
  t.equal(emit({ type: 'integer' }).type, 'number', 'integer → number')
  t.equal(emit({ type: 'number' }).type, 'number')
  t.equal(emit({ type: 'boolean' }).type, 'boolean')
  t.equal(emit({ type: 'null' }).type, 'null')
  t.equal(emit({}).type, 'unknown', '{} → unknown')
  t.equal(emit(undefined).type, 'unknown', 'no schema → unknown')
  t.equal(emit(true).type, 'unknown')
  t.equal(emit(false).type, 'never')
  t.equal(emit({ type: 'Date' }).type, 'unknown', 'a type JSON does not have')
  t.equal(emit({ const: 'on' }).type, "'on'")
  t.equal(emit({ const: 3 }).type, '3')
  t.equal(emit({ const: null }).type, 'null')
  t.equal(emit({ const: undefined }).type, 'unknown', 'no JSON value (only from a JavaScript object)')
  t.equal(emit({ const: { a: [1, 'x'] } }).type, '{"a":[1,"x"]}', 'a const object is its JSON literal type')
  t.equal(emit({ enum: ['a', 'b', 1, null, 'a'] }).type, "'a' | 'b' | 1 | null", 'enum → literal union, repeats dropped')
  t.equal(emit({ type: 'string', enum: ['x'] }).type, "'x'", 'enum wins over type')
  t.equal(emit({ enum: [] }).type, 'never')
  t.equal(emit({ anyOf: [{ type: 'string' }, { type: 'number' }] }).type, 'string | number')
  t.equal(emit({ oneOf: [{ const: 'a' }, { const: 'b' }] }).type, "'a' | 'b'")
  t.equal(emit({ anyOf: [{ type: 'string' }, {}] }).type, 'unknown', 'unknown absorbs a union')
  t.equal(emit({ anyOf: [{ anyOf: [{ type: 'string' }, { type: 'null' }] }, { type: 'null' }] }).type, 'string | null', 'nested unions flatten')
  t.equal(emit({ anyOf: [false, { type: 'string' }] }).type, 'string', 'never drops out of a union')
  t.equal(emit({ type: ['string', 'null'] }).type, 'string | null', 'a type list')
  t.equal(emit({ type: 'string', nullable: true }).type, 'string | null', 'nullable (OpenAPI style)')
  t.equal(emit({ type: ['integer', 'number'] }).type, 'number')
  t.equal(emit({ allOf: [{ type: 'string' }] }).type, 'string')
  t.equal(emit({ allOf: [{}, {}] }).type, 'unknown')
  t.equal(emit({ allOf: [{ type: 'string' }, false] }).type, 'never')
  t.equal(
    emit({ type: 'object', allOf: [{ type: 'object', properties: { a: { type: 'string' } }, required: ['a'] }, { type: 'object', properties: { b: { type: 'number' } } }] }).type,
    '{\n  a: string\n} & {\n  b?: number\n}',
    'allOf → intersection (a bare type next to it adds nothing)')
  t.equal(emit({ allOf: [{ anyOf: [{ type: 'string' }, { type: 'number' }] }, { anyOf: [{ type: 'number' }, { type: 'boolean' }] }] }).type,
    '(string | number) & (number | boolean)', 'unions inside an intersection are parenthesized')
  t.equal(emit({ type: 'string', anyOf: [{ minLength: 1 }, { pattern: 'x' }] }).type, 'string', 'members that add no type keep the base type')
  t.equal(emit({ type: 'object', properties: { k: { const: 1 } }, required: ['k'], anyOf: [{ properties: { a: { type: 'string' } } }] }).type,
    '{\n  k: 1\n} & {\n  a?: string\n}', 'own properties next to a combinator are kept')
  t.equal(emit({ type: 'string', anyOf: [{ const: 'a' }, { const: 'b' }] }).type, "'a' | 'b'", 'TypeBox Enum form')
})

t.test('emitter: objects, arrays and tuples', async (t) => {
  t.equal(emit({ type: 'object', properties: { a: { type: 'string' }, b: { type: 'number' } }, required: ['a'] }).type,
    '{\n  a: string\n  b?: number\n}', 'required and optional properties')
  t.equal(emit({ properties: { a: { type: 'string' } }, required: ['a'] }).type, '{\n  a: string\n}', 'properties without type')
  t.equal(emit({ type: 'object', properties: {} }).type, '{}', 'no properties (TypeBox Object({}))')
  t.equal(emit({ type: 'object' }).type, '{\n  [key: string]: unknown\n}', 'any object')
  t.equal(emit({ type: 'object', properties: { a: { type: 'string' } }, required: ['a'], additionalProperties: false }).type,
    '{\n  a: string\n}', 'additionalProperties: false')
  t.equal(emit({ type: 'object', properties: { a: { type: 'string' } }, required: ['a'], additionalProperties: true }).type,
    '{\n  a: string\n  [key: string]: unknown\n}', 'additionalProperties: true')
  t.equal(emit({ type: 'object', properties: { a: { type: 'string' }, b: { type: 'boolean' } }, required: ['a'], additionalProperties: { type: 'number' } }).type,
    '{\n  a: string\n  b?: boolean\n  [key: string]: number | string | boolean | undefined\n}', 'an index signature that every property fits')
  t.equal(emit({ type: 'object', additionalProperties: { type: 'number' } }).type, '{\n  [key: string]: number\n}')
  t.equal(emit(Type.Record(Type.String(), Type.Number())).type, '{\n  [key: string]: number\n}', 'patternProperties (TypeBox Record)')
  t.equal(emit({ type: 'object', patternProperties: { '^a': { type: 'string' }, '^b': { type: 'number' } } }).type, '{\n  [key: string]: string | number\n}')
  t.equal(emit({ additionalProperties: false }).type, '{}')
  t.equal(emit({ type: 'object', properties: { 'a-b': { type: 'string' }, $ok: { type: 'string' }, "it's": { type: 'number' } }, required: ['a-b', '$ok', "it's"] }).type,
    "{\n  'a-b': string\n  $ok: string\n  'it\\'s': number\n}", 'keys that are not identifiers are quoted')
  t.equal(emit({ type: 'object', properties: { outer: { type: 'object', properties: { inner: { type: 'array', items: { type: 'object', properties: { x: { type: 'number' } }, required: ['x'] } } }, required: ['inner'] } }, required: ['outer'] }).type,
    '{\n  outer: {\n    inner: {\n      x: number\n    }[]\n  }\n}', 'nested objects are indented')

  t.equal(emit({ type: 'array', items: { type: 'string' } }).type, 'string[]')
  t.equal(emit({ type: 'array' }).type, 'unknown[]')
  t.equal(emit({ items: { type: 'number' } }).type, 'number[]', 'items without type')
  t.equal(emit({ type: 'array', items: { anyOf: [{ type: 'string' }, { type: 'number' }] } }).type, '(string | number)[]')
  t.equal(emit({ type: 'array', items: { type: 'array', items: { type: 'boolean' } } }).type, 'boolean[][]')
  t.equal(emit(Type.Tuple([Type.String(), Type.Number()])).type, '[string, number]', 'TypeBox Tuple (items list, closed)')
  t.equal(emit({ type: 'array', prefixItems: [{ type: 'string' }], items: false, minItems: 1 }).type, '[string]', 'prefixItems, closed')
  t.equal(emit({ type: 'array', prefixItems: [{ type: 'string' }, { type: 'number' }], minItems: 1 }).type, '[string, number?, ...unknown[]]', 'open tuple, optional element')
  t.equal(emit({ type: 'array', items: [{ type: 'string' }], additionalItems: { type: 'number' }, minItems: 1 }).type, '[string, ...number[]]', 'additionalItems')
  t.equal(emit({ type: 'array', prefixItems: [{ anyOf: [{ type: 'string' }, { type: 'null' }] }], items: false }).type, '[(string | null)?]')
})

t.test('emitter: titles, $ref and JSDoc', async (t) => {
  const point = { title: 'Point', type: 'object', properties: { x: { type: 'number' } }, required: ['x'], description: 'A point.' }
  let r = emit({ type: 'object', properties: { a: point, b: { ...point } }, required: ['a'] })
  t.equal(r.type, '{\n  /** A point. */\n  a: Point\n  /** A point. */\n  b?: Point\n}', 'a titled schema is referenced by name')
  t.equal(r.decls, '/** A point. */\nexport type Point = {\n  x: number\n}\n', 'declared once for equal copies')

  r = emit({ anyOf: [point, { ...point, properties: { y: { type: 'number' } } }] })
  t.equal(r.type, 'Point | Point2', 'two different schemas with one title')

  const ts = new SchemaToTs({}, ['Contract'])
  t.equal(ts.type({ title: 'Contract', type: 'string' }), 'Contract2', 'reserved names are not declared')
  t.equal(ts.type({ title: 'my shape 1', type: 'number' }), 'MyShape1', 'titles become identifiers')
  t.equal(ts.named({ type: 'boolean' }, 'flag'), 'Flag', 'an untitled schema named by the caller')
  t.equal(ts.named(undefined, 'whatever'), 'Whatever')
  t.match(ts.declarations(), 'export type Contract2 = string\n')
  t.match(ts.declarations(), 'export type Whatever = unknown\n')

  const doc = {
    components: {
      schemas: {
        User: { type: 'object', properties: { name: { type: 'string' }, friends: { type: 'array', items: { $ref: '#/components/schemas/User' } } }, required: ['name'] },
        'odd~1name': { type: 'string' },
        Titled: { title: 'Fancy', type: 'number' }
      }
    }
  }
  r = emit({ type: 'object', properties: { user: { $ref: '#/components/schemas/User' }, odd: { $ref: '#/components/schemas/odd~01name' }, t: { $ref: '#/components/schemas/Titled' } }, required: ['user'] }, doc)
  t.equal(r.type, '{\n  user: User\n  odd?: Odd1name\n  t?: Fancy\n}', '$ref to components (~01 is the key odd~1name)')
  t.match(r.decls, 'export type User = {\n  name: string\n  friends?: User[]\n}', 'recursive $ref')
  t.match(r.decls, 'export type Odd1name = string')
  t.match(r.decls, 'export type Fancy = number')

  const recursive = Type.Recursive((This) => Type.Object({ id: Type.String(), children: Type.Array(This) }), { $id: 'Node' })
  r = emit({ type: 'object', properties: { tree: recursive }, required: ['tree'] }, { elsewhere: recursive })
  t.equal(r.type, '{\n  tree: {\n    id: string\n    children: Node[]\n  }\n}')
  t.match(r.decls, 'export type Node = {\n  id: string\n  children: Node[]\n}', 'a $ref to an enclosing $id (TypeBox Recursive)')
  r = emit({ $ref: 'Elsewhere' }, { x: { $id: 'Elsewhere', type: 'string' } })
  t.equal(r.type, 'Elsewhere', 'a $ref to an $id anywhere in the document')
  r = emit({ $ref: '#/a' }, { a: { $ref: '#/b' }, b: { type: 'string' } })
  t.equal(r.type, 'B', 'a $ref chain names the schema at its end')
  r = emit({ $ref: '#/a' }, { a: { $ref: '#/b' }, b: { $ref: '#/a' } })
  t.equal(r.type, 'unknown', 'a $ref cycle without a schema in it')
  t.same(r.warnings, ["$ref '#/a' refers to itself: typed as unknown"])
  t.equal(emit({ $ref: '#' }, { type: 'string' }).type, 'Ref', 'a $ref to the whole document')
  t.equal(emit({ $ref: '#/a%zz' }, { 'a%zz': { type: 'string' } }).type, 'AZz', 'a pointer that is not percent-encoded')
  t.equal(emit({ $ref: 'InList' }, { list: [{ $id: 'InList', type: 'number' }] }).type, 'InList', 'an $id inside an array')
  r = emit({ $ref: '#/a' }, { a: { $ref: '#/gone' } })
  t.same(r.warnings, ["cannot resolve $ref '#/gone': typed as unknown"])

  r = emit({ type: 'object', properties: { a: { $ref: '#/components/schemas/Missing' }, b: { $ref: 'nowhere' }, c: { $ref: '#/x/0/y' } } }, { x: [] })
  t.equal(r.type, '{\n  a?: unknown\n  b?: unknown\n  c?: unknown\n}', 'unresolved $ref → unknown')
  t.same(r.warnings, [
    "cannot resolve $ref '#/components/schemas/Missing': typed as unknown",
    "cannot resolve $ref 'nowhere': typed as unknown",
    "cannot resolve $ref '#/x/0/y': typed as unknown"
  ])

  t.equal(jsDoc({ description: 'One line.' }, '  '), '  /** One line. */\n')
  t.equal(jsDoc({ description: 'First\n\nthird */ end', deprecated: true, default: { a: 1 } }, ''),
    '/**\n * First\n *\n * third *\\/ end\n * @default {"a":1}\n * @deprecated\n */\n', 'several lines, */ escaped')
  t.equal(jsDoc({ description: '   ' }, ''), '')
  t.equal(jsDoc('not a schema', ''), '')
  t.equal(typeName(''), 'Type')
  t.equal(typeName('2fa code'), 'T2faCode')
  t.equal(typeName('echo_response'), 'Echo_response', 'underscores are kept')
  t.equal(propertyKey('ok_1'), 'ok_1')
  t.equal(propertyKey('chat:send'), "'chat:send'")
  t.equal(stringLiteral('a\'b"c\\d\n'), "'a\\'b\"c\\\\d\\n'")
})

t.test('typesModule: the Contract of a socketspec document', async (t) => {
  const app = await buildTypesApp()
  t.teardown(() => app.close())
  await app.ready()
  const doc = app.socket.asyncapi()
  const mod = typesModule(doc)
  t.equal(mod.contract, contractHash(doc))
  t.same(mod.events, ['draw', 'clear', 'canvas:zoom'], 'client events in order, no system event')
  t.same(mod.warnings, [])
  t.match(mod.text, /^\/\/ Generated by `socketspec types` from "Shapes" 2\.1\.0\./)
  t.notMatch(mod.text, /^import /m, 'no imports')
  t.notMatch(mod.text, /__\w+__/, 'no system event')
  t.match(mod.text, `export const contract = '${mod.contract}'\n`)
  t.match(mod.text, [
    'export type Contract = {',
    '  /** Draw a shape. */',
    '  draw: {',
    '    payload: DrawPayload',
    '    reply: DrawnPayload',
    '    outbound: {',
    '      moved: Point',
    '      canvas: CanvasPayload',
    '      drawn: DrawnPayload',
    '    }',
    '  }',
    '  /** No payload schema: any payload. */',
    '  clear: {',
    '    payload: unknown',
    '    reply: never',
    '    outbound: {',
    '      cleared: unknown',
    '    }',
    '  }',
    "  'canvas:zoom': {",
    '    payload: CanvasZoomPayload',
    '    reply: unknown',
    '    outbound: {',
    '      zoomed: unknown',
    '    }',
    '  }',
    '}'
  ].join('\n'))
  t.match(mod.text, '/** A point on the plane. */\nexport type Point = {\n  x: number\n  y: number\n}\n')
  t.match(mod.text, 'export type TreeNode = {\n  id: string\n  children: TreeNode[]\n}\n')
  t.match(mod.text, '  /** @deprecated */\n  gone?: null\n')
  t.equal(mod.text.match(/^export type Point = /gm)?.length, 1, 'a schema used in several places is declared once')
})

t.test('typesModule: documents from elsewhere', async (t) => {
  const empty = typesModule({ asyncapi: '3.0.0', info: { title: 'Nothing' } })
  t.match(empty.text, 'export type Contract = {}\n')
  t.same(empty.events, [])
  t.match(typesModule({ asyncapi: '3.0.0' }).text, 'from an AsyncAPI document.')

  // A hand-written document: no envelope, no x-socketspec-* extensions, reply by operation.reply.
  const doc = {
    asyncapi: '3.1.0',
    info: { title: 'Hand\nwritten', version: '1' },
    channels: { c: { messages: { ask: { $ref: '#/components/messages/ask' }, told: { $ref: '#/components/messages/told' } } } },
    operations: {
      ask: { action: 'receive', messages: [{ $ref: '#/channels/c/messages/ask' }], reply: { messages: [{ $ref: '#/components/messages/oops' }, { $ref: '#/channels/c/messages/told' }] } },
      again: { action: 'receive', messages: [{ $ref: '#/components/messages/ask' }] },
      nameless: { action: 'receive', messages: [{ $ref: '#/components/messages/nameless' }] },
      titled: { action: 'receive', title: 'by_title', messages: [{ $ref: '#/components/messages/nameless' }] },
      broken: { action: 'receive', messages: [{ $ref: '#/components/messages/missing' }] },
      sys: { action: 'receive', messages: [{ $ref: '#/components/messages/sys' }] },
      out: { action: 'send', messages: [{ $ref: '#/components/messages/told' }] },
      notAnObject: 1
    },
    components: {
      messages: {
        ask: { name: 'ask', payload: { $ref: '#/components/schemas/Question' } },
        told: { name: 'told', payload: { schemaFormat: 'application/schema+json;version=draft-07', schema: { type: 'string' } } },
        oops: { name: '__error__', payload: {} },
        nameless: { payload: { type: 'number' } },
        sys: { name: '__ping__' }
      },
      schemas: { Question: { type: 'object', properties: { q: { type: 'string' } }, required: ['q'] } }
    }
  }
  const mod = typesModule(doc)
  t.same(mod.events, ['ask', 'by_title'])
  t.match(mod.text, 'from "Hand written" 1.')
  t.match(mod.text, '  ask: {\n    payload: Question\n    reply: string\n    outbound: {\n      told: string\n    }\n  }')
  t.match(mod.text, '  by_title: {\n    payload: number\n    reply: never\n    outbound: {}\n  }')
  t.match(mod.text, 'export type Question = {\n  q: string\n}')
  t.same(mod.warnings, [
    "event 'ask' is received by several operations; the first one is kept",
    "operation 'nameless': its message has no name; left out",
    'operation \'broken\': cannot resolve its message {"$ref":"#/components/messages/missing"}; left out'
  ])

  // One server event declared with two schemas by two declarations of one event: a union.
  const twice = typesModule({
    asyncapi: '3.0.0',
    operations: {
      r: {
        action: 'receive',
        messages: [{ $ref: '#/components/messages/r' }],
        'x-socketspec-emits': [
          { event: 'n', message: { $ref: '#/components/messages/n1' } },
          { event: 'n', message: { $ref: '#/components/messages/n2' } },
          { event: 'n', message: { $ref: '#/components/messages/n1' } },
          { event: '__x__', message: { $ref: '#/components/messages/n1' } },
          { event: 'gone', message: { $ref: '#/components/messages/none' } },
          'junk'
        ],
        'x-socketspec-broadcasts': 'junk'
      }
    },
    components: {
      messages: {
        r: { name: 'r', payload: { $ref: '#/loop' } },
        n1: { name: 'n', payload: { type: 'string' } },
        n2: { name: 'n', payload: { type: 'number' } }
      }
    },
    loop: { $ref: '#/loop' }
  })
  t.same(twice.warnings, ["$ref '#/loop' refers to itself: typed as unknown"])
  t.match(twice.text, '  r: {\n    payload: unknown\n    reply: never\n    outbound: {\n      n: string | number\n    }\n  }')
})

t.test('types from an app module: stdout, --out, errors of the module', async (t) => {
  const r = await run(['types', TYPES_APP])
  t.equal(r.code, 0, r.stderr)
  t.equal(r.stderr, '')
  const app = await buildTypesApp()
  t.teardown(() => app.close())
  await app.ready()
  t.equal(r.stdout, typesModule(app.socket.asyncapi()).text, 'the module of the app document')

  const cwd = t.testdir({})
  const out = await run(['types', join(root, TYPES_APP), '--out', 'src/api.ts'], cwd)
  t.equal(out.code, 0, out.stderr)
  t.equal(out.stdout, '')
  const file = join(cwd, 'src/api.ts')
  t.match(out.stderr, `Types of 3 events written to ${file} (contract ${contractHash(app.socket.asyncapi())})`)
  t.equal(readFileSync(file, 'utf8'), r.stdout)

  const missing = await run(['types', 'test/fixtures/types/nope.ts'])
  t.equal(missing.code, 1)
  t.match(missing.stderr, /^socketspec types: cannot find .*nope\.ts\n$/, 'module errors name this command')

  const none = await run(['types', 'test/fixtures/cli/no-socketspec.ts'])
  t.equal(none.code, 1)
  t.match(none.stderr, /^socketspec types: .*does not register socketspec/)

  const decorator = await run(['types', 'test/fixtures/cli/factory-app.ts', '--decorator', 'events'])
  t.equal(decorator.code, 0, decorator.stderr)
  t.match(decorator.stdout, 'add: {')

  const two = await run(['types', 'test/fixtures/cli/namespaces.ts'])
  t.equal(two.code, 0, two.stderr)
  t.match(two.stderr, /^socketspec types: \d+ socketspec registrations found/, 'the asyncapi command\'s notes are renamed too')
})

t.test('types from a JSON file: the same module; bad files', async (t) => {
  const cwd = t.testdir({
    'bad.json': '{"asyncapi": ',
    'openapi.json': JSON.stringify({ openapi: '3.1.0' }),
    'array.json': '[]',
    'v2.json': JSON.stringify({ asyncapi: '2.6.0', channels: {} }),
    'dangling.json': JSON.stringify({
      asyncapi: '3.0.0',
      operations: { a: { action: 'receive', messages: [{ $ref: '#/components/messages/a' }] } },
      components: { messages: { a: { name: 'a', payload: { type: 'object', properties: { x: { $ref: '#/components/schemas/X' } } } } } }
    }),
    'dir.json': {}
  })
  const written = await run(['asyncapi', join(root, TYPES_APP), '--out', 'asyncapi.json'], cwd)
  t.equal(written.code, 0, written.stderr)
  const fromFile = await run(['types', 'asyncapi.json'], cwd)
  t.equal(fromFile.code, 0, fromFile.stderr)
  const fromModule = await run(['types', TYPES_APP])
  t.equal(fromFile.stdout, fromModule.stdout, 'the parsed document hashes and types as the app does')

  const cases: Array<[string, RegExp]> = [
    ['missing.json', /^socketspec types: cannot find .*missing\.json\n$/],
    ['dir.json', /^socketspec types: cannot read .*dir\.json: EISDIR/],
    ['bad.json', /^socketspec types: .*bad\.json is not valid JSON: /],
    ['openapi.json', /^socketspec types: .*openapi\.json is not an AsyncAPI document \(no "asyncapi" version field\)\n$/],
    ['array.json', /is not an AsyncAPI document/],
    ['v2.json', /^socketspec types: .*v2\.json is an AsyncAPI 2\.6\.0 document; socketspec types reads AsyncAPI 3/]
  ]
  for (const [file, message] of cases) {
    const r = await run(['types', file], cwd)
    t.equal(r.code, 1, file)
    t.match(r.stderr, message, file)
    t.equal(r.stdout, '')
  }

  const dangling = await run(['types', 'dangling.json'], cwd)
  t.equal(dangling.code, 0)
  t.equal(dangling.stderr, "socketspec types: warning: cannot resolve $ref '#/components/schemas/X': typed as unknown\n")
  t.match(dangling.stdout, 'x?: unknown')
})

t.test('types from a URL: docs route, docsAccessToken, HTTP errors', async (t) => {
  const app = await buildTypesApp({ docs: true, docsAccessToken: 'docs-secret' })
  t.teardown(() => app.close())
  const wsUrl = await listen(t, app)
  const base = wsUrl.replace(/^ws/, 'http').replace(/\/ws$/, '')
  const docUrl = `${base}/socket-docs/asyncapi.json`

  const denied = await run(['types', docUrl])
  t.equal(denied.code, 1)
  t.equal(denied.stderr, `socketspec types: ${docUrl} answered HTTP 401 Unauthorized (the docs are protected: pass --token <docsAccessToken> or set ${TOKEN_ENV})\n`)
  const wrong = await run(['types', docUrl, '--token', 'nope'])
  t.match(wrong.stderr, 'answered HTTP 401 Unauthorized (is the token the docsAccessToken?)')
  t.notMatch(wrong.stderr, 'nope', 'the token is not printed')

  const ok = await run(['types', docUrl, '--token', 'docs-secret'])
  t.equal(ok.code, 0, ok.stderr)
  t.equal(ok.stdout, (await run(['types', TYPES_APP])).stdout, 'the served document gives the module of the app')

  process.env[TOKEN_ENV] = 'docs-secret'
  t.teardown(() => { delete process.env[TOKEN_ENV] })
  const fromEnv = await run(['types', docUrl])
  t.equal(fromEnv.code, 0, fromEnv.stderr)
  t.equal(fromEnv.stdout, ok.stdout, `${TOKEN_ENV} when --token is not given`)
  delete process.env[TOKEN_ENV]

  const inQuery = await run(['types', `${docUrl}?token=docs-secret&x=1`])
  t.equal(inQuery.code, 0, 'the docs also take ?token=')
  const badQuery = await run(['types', `${docUrl}?token=not-the-secret`])
  t.equal(badQuery.code, 1)
  t.match(badQuery.stderr, `${docUrl}?token=***`)
  t.notMatch(badQuery.stderr, 'not-the-secret', 'a token in the URL is masked')

  const html = Fastify()
  html.get('/page', async (_req, reply) => reply.type('text/html').send('<!doctype html><p>docs</p>'))
  html.get('/json', async () => ({ openapi: '3.0.0' }))
  html.get('/text', async (_req, reply) => reply.type('text/plain').send('nope'))
  t.teardown(() => html.close())
  await html.listen({ port: 0, host: '127.0.0.1' })
  const other = `http://127.0.0.1:${(html.server.address() as { port: number }).port}`
  const closed = await freePort()
  const cases: Array<[string, string | RegExp]> = [
    [`${other}/missing`, `socketspec types: ${other}/missing answered HTTP 404 Not Found\n`],
    [`${other}/page`, /is not valid JSON: .* \(an HTML page: pass the URL of the document, e\.g\. <docsUrl>\/asyncapi\.json\)\n$/],
    [`${other}/text`, /is not valid JSON: [^(]*\n$/],
    [`${other}/json`, `socketspec types: ${other}/json is not an AsyncAPI document (no "asyncapi" version field)\n`],
    [`http://127.0.0.1:${closed}/asyncapi.json`, `socketspec types: cannot fetch http://127.0.0.1:${closed}/asyncapi.json: ECONNREFUSED\n`],
    ['http://user:pw@[::1', /^socketspec types: cannot fetch http:\/\/user:pw@\[::1: /]
  ]
  for (const [url, message] of cases) {
    const r = await run(['types', url])
    t.equal(r.code, 1, url)
    t.match(r.stderr, message, url)
  }
  const withPassword = await run(['types', 'http://user:secret@127.0.0.1:1/x'])
  t.match(withPassword.stderr, 'http://user:***@127.0.0.1:1/x')
})

t.test('usage errors and help', async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [['types'], /missing the app module, AsyncAPI JSON file or URL/],
    [['types', 'a.json', 'b.json'], /unexpected argument 'b\.json'/],
    [['types', 'a.json', '--out', ''], /--out needs a file name/],
    [['types', 'a.json', '--out', 'api.d.ts'], /--out must be a \.ts file, not a \.d\.ts/],
    [['types', 'a.json', '--token', 'x'], /--token is for a URL source/],
    [['types', 'http://127.0.0.1:1/x', '--decorator', 'socket'], /--decorator is for an app module source/],
    [['types', 'a.json', '--nope'], /unknown option '--nope'/]
  ]
  for (const [args, message] of cases) {
    const r = await run(args)
    t.equal(r.code, 2, args.join(' '))
    t.match(r.stderr, message)
    t.match(r.stderr, "Run 'socketspec types --help' for usage.")
  }
  const help = await run(['types', '--help'])
  t.equal(help.code, 0)
  t.match(help.stdout, /^Usage: socketspec types <app module \| asyncapi\.json \| http\(s\) URL> \[options\]/)
  t.match(help.stdout, 'connect<Contract>(url, { contract })')
  t.equal((await run(['help', 'types'])).stdout, help.stdout)
  t.match((await run(['--help'])).stdout, /\n {2}types <source> {6}Write the client's Contract type/)
})

t.test('the generated contract hash is the live server\'s __connect__.contract', async (t) => {
  // The app module (loaded by the CLI) and the same app listening on a real port.
  const mod = await run(['types', CLIENT_APP])
  t.equal(mod.code, 0, mod.stderr)
  const hash = /^export const contract = '([\w-]{22})'$/m.exec(mod.stdout)?.[1]
  const app = await buildClientTestApp({ docs: true })
  t.teardown(() => app.close())
  const wsUrl = await listen(t, app)
  t.equal(await liveContract(t, wsUrl), hash, 'module source')
  t.equal(contractHash(app.socket.asyncapi()), hash)

  const fromUrl = await run(['types', wsUrl.replace(/^ws/, 'http').replace(/\/ws$/, '/socket-docs/asyncapi.json')])
  t.equal(fromUrl.code, 0, fromUrl.stderr)
  t.equal(fromUrl.stdout, mod.stdout, 'URL source: same module, same hash')

  const chat = await run(['types', CHAT_APP])
  t.equal(chat.code, 0, chat.stderr)
  const { buildApp } = await import('../examples/chat/app.js')
  const chatApp = await buildApp()
  t.teardown(() => chatApp.close())
  const chatUrl = await listen(t, chatApp)
  t.match(chat.stdout, `export const contract = '${await liveContract(t, chatUrl)}'`, 'the chat example too')

  // What the client makes of it (SPEC §11 "Contract version").
  const states = async (contract: string): Promise<Array<[ClientState, StateInfo]>> => {
    const seen: Array<[ClientState, StateInfo]> = []
    const c = connect(wsUrl, { contract, reconnect: false })
    c.onState((state, info) => { seen.push([state, info]) })
    await c.ready
    c.close()
    return seen
  }
  const fresh = await states(hash as string)
  t.equal(fresh[0][0], 'open')
  t.equal(fresh[0][1].contract, undefined, 'the generated hash is not stale')
  const stale = await states('an-older-contract-hash!')
  t.equal(stale[0][1].contract, 'stale', 'another hash is')
})

t.test('compile tests: tsc over the generated modules and the client SDK', async (t) => {
  const dir = mkdtempSync(join(root, 'test/.tmp-types-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  for (const [app, out] of [[CHAT_APP, 'chat-api.ts'], [CLIENT_APP, 'client-api.ts'], [TYPES_APP, 'shapes-api.ts']]) {
    const r = await run(['types', app, '--out', join(dir, out)])
    t.equal(r.code, 0, r.stderr)
  }
  // Against what the package publishes when dist/ is current (publishedTree: the imports of lib/, the
  // checks' and the fixtures', find dist/'s declarations), else against the sources.
  const tree = publishedTree()
  t.teardown(() => tree?.remove())
  t.comment(`the checks import the client SDK and lib/ from ${tree === null ? 'the sources' : "dist/'s declarations"}`)
  const sdk = '../../lib/client/index.js'
  const prelude = [
    `import { connect } from '${sdk}'`,
    'type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false',
    'export function expectType<T extends true> (): T | undefined { return undefined }'
  ]
  const files: Record<string, string[]> = {
    'chat-check.ts': [
      ...prelude,
      "import { contract, type Contract } from './chat-api.js'",
      "const client = connect<Contract>('ws://127.0.0.1:1/ws', { contract })",
      "client.send('echo', { echo: 'hi' })",
      "client.send('rooms')",
      '// @ts-expect-error an event the server does not declare',
      "client.send('nope', {})",
      '// @ts-expect-error a wrong payload',
      "client.send('echo', { echo: 1 })",
      '// @ts-expect-error a missing payload',
      "client.send('join')",
      "client.on('message', (payload) => { const text: string = payload.text; const ts: number = payload.ts; void text; void ts })",
      "client.on('user_joined', (payload, frame) => { expectType<Equal<typeof payload.name, string>>(); void frame.event })",
      '// @ts-expect-error a listener with a wrong payload type',
      "client.on('echo_response', (payload: { echo: number }) => { void payload })",
      '// @ts-expect-error a server event the server does not declare',
      "client.on('nope', () => {})",
      '// @ts-expect-error request() on an event without reply',
      "void client.request('echo', { echo: 'hi' })",
      'export async function typed (): Promise<void> {',
      "  const joined = await client.request('join', { room: 'lobby' })",
      "  expectType<Equal<typeof joined, Contract['join']['reply']>>()",
      '  expectType<Equal<typeof joined, { room: string, members: string[] }>>()',
      '  const members: string[] = joined.members',
      "  const rooms = await client.request('rooms', undefined, { timeout: 1000 })",
      '  expectType<Equal<typeof rooms.rooms, string[]>>()',
      '  // @ts-expect-error the reply has no such property',
      '  void joined.nope',
      '  void members',
      '}'
    ],
    'client-check.ts': [
      ...prelude,
      "import { contract, type Contract } from './client-api.js'",
      "import type { TestContract } from '../fixtures/client/events.js'",
      '// The generated Contract and the one derived from the shared declarations are the same type.',
      'expectType<Equal<Contract, TestContract>>()',
      "const client = connect<Contract>('ws://127.0.0.1:1/ws', { contract })",
      'export async function typed (): Promise<void> {',
      "  const { sum } = await client.request('add', { a: 1, b: 2 })",
      '  expectType<Equal<typeof sum, number>>()',
      "  const who = await client.request('whoami')",
      '  expectType<Equal<typeof who, { userId: string | null, expiresAt: number | null }>>()',
      '  // @ts-expect-error request() on an event without reply',
      "  await client.request('say', { room: 'r', text: 't' })",
      '  // @ts-expect-error a wrong payload',
      "  await client.request('add', { a: '1', b: 2 })",
      '}',
      "client.on('said', (payload) => { expectType<Equal<typeof payload, { room: string, text: string }>>() })",
      '// @ts-expect-error a listener with a wrong payload type',
      "client.on('echoed', (payload: { text: number }) => { void payload })",
      '// @ts-expect-error an undeclared event',
      "client.send('nope')"
    ],
    'shapes-check.ts': [
      ...prelude,
      "import type { Contract, Point, TreeNode } from './shapes-api.js'",
      "import type { ShapesContract, Point as PointSchema } from '../fixtures/types/events.js'",
      "import type { Static } from '../../lib/index.js'",
      '// Every construct of the fixture (unions, literals, tuples, intersections, records, recursion, $ref, optional and odd keys).',
      'expectType<Equal<Contract, ShapesContract>>()',
      'expectType<Equal<Point, Static<typeof PointSchema>>>()',
      "expectType<Equal<TreeNode['children'][number], TreeNode>>()",
      "const client = connect<Contract>('ws://127.0.0.1:1/ws')",
      "client.send('canvas:zoom', { factor: 2 })",
      "client.send('clear', 'anything at all')",
      '// @ts-expect-error a literal outside the union',
      "client.send('draw', { id: 1, kind: 'triangle', mode: 'fixed', flags: [], pair: ['a', 1], maybe: null, either: 'x', both: { a: 'a', b: 1 }, nested: { deep: { on: true, list: [] } }, strict: { only: 'x' }, dict: {}, at: { x: 0, y: 0 }, tree: { id: 'r', children: [] }, anything: 1, 'odd-key': true })",
      "client.send('draw', { id: 1, kind: 'circle', mode: 'fixed', flags: [], pair: ['a', 1], maybe: null, either: { code: 1 }, both: { a: 'a', b: 1 }, nested: { deep: { on: true, list: [1, 'x'] } }, strict: { only: 'x' }, dict: { a: 1 }, at: { x: 0, y: 0 }, tree: { id: 'r', children: [{ id: 'c', children: [] }] }, anything: 1, 'odd-key': true })"
    ],
    // Control: a directive on a correct line must be reported unused, so this run's silence elsewhere means something.
    'control.ts': [
      `import { connect } from '${sdk}'`,
      "import type { Contract } from './chat-api.js'",
      "const client = connect<Contract>('ws://127.0.0.1:1/ws')",
      '// @ts-expect-error (control: this line is correct)',
      "client.send('echo', { echo: 'correct' })"
    ]
  }
  for (const [name, lines] of Object.entries(files)) writeFileSync(join(dir, name), lines.join('\n') + '\n')
  // The files by their path in the tree (the same directory, seen through its test/ link), so that their imports stay in it.
  const paths = Object.keys(files).map((name) => join(tree?.dir ?? root, 'test', basename(dir), name))

  const flags = ['--noEmit', '--strict', '--target', 'es2022', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--skipLibCheck', '--types', 'node', '--pretty', 'false',
    ...(tree === null ? [] : ['--preserveSymlinks'])]
  const expected = 'control.ts(4,1): error TS2578: Unused \'@ts-expect-error\' directive.'
  const compilers: Array<[string, string, string[]]> = [['TypeScript 5', process.execPath, [join(root, 'node_modules/typescript/bin/tsc')]]]
  // TypeScript 7 (the devDependency typescript-7), its executable run directly: its Node launcher trips over tap's
  // require hooks. It wants to be told that the repository's tsconfig.json is not for these files.
  compilers.push(['TypeScript 7', await tsc7Executable(), ['--ignoreConfig', '--singleThreaded']])
  await Promise.all(compilers.map(async ([label, file, args]) => {
    // bare() and cleanEnv(): without tap's loaders and coverage, which are for the test process
    const result = await promisify(execFile)(...bare(file, [...args, ...flags, ...paths]), { cwd: dir, env: cleanEnv() })
      .then(() => ({ code: 0, output: '' }), (err: { code: number, stdout: string, stderr: string }) => ({ code: err.code, output: err.stdout + err.stderr }))
    // tsc names a file by its path from the working directory: keep its name only
    const lines = result.output.trim().split('\n').map((l) => l.trim().replace(/\\/g, '/').replace(/^[^\s(]*\/(?=[^/\s(]+\(\d+,\d+\): )/, ''))
    t.same(lines, [expected], `${label}: the only error is the control's unused directive`)
    t.not(result.code, 0, `${label}: and it fails the run`)
  }))
})
