// tap coverage map. Some tests load lib/ a second time through tsx (the CLI's
// `asyncapi` command in test/cli.test.ts) or start children that do (the
// scaffold tests, the example server) or load a dist/ build; tap tracks those
// children too, and merging their copies of lib/ (other transforms, other source
// maps) with the ones scripts/ts-loader.mjs loads garbles the report. Such
// tests count only for the files they are about. The README test loads nothing
// of lib/ itself (its project runs in children without coverage), nor does the
// lint test (eslint runs in a child).
//
// A test with null (no coverage) also starts first: tap starts the others once
// the files of their map are found. That puts the long e2e runs at the start.
import { readdirSync } from 'node:fs'
import { join } from 'node:path'

function files (dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap(e =>
    e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [])
}

export default function coverageMap (testFile) {
  const f = testFile.replace(/\\/g, '/')
  if (f.endsWith('test/cli.test.ts')) return files('lib/cli')
  if (f.endsWith('test/e2e/cli-scaffold.test.ts') || f.endsWith('test/e2e/readme.test.ts') || f.endsWith('test/bench-harness.test.ts') || f.endsWith('test/e2e/example.test.ts') || f.endsWith('test/lint.test.ts') || f.endsWith('test/groups/external.test.ts')) return null
  return []
}
