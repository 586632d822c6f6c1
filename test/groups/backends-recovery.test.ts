// Test group: connection recovery across nodes and Redis failures; each file starts its own
// redis-server (test/helpers/group.ts).
import { runGroup } from '../helpers/group.js'

await runGroup(300_000, [
  'e2e/recovery-matrix.test.ts',
  'e2e/redis-cluster.test.ts'
])
