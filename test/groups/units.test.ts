// Test group: unit tests, the client SDK, tracing, the publish API and the TestClient (test/helpers/group.ts).
import { runGroup } from '../helpers/group.js'

await runGroup(240_000, [
  'history.test.ts',
  'client/bundle.test.ts',
  'auth.test.ts',
  'protocol.test.ts',
  'session-scheduler.test.ts',
  'outbound.test.ts',
  'client/client.test.ts',
  'client/types.test.ts',
  'tracing.test.ts',
  'publish-api.test.ts',
  'testing.test.ts',
  'test-files.test.ts'
])
