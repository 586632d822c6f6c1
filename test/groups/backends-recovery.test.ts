// Test group: connection recovery across nodes and Redis failures; each file starts its own
// redis-server (test/helpers/group.ts). Named to sort early: tap starts files in name order,
// and this group mostly waits (Redis restarts, frozen nodes, timeouts), so it runs best next to
// the busy ones, not last, where it ran alone with a core idle (as `redis-recovery`).
import { runGroup } from '../helpers/group.js'

await runGroup(300_000, [
  'e2e/recovery-matrix.test.ts',
  'e2e/redis-cluster.test.ts'
])
