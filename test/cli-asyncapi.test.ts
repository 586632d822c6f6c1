// `socketspec asyncapi` loads app modules through tsx inside this process (that is
// the command's job), so lib/ is loaded a second time: scripts/coverage-map.mjs keeps
// this file out of the coverage report, whose lib/ numbers come from the other tests.
import t from 'tap'
import { readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Parser, DiagnosticSeverity } from '@asyncapi/parser'
import { run as runCli, type Run } from './helpers/cli.js'

const root = resolve(fileURLToPath(import.meta.url), '../..')
const fixtures = join(root, 'test/fixtures/cli')

/** Run the CLI in process (in the repository root unless told otherwise). */
const run = async (args: string[], cwd = root): Promise<Run> => await runCli(args, cwd)

/** Parse an AsyncAPI document and return its error-severity diagnostics. */
async function asyncapiErrors (json: string) {
  const { document, diagnostics } = await new Parser().parse(json)
  return { document, errors: diagnostics.filter((d) => d.severity === DiagnosticSeverity.Error) }
}

t.test('asyncapi prints the document of a plugin module', async (t) => {
  const r = await run(['asyncapi', 'test/fixtures/cli/plugin-app.ts'])
  t.equal(r.code, 0, r.stderr)
  t.equal(r.stderr, '')
  const doc = JSON.parse(r.stdout)
  t.equal(doc.asyncapi, '3.0.0')
  t.match(r.stdout, /\n {2}"asyncapi"/, 'pretty printed')
  const names = Object.values(doc.components.messages as Record<string, { name: string }>).map((m) => m.name)
  t.ok(names.includes('echo'))
  t.ok(names.includes('echo_response'))
  const { errors } = await asyncapiErrors(r.stdout)
  t.same(errors, [], 'valid per @asyncapi/parser')
})

t.test('asyncapi --out writes the document to a file', async (t) => {
  const cwd = t.testdir({})
  const r = await run(['asyncapi', join(fixtures, 'plugin-app.ts'), '--out', 'docs/asyncapi.json'], cwd)
  t.equal(r.code, 0, r.stderr)
  t.equal(r.stdout, '')
  const out = join(cwd, 'docs/asyncapi.json')
  t.match(r.stderr, `written to ${out}`)
  const json = readFileSync(out, 'utf8')
  t.equal(JSON.parse(json).asyncapi, '3.0.0')
  const { errors } = await asyncapiErrors(json)
  t.same(errors, [])
})

t.test('asyncapi loads an app factory with a renamed decorator', async (t) => {
  const r = await run(['asyncapi', 'test/fixtures/cli/factory-app.ts'])
  t.equal(r.code, 0, r.stderr)
  const doc = JSON.parse(r.stdout)
  t.equal(doc.info.title, 'Factory app')
  t.equal(doc.info.version, '2.0.0')
  const names = Object.values(doc.components.messages as Record<string, { name: string }>).map((m) => m.name)
  t.ok(names.includes('add') && names.includes('sum'))
  t.same((await asyncapiErrors(r.stdout)).errors, [])

  const named = await run(['asyncapi', 'test/fixtures/cli/factory-app.ts', '--decorator', 'events'])
  t.equal(named.code, 0)
  t.same(JSON.parse(named.stdout), doc)

  const wrong = await run(['asyncapi', 'test/fixtures/cli/factory-app.ts', '--decorator', 'socket'])
  t.equal(wrong.code, 1)
  t.match(wrong.stderr, /no 'socket' decorator with an asyncapi\(\) function/)
})

t.test('asyncapi tells a one-argument plugin from a factory', async (t) => {
  const r = await run(['asyncapi', 'test/fixtures/cli/one-arg-plugin.ts'])
  t.equal(r.code, 0, r.stderr)
  t.match(r.stdout, '"ping_me"')
})

t.test('asyncapi uses a named buildApp export when there is no default export', async (t) => {
  const r = await run(['asyncapi', 'test/fixtures/cli/build-app-export.js'])
  t.equal(r.code, 0, r.stderr)
  t.match(r.stdout, '"hello"')
})

t.test('asyncapi finds registrations in encapsulated contexts', async (t) => {
  const r = await run(['asyncapi', 'test/fixtures/cli/namespaces.ts'])
  t.equal(r.code, 0, r.stderr)
  t.match(r.stderr, /2 socketspec registrations found/)
  t.match(r.stdout, '"first"')
  t.notMatch(r.stdout, '"second"')
})

t.test('asyncapi fails clearly', async (t) => {
  const cases: Array<[string, RegExp]> = [
    ['test/fixtures/cli/no-socketspec.ts', /does not register socketspec/],
    ['test/fixtures/cli/no-default.ts', /has no default export that is a Fastify plugin or an app factory/],
    ['test/fixtures/cli/throws-on-import.ts', /cannot load .*throws-on-import\.ts: boom at import/],
    ['test/fixtures/cli/failing-plugin.ts', /failed to start: database unreachable/],
    ['test/fixtures/cli/missing.js', /cannot find .*missing\.js/]
  ]
  for (const [file, message] of cases) {
    const r = await run(['asyncapi', file])
    t.equal(r.code, 1, file)
    t.match(r.stderr, message, file)
    t.equal(r.stdout, '')
  }
})
