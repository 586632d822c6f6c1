// Test group (.taprc): unit tests, the client SDK, tracing, the publish API and the TestClient,
// run one after the other in this one tap process instead of a process each (issue 11:
// each costs ~2 s of CPU to start). Each file stays runnable alone (`npx tap <file>`);
// .taprc `exclude` keeps tap from running it a second time; test/test-files.test.ts checks both.
import t from 'tap'

// The whole group's time (.taprc `timeout` is per process), with headroom for a loaded machine.
t.setTimeout(240_000)
t.comment('test/history.test.ts')
await import('../history.test.js')
t.comment('test/client/bundle.test.ts')
await import('../client/bundle.test.js')
t.comment('test/auth.test.ts')
await import('../auth.test.js')
t.comment('test/protocol.test.ts')
await import('../protocol.test.js')
t.comment('test/session-scheduler.test.ts')
await import('../session-scheduler.test.js')
t.comment('test/outbound.test.ts')
await import('../outbound.test.js')
t.comment('test/client/client.test.ts')
await import('../client/client.test.js')
t.comment('test/client/types.test.ts')
await import('../client/types.test.js')
t.comment('test/tracing.test.ts')
await import('../tracing.test.js')
t.comment('test/publish-api.test.ts')
await import('../publish-api.test.js')
t.comment('test/testing.test.ts')
await import('../testing.test.js')
t.comment('test/test-files.test.ts')
await import('../test-files.test.js')
