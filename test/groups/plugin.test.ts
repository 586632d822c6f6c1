// Test group (.taprc): the plugin, its pipeline, sessions, metrics and the admin view,
// run one after the other in this one tap process instead of a process each (issue 11:
// each costs ~2 s of CPU to start). Each file stays runnable alone (`npx tap <file>`);
// .taprc `exclude` keeps tap from running it a second time; test/test-files.test.ts checks both.
import t from 'tap'

// The whole group's time (.taprc `timeout` is per process), with headroom for a loaded machine.
t.setTimeout(300_000)
t.comment('test/session.test.ts')
await import('../session.test.js')
t.comment('test/plugin.test.ts')
await import('../plugin.test.js')
t.comment('test/pipeline.test.ts')
await import('../pipeline.test.js')
t.comment('test/metrics.test.ts')
await import('../metrics.test.js')
t.comment('test/admin.test.ts')
await import('../admin.test.js')
