// Fails the test run when line coverage of the sources drops below the floor
// (COVERAGE_LINES overrides it). This is the only coverage gate: .taprc sets
// tap's own thresholds to 0 so tap reports coverage without judging it.
import { readFileSync } from 'node:fs'

const FLOOR = Number(process.env.COVERAGE_LINES || 95)
if (!(FLOOR >= 0 && FLOOR <= 100)) {
  console.error(`COVERAGE_LINES must be a percentage, got ${JSON.stringify(process.env.COVERAGE_LINES)}`)
  process.exit(2)
}
const file = new URL('../.tap/report/coverage-summary.json', import.meta.url)
let summary
try {
  summary = JSON.parse(readFileSync(file, 'utf8'))
} catch (err) {
  console.error(`no coverage summary (${err.code ?? err.message}): run tap first, with the json-summary coverage report`)
  process.exit(1)
}
const pct = summary.total.lines.pct
const lines = `${summary.total.lines.covered}/${summary.total.lines.total}`
if (!(pct >= FLOOR)) {
  console.error(`line coverage ${pct}% (${lines}) is below ${FLOOR}%`)
  process.exit(1)
}
console.log(`line coverage ${pct}% (${lines}) ≥ ${FLOOR}%`)
