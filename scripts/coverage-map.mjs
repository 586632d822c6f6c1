// tap coverage map. Some tests start children that load lib/ through tsx (the
// CLI's scaffold tests, the example server) or a dist/ build; tap tracks those
// children too, and merging their copies of lib/ (other transforms, other source
// maps) with the ts-node-loaded ones garbles the report. Such tests count only
// for the files they are about.
import { readdirSync } from 'node:fs'
import { join } from 'node:path'

function files (dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap(e =>
    e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [])
}

export default function coverageMap (testFile) {
  const f = testFile.replace(/\\/g, '/')
  if (f.endsWith('test/cli.test.ts') || f.endsWith('test/cli-asyncapi.test.ts')) return files('lib/cli')
  if (f.endsWith('test/e2e/cli-scaffold.test.ts') || f.endsWith('test/bench-harness.test.ts') || f.endsWith('test/e2e/example.test.ts')) return null
  return []
}
