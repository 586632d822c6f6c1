// Every test file runs exactly once in `npm test`: either tap runs it as its
// own process (it matches .taprc `include` and not `exclude`), or it is a
// member of exactly one test group (test/groups/<name>.test.ts imports it, and
// .taprc `exclude` keeps tap from running it a second time). So a new test file
// can't be skipped silently, and a file added to a group can't run twice.
import t from 'tap'
import { readdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join, posix } from 'node:path'
import { fileURLToPath } from 'node:url'
import coverageMap from '../scripts/coverage-map.mjs'
import { sh } from './helpers/project.js'

const root = fileURLToPath(new URL('..', import.meta.url))
const GROUPS = 'test/groups'

/** test/**\/*.test.ts, as paths relative to the project; tap never runs fixtures (its default `exclude`, kept in .taprc). */
function testFiles (dir = 'test'): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap(e => {
    const path = posix.join(dir, e.name)
    if (e.isDirectory()) return /^(fixtures?|dist|node_modules)$/.test(e.name) ? [] : testFiles(path)
    return e.name.endsWith('.test.ts') ? [path] : []
  })
}

/** The files a group runs (runGroup's list: paths from test/), relative to the project. */
function members (group: string): string[] {
  const source = readFileSync(join(root, group), 'utf8')
  return [...source.matchAll(/'([^']+\.test\.ts)'/g)].map(([, file]) => posix.join('test', file))
}

t.test('every test file runs exactly once: by tap itself or in one group', async (t) => {
  const all = testFiles().sort()
  const { stdout } = await sh(process.execPath, [join(root, 'node_modules/tap/dist/esm/run.mjs'), 'list'], root, 60_000)
  const direct = new Set(stdout.split('\n').filter(Boolean))
  const groups = all.filter(f => f.startsWith(GROUPS + '/'))
  t.ok(groups.length > 0, 'there are groups')
  const runs = new Map<string, string[]>(all.map(f => [f, direct.has(f) ? ['tap'] : []]))
  for (const group of groups) {
    t.ok(direct.has(group), `${group} is run by tap`)
    const list = members(group)
    t.ok(list.length > 0, `${group} imports its members`)
    for (const m of list) {
      t.ok(runs.has(m), `${group}: ${m} is a test file`)
      t.notOk(m.startsWith(GROUPS + '/'), `${group}: ${m} is not a group`)
      runs.set(m, [...(runs.get(m) ?? []), group])
    }
  }
  for (const [file, by] of runs) t.same(by.length, 1, `${file}: run once (${by.join(', ') || 'never'})`)
  for (const f of direct) t.ok(runs.has(f), `tap runs ${f}, a test file under test/`)
})

t.test('a member leaves the group process as it found it', async (t) => {
  for (const group of testFiles().filter(f => f.startsWith(GROUPS + '/'))) {
    for (const m of members(group)) {
      // Coverage: a group gets the coverage map of its own file name ([] = every file loaded, null = none), so its members must have the same.
      t.same(coverageMap(m), coverageMap(group), `${m}: the coverage map of ${group} (${JSON.stringify(coverageMap(group))})`)
      // On the root test, these act on the whole group (t.teardown also makes the root end when idle, before the next member is imported).
      const source = readFileSync(join(root, m), 'utf8')
      t.notMatch(source, /^t\.(teardown|setTimeout|jobs|before|beforeEach|after|afterEach|plan|mockImport|mockRequire)\b/m, `${m}: no t.teardown/setTimeout/jobs/before/after/plan/mock on the root test`)
    }
  }
})

t.test('a test process has one TypeBox and one tap: scripts/ts-loader.mjs resolves every import of them to their CommonJS builds', async (t) => {
  const require = createRequire(import.meta.url)
  const imported = await import('@sinclair/typebox')
  t.equal(imported.Type, require('@sinclair/typebox').Type, 'TypeBox: import and require give the same module')
  const { Type: fromLib } = await import('../lib/index.js')
  t.equal(fromLib, imported.Type, 'and lib/ re-exports that one')
  t.equal((await import('tap')).default, require('tap'), 'tap: import and require give the same root test')
})
