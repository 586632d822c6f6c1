#!/usr/bin/env node
// Summarize V8 .cpuprofile files (e.g. from `node bench/run.mjs --cpu-prof DIR`):
// self time by function and by where the code lives (socketspec client, ws,
// socket.io-client, node internals, GC, idle). Issue 12 used it on the load
// generator, which is the client SDK under test in the sdk-* scenarios.
//
//   node bench/profile-summary.mjs DIR/sdk-64-socketspec-r1-*.cpuprofile [--top 25]
import { readFileSync } from 'node:fs'
import { basename } from 'node:path'
import { parseArgs } from 'node:util'

const { values: opts, positionals: files } = parseArgs({
  allowPositionals: true,
  options: { top: { type: 'string', default: '25' }, json: { type: 'boolean', default: false } }
})
if (files.length === 0) {
  console.error('usage: node bench/profile-summary.mjs FILE.cpuprofile... [--top N] [--json]')
  process.exit(2)
}

/** Where a frame's code lives, from its URL. */
export function area (url, name) {
  if (name === '(garbage collector)') return 'GC'
  if (name === '(idle)') return 'idle'
  if (name === '(program)') return 'program (native, outside JS)'
  if (url === '') return 'native'
  if (/\/lib\/client\//.test(url) || /socketspec-client/.test(url)) return 'socketspec client'
  if (/\/lib\/wire-errors/.test(url)) return 'socketspec client'
  if (/node_modules\/ws\//.test(url)) return 'ws'
  if (/node_modules\/(socket\.io-client|engine\.io-client|socket\.io-parser|@socket\.io\/component-emitter|engine\.io-parser|debug|ms)\//.test(url)) {
    return /\/debug\/|\/ms\//.test(url) ? 'debug (socket.io-client)' : 'socket.io-client'
  }
  if (/bench\//.test(url)) return 'bench harness'
  if (url.startsWith('node:')) return 'node internals'
  return 'other'
}

/** Self time per node of one profile, attributed by function and by area. */
export function summarize (profile) {
  const selfUs = new Map()
  const { nodes, samples, timeDeltas } = profile
  const byId = new Map(nodes.map((n) => [n.id, n]))
  // timeDeltas[0] runs from the profiler's start (and whatever started it) to the first sample: not counted.
  for (let i = 1; i < samples.length; i++) selfUs.set(samples[i], (selfUs.get(samples[i]) ?? 0) + (timeDeltas[i] ?? 0))
  const fns = new Map()
  const areas = new Map()
  let total = 0
  let idle = 0
  for (const [id, us] of selfUs) {
    const n = byId.get(id)
    const cf = n.callFrame
    const a = area(cf.url, cf.functionName)
    if (a === 'idle') { idle += us; continue }
    total += us
    const key = `${cf.functionName || '(anonymous)'} ${cf.url ? `${basename(cf.url)}:${cf.lineNumber + 1}` : ''}`.trim()
    const f = fns.get(key) ?? { us: 0, area: a }
    f.us += us
    fns.set(key, f)
    areas.set(a, (areas.get(a) ?? 0) + us)
  }
  return { totalUs: total, idleUs: idle, fns, areas }
}

const pctOf = (us, total) => `${((100 * us) / total).toFixed(1).padStart(5)} %`

for (const file of files) {
  const s = summarize(JSON.parse(readFileSync(file, 'utf8')))
  if (opts.json) {
    console.log(JSON.stringify({ file, totalUs: s.totalUs, idleUs: s.idleUs, areas: Object.fromEntries(s.areas), top: [...s.fns].sort((a, b) => b[1].us - a[1].us).slice(0, Number(opts.top)) }))
    continue
  }
  console.log(`\n## ${basename(file)}: ${(s.totalUs / 1000).toFixed(0)} ms busy, ${(s.idleUs / 1000).toFixed(0)} ms idle\n`)
  console.log('self time by area:')
  for (const [a, us] of [...s.areas].sort((x, y) => y[1] - x[1])) console.log(`  ${pctOf(us, s.totalUs)}  ${a}`)
  console.log(`\ntop ${opts.top} functions by self time:`)
  for (const [k, f] of [...s.fns].sort((a, b) => b[1].us - a[1].us).slice(0, Number(opts.top))) console.log(`  ${pctOf(f.us, s.totalUs)}  ${k}  [${f.area}]`)
}
