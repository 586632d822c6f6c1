// Load generator process: receives one job from the harness over IPC, runs it,
// and asks the harness to mark / read the server around the measured window.
import { broadcast } from './broadcast.mjs'
import { idle, storm } from './connections.mjs'
import { closedLoop, openLoop } from './echo.mjs'
import { sdkLoop } from './sdk.mjs'
import { sharded } from './sharded.mjs'
import { makeTokens } from '../lib/tokens.mjs'

const workloads = { closedLoop, openLoop, broadcast, idle, storm, sdkLoop, sharded }

let nextId = 0
const waiting = new Map()

function ask (name, data) {
  const id = ++nextId
  return new Promise((resolve, reject) => {
    waiting.set(id, { resolve, reject })
    process.send({ type: 'request', id, name, data })
  })
}

const hooks = {
  windowStart: () => ask('window-start'),
  windowEnd: () => ask('window-end'),
  loaded: () => ask('loaded')
}

// bench/run.mjs --cpu-prof: a V8 CPU profile of the measured window only (what --cpu-prof gives, minus start-up).
const profFile = process.env.BENCH_CPU_PROF
if (profFile) {
  const { Session } = await import('node:inspector/promises')
  const { writeFileSync } = await import('node:fs')
  const session = new Session()
  session.connect()
  await session.post('Profiler.enable')
  await session.post('Profiler.setSamplingInterval', { interval: 100 })
  const { windowStart, windowEnd } = hooks
  hooks.windowStart = async () => {
    const r = await windowStart()
    await session.post('Profiler.start')
    return r
  }
  hooks.windowEnd = async () => {
    const { profile } = await session.post('Profiler.stop')
    writeFileSync(profFile, JSON.stringify(profile))
    return windowEnd()
  }
}

async function run (job) {
  const fn = workloads[job.workload]
  if (fn === undefined) throw new Error(`unknown workload ${job.workload}`)
  const params = { ...job.params }
  if (job.auth) params.tokens = makeTokens(job.tokens ?? 1000, job.jwtSecret)
  return fn(params, hooks)
}

process.on('message', (msg) => {
  if (msg?.type === 'response') {
    const w = waiting.get(msg.id)
    waiting.delete(msg.id)
    if (msg.ok) w?.resolve(msg.result)
    else w?.reject(new Error(msg.error))
    return
  }
  if (msg?.type !== 'job') return
  run(msg.job).then(
    (result) => process.send({ type: 'result', ok: true, result }, () => process.exit(0)),
    (err) => process.send({ type: 'result', ok: false, error: err.message }, () => process.exit(0))
  )
})
process.on('disconnect', () => process.exit(0))
process.send({ type: 'ready' })
