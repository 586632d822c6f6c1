// Test group: end-to-end tests of one server over real sockets (test/helpers/group.ts).
import { runGroup } from '../helpers/group.js'

await runGroup(300_000, [
  'e2e/auth.test.ts',
  'e2e/subprotocol.test.ts',
  'e2e/chat-example.test.ts',
  'e2e/log-secrets.test.ts',
  'e2e/pipeline.test.ts',
  'e2e/recovery.test.ts',
  'e2e/security.test.ts',
  'e2e/hardening.test.ts'
])
