// Test group: files whose work runs in child processes that carry no coverage (eslint, the benchmark
// harness, the example server): this group's coverage map is null, like its members'
// (scripts/coverage-map.mjs), so tap starts it first, with the other long runs (test/helpers/group.ts).
// lint.test.ts first: eslint starts when it is imported and runs while the others do.
import { runGroup } from '../helpers/group.js'

await runGroup(300_000, [
  'lint.test.ts',
  'bench-harness.test.ts',
  'e2e/example.test.ts'
])
