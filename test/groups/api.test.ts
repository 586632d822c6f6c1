// Test group: what the package publishes and what is made from it (its types under TypeScript 5.9,
// `socketspec types`, the AsyncAPI document and the docs routes) (test/helpers/group.ts).
// package.test.ts first: its TypeScript 5.9 run starts when it is imported and runs while the others do.
import { runGroup } from '../helpers/group.js'

await runGroup(300_000, [
  'package.test.ts',
  'cli-types.test.ts',
  'asyncapi.test.ts'
])
