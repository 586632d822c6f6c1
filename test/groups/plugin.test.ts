// Test group: the plugin, its pipeline, sessions, metrics and the admin view (test/helpers/group.ts).
import { runGroup } from '../helpers/group.js'

await runGroup(300_000, [
  'session.test.ts',
  'plugin.test.ts',
  'pipeline.test.ts',
  'metrics.test.ts',
  'admin.test.ts'
])
