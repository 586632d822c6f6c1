// What `npm pack` ships and what package.json promises are true.
import t from 'tap'
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join, normalize, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import semver from 'semver'

const root = resolve(fileURLToPath(import.meta.url), '../..')
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))

/** Production dependencies whose declared engines are stricter than ours, and why we still support Node 20. */
const ENGINE_EXCEPTIONS: Record<string, string> = {
  'content-disposition': '@fastify/static 10 depends on content-disposition 3, which declares node >= 22 but runs on Node 20 (the docs UI is served and tested on Node 20; npm prints an EBADENGINE warning there)'
}

t.test('engines: this Node satisfies it, and every production dependency accepts the whole range', async (t) => {
  const range = pkg.engines.node as string
  t.ok(semver.satisfies(process.version, range), `${process.version} satisfies ${range}`)
  const out = execFileSync('npm', ['ls', '--omit=dev', '--all', '--parseable'], { cwd: root, encoding: 'utf8' })
  const problems: string[] = []
  for (const dir of out.trim().split('\n').slice(1)) {
    const dep = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))
    const wanted = dep.engines?.node
    if (typeof wanted !== 'string' || !semver.validRange(wanted)) continue
    if (semver.subset(range, wanted)) continue
    if (ENGINE_EXCEPTIONS[dep.name] !== undefined) {
      t.comment(`${dep.name} ${dep.version} wants node ${wanted}: ${ENGINE_EXCEPTIONS[dep.name]}`)
      continue
    }
    problems.push(`${dep.name}@${dep.version} wants node ${wanted}`)
  }
  t.same(problems, [], `every dependency runs on all of ${range}`)
})

t.test('the packed files: sources for every source map, types, the UI bundle, LICENSE and CHANGELOG', async (t) => {
  if (!existsSync(join(root, 'dist/lib/index.js'))) {
    t.fail('dist/ is missing: run `npm run build` first (npm test does)')
    return
  }
  const [packed] = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8' }))
  const files = new Set<string>(packed.files.map((f: { path: string }) => f.path))
  for (const f of ['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md', 'dist/lib/index.js', 'dist/lib/index.d.ts', 'dist/lib/testing.js', 'ui/dist/index.html']) {
    t.ok(files.has(f), `${f} is shipped`)
  }
  t.notOk([...files].some(f => f.startsWith('test/') || f.startsWith('bench/') || f.startsWith('dist/examples/')), 'no tests, benchmarks or examples')
  const missing: string[] = []
  let maps = 0
  for (const f of files) {
    if (!f.endsWith('.map')) continue
    maps++
    const map = JSON.parse(readFileSync(join(root, f), 'utf8'))
    for (const source of map.sources as string[]) {
      const target = normalize(join(dirname(f), map.sourceRoot ?? '', source))
      if (!files.has(target)) missing.push(`${f} → ${target}`)
    }
  }
  t.ok(maps > 10, `${maps} source maps`)
  t.same(missing, [], 'every source a map points to is in the package')
  for (const [entry, target] of Object.entries(pkg.exports as Record<string, { types?: string, default?: string } | string>)) {
    if (typeof target === 'string') continue
    for (const file of [target.types, target.default]) if (file !== undefined) t.ok(files.has(file.replace(/^\.\//, '')), `${entry}: ${file} is shipped`)
  }
  t.equal(pkg.peerDependencies?.fastify !== undefined, true, 'fastify is a peer dependency')
  t.notOk(pkg.dependencies.fastify, 'not a dependency (one fastify in the app)')
  t.ok(pkg.dependencies['@types/ws'], 'the published types import ws: its types are a dependency')
})
