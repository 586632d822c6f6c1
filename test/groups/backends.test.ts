// Test group: rooms and backends on Redis, several nodes; each file starts its own redis-server
// (test/helpers/group.ts). Named so that it sorts before the shorter groups: tap starts the files
// in name order (after the ones without coverage), and the last ones to start set the run's tail.
import { runGroup } from '../helpers/group.js'

await runGroup(300_000, [
  'rooms.test.ts',
  'backends.test.ts',
  'e2e/cluster.test.ts',
  'e2e/sharding.test.ts',
  'e2e/emitter.test.ts',
  'e2e/redis-frozen.test.ts'
])
