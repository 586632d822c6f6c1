import t from 'tap'
import net from 'node:net'
import { Writable } from 'node:stream'
import Fastify, { type FastifyInstance } from 'fastify'
import socketspec, { apiKeyAuth } from '../../lib/index.js'
import { listen, open } from '../helpers/ws-client.js'

const DOCS_TOKEN = 'docs-secret-5b7e1c'
const VALID_KEY = 'valid-key-SECRET-KEY0'

/** A pino destination that keeps every line it is given. */
function capture (): { stream: Writable, lines: string[] } {
  const lines: string[] = []
  const stream = new Writable({
    write (chunk, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l !== '') lines.push(l)
      cb()
    }
  })
  return { stream, lines }
}

/** Lines whose logged URL (req.url, a message or a path field) mentions `path`. */
function linesFor (lines: string[], path: string): string[] {
  return lines.filter(l => l.includes(path + '?'))
}

async function request (base: string, path: string, init?: RequestInit): Promise<number> {
  const res = await fetch(base + path, { ...init, redirect: 'manual' })
  await res.arrayBuffer()
  return res.status
}

/** A GET written on a raw socket, for URLs `fetch` would encode; resolves with the status line. */
function rawGet (app: FastifyInstance, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect((app.server.address() as { port: number }).port, '127.0.0.1', () => {
      socket.end(`GET ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`)
    })
    let head = ''
    socket.on('data', (d) => { head += d.toString() })
    socket.on('error', reject)
    socket.on('close', () => resolve(head.split('\r\n')[0]))
  })
}

function baseOf (app: FastifyInstance): string {
  return `http://127.0.0.1:${(app.server.address() as { port: number }).port}`
}

t.test('no secret reaches any log line of the instance: every route, 404s, other methods, docs, upgrades', async (t) => {
  const { stream, lines } = capture()
  const app = Fastify({ logger: { level: 'info', stream } })
  t.teardown(() => app.close())
  app.get('/before', async () => ({ ok: true }))
  await app.register(socketspec, {
    docs: true,
    docsAccessToken: DOCS_TOKEN,
    auth: apiKeyAuth({ validKeys: new Set([VALID_KEY]), query: 'key' })
  })
  app.get('/app-route', async () => ({ ok: true }))
  const url = await listen(t, app)
  const base = baseOf(app)

  t.equal(await request(base, '/ws?token=S1-SECRET'), 426, 'the WebSocket route without an upgrade')
  t.equal(await request(base, '/ws/?token=S2-SECRET'), 404, 'a URL that misses the route')
  t.equal(await request(base, '/ws?token=S3-SECRET', { method: 'POST' }), 404, 'another method')
  t.equal(await request(base, '/nope?token=S4-SECRET'), 404, 'an unknown route')
  t.equal(await request(base, '/socket-docs?token=' + DOCS_TOKEN), 200, 'the docs login URL')
  t.equal(await request(base, '/socket-docs/asyncapi.json?token=' + DOCS_TOKEN), 200)
  t.equal(await request(base, '/socket-docs?token=S10-SECRET'), 401, 'a wrong docs token')
  t.equal(await request(base, '/app-route?api_key=S5-SECRET&x=1'), 200, 'an app route registered after the plugin')
  t.equal(await request(base, '/before?x=1&token=S11-SECRET'), 200, 'an app route registered before the plugin')
  t.equal(await request(base, '/ws?key=S6-SECRET'), 426, "apiKeyAuth's own query name")
  t.equal(await request(base, '/ws?resume_token=S7-SECRET'), 426, 'a resume token')
  t.equal(await request(base, '/nope?%74oken=S12-SECRET&RESUME_TOKEN=S13-SECRET'), 404, 'encoded and upper-case names')

  t.match(await rawGet(app, '/nope?x=1&token=S15"-SECRET\\x'), /^HTTP\/1\.1 404/, 'a raw " and \\ in the URL (escaped in the JSON line)')

  const refused = await open(t, url + '?token=S8-SECRET')
  t.equal((await refused.next()).payload.code, 'AUTH_ERROR', 'an upgrade with a wrong token')
  const accepted = await open(t, url + '?key=' + VALID_KEY + '&room=1')
  t.equal((await accepted.next()).event, '__connect__', 'an upgrade with the key in the query')
  const missed = await open(t, url.replace('/ws', '/app-route') + '?token=S9-SECRET')
  t.ok((await missed.closed).code > 1000, '@fastify/websocket closes an upgrade to a plain HTTP route (and logs its path)')
  const lost = await open(t, url.replace('/ws', '/nope') + '?token=S14-SECRET').catch((e: Error) => e)
  t.ok(lost instanceof Error, 'an upgrade to an unknown route is refused')
  await app.close()

  const all = lines.join('\n')
  for (const secret of ['S1', 'S2', 'S3', 'S4', 'S5', 'S6', 'S7', 'S8', 'S9', 'S10', 'S11', 'S12', 'S13', 'S14'].map(s => s + '-SECRET').concat(DOCS_TOKEN, VALID_KEY)) {
    t.notOk(all.includes(secret), `${secret} never appears in a log line`)
  }
  t.notOk(/S15|SECRET\\\\x/.test(all), 'nor a token holding JSON-escaped characters')
  for (const path of ['/ws', '/ws/', '/nope', '/socket-docs', '/socket-docs/asyncapi.json', '/app-route', '/before']) {
    const logged = linesFor(lines, path)
    t.ok(logged.length > 0, `${path} was logged`)
    t.ok(logged.every(l => l.includes('=[REDACTED]')), `${path}: every line shows [REDACTED] in place`)
  }
  t.ok(lines.some(l => l.includes('"incoming request"') && l.includes('"method":"POST"') && l.includes('/ws?token=[REDACTED]')), 'the POST line is there')
  t.ok(lines.some(l => l.includes('Route GET:/nope?token=[REDACTED] not found')), "Fastify's own 404 message is redacted")
  t.ok(lines.some(l => l.includes('"url":"/app-route?api_key=[REDACTED]&x=1"')), 'other parameters are kept')
  t.ok(lines.some(l => l.includes('"url":"/ws?key=[REDACTED]&room=1"')), 'the upgrade request line is there')
  t.ok(lines.some(l => l.includes('"path":"/app-route?token=[REDACTED]"')), "@fastify/websocket's own path field is redacted")
})

