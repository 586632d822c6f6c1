// Fails the test run when line coverage of the sources drops below the floor.
// tap 21 reports coverage but has no thresholds of its own.
import { readFileSync } from 'node:fs'

const FLOOR = Number(process.env.COVERAGE_LINES ?? 90)
const summary = JSON.parse(readFileSync(new URL('../.tap/report/coverage-summary.json', import.meta.url), 'utf8'))
const pct = summary.total.lines.pct
const lines = `${summary.total.lines.covered}/${summary.total.lines.total}`
if (!(pct >= FLOOR)) {
  console.error(`line coverage ${pct}% (${lines}) is below ${FLOOR}%`)
  process.exit(1)
}
console.log(`line coverage ${pct}% (${lines}) ≥ ${FLOOR}%`)
