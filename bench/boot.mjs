#!/usr/bin/env node
// Micro-benchmark of app start-up: the CPU time of one build → ready → close
// of an app declaring three events (two inbound payload schemas, a reply and a
// room broadcast with schemas), against a Fastify app declaring the same
// schemas on two routes (body and response: Fastify compiles an Ajv validator
// and a fast-json-stringify serializer per route, as socketspec does per
// event). Two cases: "fresh", new schema objects for every app (an app per
// process), and "shared", the same schema objects for every app (module
// constants: a test suite that builds an app per test, several namespaces).
// The cases alternate in every round in one process and the measure is
// process.cpuUsage(): the ratio against Fastify is read from the same rounds.
//
//   node bench/boot.mjs [--dist DIR] [--rounds N] [--apps N]
import { parseArgs } from 'node:util'
import Fastify from 'fastify'
import { distDir, importDist } from './lib/dist.mjs'
import { median } from './lib/stats.mjs'

const { values: opts } = parseArgs({
  options: {
    dist: { type: 'string' },
    rounds: { type: 'string', default: '7' },
    apps: { type: 'string', default: '40' },
    help: { type: 'boolean', short: 'h', default: false }
  }
})
if (opts.help) {
  console.log('usage: node bench/boot.mjs [--dist DIR] [--rounds N] [--apps N]')
  process.exit(0)
}
const dist = distDir(opts.dist, 'boot')
const { socketspec, Type } = await importDist(dist)

const schemas = () => ({
  Echo: Type.Object({ echo: Type.String({ maxLength: 100 }) }),
  Room: Type.Object({ room: Type.String() }),
  Joined: Type.Object({ name: Type.String(), at: Type.Number() })
})
const shared = schemas()

async function socketspecApp (s) {
  const app = Fastify()
  await app.register(socketspec, {})
  app.socket.on('echo', { payload: s.Echo, reply: { event: 'echo_response', schema: s.Echo } }, async (_conn, p) => p)
  app.socket.on('join', { payload: s.Room, broadcasts: [{ event: 'joined', room: 'lobby', schema: s.Joined }] }, async () => {})
  await app.ready()
  await app.close()
}

async function fastifyApp (s) {
  const app = Fastify()
  app.post('/echo', { schema: { body: s.Echo, response: { 200: s.Echo } } }, async (req) => req.body)
  app.post('/join', { schema: { body: s.Room, response: { 200: s.Joined } } }, async () => ({ name: 'a', at: 1 }))
  await app.ready()
  await app.close()
}

const cases = {
  'socketspec, fresh schemas': () => socketspecApp(schemas()),
  'socketspec, shared schemas': () => socketspecApp(shared),
  'fastify, fresh schemas': () => fastifyApp(schemas()),
  'fastify, shared schemas': () => fastifyApp(shared)
}
const apps = Number(opts.apps)
const samples = Object.fromEntries(Object.keys(cases).map((k) => [k, []]))
for (const run of Object.values(cases)) for (let i = 0; i < 5; i++) await run() // warm-up
for (let r = 0; r < Number(opts.rounds); r++) {
  for (const [name, run] of Object.entries(cases)) {
    const c0 = process.cpuUsage()
    for (let i = 0; i < apps; i++) await run()
    const c = process.cpuUsage(c0)
    samples[name].push((c.user + c.system) / 1000 / apps)
  }
}
console.log(`CPU per app (build, ready, close), median of ${opts.rounds} rounds of ${apps} apps (${dist}):`)
for (const [name, list] of Object.entries(samples)) console.log(`  ${name.padEnd(28)} ${median(list).toFixed(2)} ms`)
for (const kind of ['fresh', 'shared']) {
  const ratio = median(samples[`socketspec, ${kind} schemas`]) / median(samples[`fastify, ${kind} schemas`])
  console.log(`  socketspec / fastify, ${kind}: ${ratio.toFixed(2)}`)
}
