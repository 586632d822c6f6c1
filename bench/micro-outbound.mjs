#!/usr/bin/env node
// Micro-benchmark of issue 10's outbound check: the CPU time of one
// FrameSerializer.frame() call for the echo reply of the benchmark servers
// (`echo_response`, schema { echo: string }), with outboundValidation 'always'
// (compiled Ajv check, then fast-json-stringify) and 'never' (serializer only).
// The two modes alternate in every round in one process, and the measure is
// process.cpuUsage(), not wall time, so it is far less sensitive to a shared
// machine than the end-to-end scenarios; the difference always − never is the
// price of the check per outbound frame, to compare with the end-to-end CPU
// per message of bench/run.mjs. "check alone" times the compiled validator by
// itself (reached through the serializer's internal table, so only when the
// build has one): the smallest, least noisy number for what 'always' adds.
//
//   node bench/micro-outbound.mjs [--dist DIR] [--rounds N] [--frames N]
import { parseArgs } from 'node:util'
import { distDir, importDist } from './lib/dist.mjs'
import { median } from './lib/stats.mjs'
import { padded } from './lib/wire.mjs'

const { values: opts } = parseArgs({
  options: {
    dist: { type: 'string' },
    rounds: { type: 'string', default: '15' },
    frames: { type: 'string', default: '200000' },
    help: { type: 'boolean', short: 'h', default: false }
  }
})
if (opts.help) {
  console.log('usage: node bench/micro-outbound.mjs [--dist DIR] [--rounds N] [--frames N]')
  process.exit(0)
}
const dist = distDir(opts.dist, 'micro-outbound', 'lib/serializer.js')
const { FrameSerializer } = await importDist(dist, 'lib/serializer.js')
const { Type } = await importDist(dist)
const rounds = Math.max(1, Number(opts.rounds))
const frames = Math.max(1000, Number(opts.frames))

const schema = Type.Object({ echo: Type.String() })
const serializers = {}
for (const mode of ['always', 'never']) {
  const s = new FrameSerializer({ validate: mode === 'always' })
  s.declare('echo_response', schema, 'echo')
  serializers[mode] = s
}

// The compiled Ajv validator of echo_response, when this build has one (issue 10 and later).
const validator = serializers.always.outbound?.get?.('echo_response')?.validate ?? null

let sink = 0
/** CPU ns per validator call alone (the check 'always' adds), fresh payload objects as above. */
function measureCheck (texts) {
  const c0 = process.cpuUsage()
  for (let i = 0; i < frames; i++) if (validator({ echo: texts[i & 1023] })) sink++
  const c = process.cpuUsage(c0)
  return ((c.user + c.system) * 1000) / frames
}
/** CPU ns per frame() of `frames` echo replies (a fresh payload object each, as the handler builds one). */
function measure (s, texts) {
  const c0 = process.cpuUsage()
  for (let i = 0; i < frames; i++) sink += s.frame('echo_response', { echo: texts[i & 1023] }).length
  const c = process.cpuUsage(c0)
  return ((c.user + c.system) * 1000) / frames
}

const rows = []
for (const bytes of [64, 1024]) {
  const texts = Array.from({ length: 1024 }, (_, i) => padded(i, bytes))
  for (const mode of ['always', 'never']) measure(serializers[mode], texts) // warm-up: JIT both paths
  if (validator !== null) measureCheck(texts)
  const ns = { always: [], never: [], check: [] }
  const ratios = []
  for (let r = 0; r < rounds; r++) {
    // Alternate which mode goes first, so neither always runs on a warmer cache.
    const order = r % 2 === 0 ? ['always', 'never'] : ['never', 'always']
    const got = {}
    for (const mode of order) got[mode] = measure(serializers[mode], texts)
    ns.always.push(got.always)
    ns.never.push(got.never)
    ratios.push(got.always / got.never)
    if (validator !== null) ns.check.push(measureCheck(texts))
  }
  rows.push({
    bytes,
    always: median(ns.always),
    never: median(ns.never),
    diff: median(ns.always.map((a, i) => a - ns.never[i])),
    check: median(ns.check),
    ratio: median(ratios),
    ratioMin: Math.min(...ratios),
    ratioMax: Math.max(...ratios)
  })
}

const f = (v, d = 0) => v.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d })
console.log(`FrameSerializer.frame('echo_response', { echo }) from ${dist}, Node ${process.version}; ` +
  `${rounds} rounds × ${f(frames)} frames per mode, modes alternated; medians (CPU time, process.cpuUsage).`)
console.log('')
console.log('| echo string | always ns / frame | never ns / frame | always − never ns | always ÷ never (min–max) | check alone ns |')
console.log('|---|---:|---:|---:|---:|---:|')
for (const r of rows) {
  console.log(`| ${r.bytes} B | ${f(r.always)} | ${f(r.never)} | ${f(r.diff)} | ${f(r.ratio, 2)} (${f(r.ratioMin, 2)}–${f(r.ratioMax, 2)}) | ${r.check === null ? 'n/a (no validator in this build)' : f(r.check, 1)} |`)
}
if (sink === 42) console.log('')
