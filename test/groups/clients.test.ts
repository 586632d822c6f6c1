// Test group: the client SDK against real server processes (killed and restarted) and the SDK
// benchmark's harness (test/helpers/group.ts).
import { runGroup } from '../helpers/group.js'

await runGroup(240_000, [
  'client/reconnect.test.ts',
  'bench-client.test.ts'
])
