// Test groups (.taprc): the small test files run a few to a process, one after
// the other, instead of a process each (each costs ~2 s of CPU to start). A
// group file (test/groups/<name>.test.ts) calls runGroup with its members; they
// stay runnable alone (`npx tap <file>`), .taprc `exclude` keeps tap from
// running them a second time, and test/test-files.test.ts checks both.
import t from 'tap'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { join } from 'node:path'

const testDir = fileURLToPath(new URL('..', import.meta.url))

/**
 * Import `members` (test files, paths from test/) in order, each after a
 * `# test/<member>` comment, so that their top-level tests run on this
 * process's root test. `timeoutMs`: the whole group's time (.taprc `timeout`
 * is per process), with headroom for a loaded machine.
 */
export async function runGroup (timeoutMs: number, members: string[]): Promise<void> {
  t.setTimeout(timeoutMs)
  for (const member of members) {
    t.comment(`test/${member}`)
    await import(pathToFileURL(join(testDir, member)).href)
  }
}
