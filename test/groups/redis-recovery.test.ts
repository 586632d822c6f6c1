// Test group (.taprc): connection recovery across nodes and Redis failures (each file starts its own redis-server),
// run one after the other in this one tap process instead of a process each (issue 11:
// each costs ~2 s of CPU to start). Each file stays runnable alone (`npx tap <file>`);
// .taprc `exclude` keeps tap from running it a second time; test/test-files.test.ts checks both.
import t from 'tap'

// The whole group's time (.taprc `timeout` is per process), with headroom for a loaded machine.
t.setTimeout(300_000)
t.comment('test/e2e/recovery-matrix.test.ts')
await import('../e2e/recovery-matrix.test.js')
t.comment('test/e2e/redis-cluster.test.ts')
await import('../e2e/redis-cluster.test.js')