t.test("an app's own req serializer and streamWrite hook keep working, and their output is redacted", async (t) => {
  const { stream, lines } = capture()
  let hooked = 0
  const app = Fastify({
    logger: {
      level: 'info',
      stream,
      serializers: { req: (req: { method: string, url: string }) => ({ line: `${req.method} ${req.url}`, custom: true }) },
      hooks: { streamWrite: (s: string) => { hooked++; return s.replace('incoming request', 'INCOMING') } }
    }
  })
  t.teardown(() => app.close())
  app.get('/early', async () => 'ok')
  await app.register(socketspec, {})
  await app.listen({ port: 0, host: '127.0.0.1' })
  const base = baseOf(app)
  t.equal(await request(base, '/early?token=C1-SECRET'), 200)
  t.equal(await request(base, '/missing?api_key=C2-SECRET'), 404)
  await app.close()
  const all = lines.join('\n')
  t.notOk(all.includes('C1-SECRET'))
  t.notOk(all.includes('C2-SECRET'))
  t.ok(lines.some(l => l.includes('"line":"GET /early?token=[REDACTED]"') && l.includes('"custom":true')), "the app's serializer output, redacted")
  t.ok(lines.some(l => l.includes('"msg":"INCOMING"')), "the app's streamWrite hook still runs")
  t.ok(hooked >= lines.length, 'on every line')
})

t.test('registered inside an encapsulated context, it still covers every request of the server', async (t) => {
  const { stream, lines } = capture()
  const app = Fastify({ logger: { level: 'info', stream } })
  t.teardown(() => app.close())
  app.get('/root', async () => 'ok')
  await app.register(async (child) => {
    await child.register(socketspec, { path: '/a', auth: apiKeyAuth({ validKeys: [VALID_KEY], query: 'ka' }) })
  })
  await app.register(async (child) => {
    await child.register(socketspec, { path: '/b', auth: apiKeyAuth({ validKeys: [VALID_KEY], query: 'kb' }) })
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const base = baseOf(app)
  t.equal(await request(base, '/root?ka=E1-SECRET&kb=E2-SECRET&token=E3-SECRET'), 200, 'a root route')
  t.equal(await request(base, '/none?kb=E4-SECRET'), 404, 'the root 404 handler')
  t.equal(await request(base, '/a?ka=E5-SECRET'), 426)
  await app.close()
  const all = lines.join('\n')
  for (const s of ['E1', 'E2', 'E3', 'E4', 'E5']) t.notOk(all.includes(s + '-SECRET'), `${s} is redacted`)
  t.ok(all.includes('/root?ka=[REDACTED]&kb=[REDACTED]&token=[REDACTED]'), "both registrations' query names are redacted")
})

t.test('logger: false and a logger without pino hooks still register', async (t) => {
  const quiet = Fastify({ logger: false })
  t.teardown(() => quiet.close())
  await quiet.register(socketspec, {})
  await quiet.ready()

  const warnings: unknown[] = []
  const plain = {
    level: 'info',
    info () {},
    error () {},
    debug () {},
    fatal () {},
    trace () {},
    warn (...args: unknown[]) { warnings.push(args) },
    child () { return plain }
  }
  const custom = Fastify({ loggerInstance: plain as any })
  t.teardown(() => custom.close())
  await custom.register(socketspec, {})
  await custom.ready()
  t.equal(warnings.length, 1, 'a logger socketspec cannot redact is reported once')
  t.match(JSON.stringify(warnings[0]), /cannot redact/)
})
