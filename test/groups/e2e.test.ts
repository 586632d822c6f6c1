// Test group (.taprc): end-to-end tests of one server over real sockets,
// run one after the other in this one tap process instead of a process each (issue 11:
// each costs ~2 s of CPU to start). Each file stays runnable alone (`npx tap <file>`);
// .taprc `exclude` keeps tap from running it a second time; test/test-files.test.ts checks both.
import t from 'tap'

// The whole group's time (.taprc `timeout` is per process), with headroom for a loaded machine.
t.setTimeout(300_000)
t.comment('test/e2e/auth.test.ts')
await import('../e2e/auth.test.js')
t.comment('test/e2e/subprotocol.test.ts')
await import('../e2e/subprotocol.test.js')
t.comment('test/e2e/chat-example.test.ts')
await import('../e2e/chat-example.test.js')
t.comment('test/e2e/log-secrets.test.ts')
await import('../e2e/log-secrets.test.js')
t.comment('test/e2e/pipeline.test.ts')
await import('../e2e/pipeline.test.js')
t.comment('test/e2e/recovery.test.ts')
await import('../e2e/recovery.test.js')
t.comment('test/e2e/security.test.ts')
await import('../e2e/security.test.js')
t.comment('test/e2e/hardening.test.ts')
await import('../e2e/hardening.test.js')
