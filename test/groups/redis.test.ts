// Test group (.taprc): rooms and backends on Redis, several nodes (each file starts its own redis-server),
// run one after the other in this one tap process instead of a process each (issue 11:
// each costs ~2 s of CPU to start). Each file stays runnable alone (`npx tap <file>`);
// .taprc `exclude` keeps tap from running it a second time; test/test-files.test.ts checks both.
import t from 'tap'

// The whole group's time (.taprc `timeout` is per process), with headroom for a loaded machine.
t.setTimeout(300_000)
t.comment('test/rooms.test.ts')
await import('../rooms.test.js')
t.comment('test/backends.test.ts')
await import('../backends.test.js')
t.comment('test/e2e/cluster.test.ts')
await import('../e2e/cluster.test.js')
t.comment('test/e2e/sharding.test.ts')
await import('../e2e/sharding.test.js')
t.comment('test/e2e/emitter.test.ts')
await import('../e2e/emitter.test.js')
t.comment('test/e2e/redis-frozen.test.ts')
await import('../e2e/redis-frozen.test.js')
