// `npm test`'s lint: `npm run lint` (neostandard through eslint, cached), run as
// a test file rather than before tap, so that its ~25 s of CPU on a fresh clone
// (an empty cache) shares tap's job pool with the tests instead of holding them
// back: tap can start as soon as dist/, ui/dist and tap's plugins are built.
import t from 'tap'
import { fileURLToPath } from 'node:url'
import { MINUTE, sh } from './helpers/project.js'

const root = fileURLToPath(new URL('..', import.meta.url))

// Started when the file is loaded: in its test group (test/groups/external.test.ts) the other
// members run while eslint does.
const lint = sh('npm', ['run', 'lint', '--silent'], root, 5 * MINUTE).then(
  (out) => ({ ok: true, output: `${out.stdout}${out.stderr}` }),
  (err: Error) => ({ ok: false, output: err.message })
)

t.test('npm run lint: no problems', async (t) => {
  const result = await lint
  t.ok(result.ok, 'eslint reports no problem')
  if (!result.ok) t.comment(result.output)
})
