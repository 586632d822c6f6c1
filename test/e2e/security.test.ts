import t from 'tap'
import net from 'node:net'
import WebSocket from 'ws'
import { build, sleep } from '../helpers/build.js'
import { listen, open } from '../helpers/ws-client.js'

t.test('allowedOrigins: foreign Origin → 403 before the upgrade; listed and missing Origin pass', async (t) => {
  const app = await build(t, { allowedOrigins: ['https://app.example.com', 'https://*.example.org'] })
  const url = await listen(t, app)
  const refused = await open(t, url, { origin: 'https://evil.example.net' }).catch(e => e)
  t.equal(refused.statusCode, 403)
  const ok = await open(t, url, { origin: 'https://app.example.com' })
  t.equal((await ok.next()).event, '__connect__')
  const sub = await open(t, url, { origin: 'https://eu.example.org' })
  t.equal((await sub.next()).event, '__connect__')
  const bare = await open(t, url, { origin: 'https://example.org' }).catch(e => e)
  t.equal(bare.statusCode, 403, 'the wildcard needs a subdomain')
  const none = await open(t, url)
  t.equal((await none.next()).event, '__connect__', 'no Origin (non-browser client) is allowed')
})

t.test('maxConnections → 503 before the upgrade; a slot frees up after a close', async (t) => {
  const app = await build(t, { maxConnections: 2 })
  const url = await listen(t, app)
  const a = await open(t, url)
  const b = await open(t, url)
  await a.next('__connect__')
  await b.next('__connect__')
  const third = await open(t, url).catch(e => e)
  t.equal(third.statusCode, 503)
  a.ws.close()
  await a.closed
  await sleep(30)
  const again = await open(t, url)
  t.equal((await again.next()).event, '__connect__')
})

t.test('graceful shutdown: __server_shutdown__, in-flight handlers finish, then 1001', async (t) => {
  const app = await build(t, { shutdownTimeout: 2 })
  const reasons: string[] = []
  let finished = false
  app.socket.on('slow', { reply: { event: 'slow_done' } }, async () => { await sleep(300); finished = true; return { ok: true } })
  app.socket.onDisconnect((_c, reason) => { reasons.push(reason) })
  const url = await listen(t, app)
  const c = await open(t, url)
  const idle = await open(t, url)
  await c.next('__connect__')
  await idle.next('__connect__')
  c.send('slow', {}, 's1')
  await sleep(30)
  const closing = app.close()
  const notice = await c.next('__server_shutdown__')
  t.ok(notice.payload.retry_after_ms > 0)
  t.equal((await idle.next('__server_shutdown__')).event, '__server_shutdown__')
  t.same((await c.next('slow_done')).payload, { ok: true }, 'the in-flight handler finished and replied')
  t.same((await c.next('__disconnect__')).payload, { code: 1001, reason: 'server_shutdown' })
  t.equal((await c.closed).code, 1001)
  t.equal((await idle.closed).code, 1001)
  await closing
  t.ok(finished)
  t.same(reasons, ['server_shutdown', 'server_shutdown'])
})

t.test('shutdown does not wait past shutdownTimeout for a stuck handler', async (t) => {
  const app = await build(t, { shutdownTimeout: 0.2 })
  app.socket.on('stuck', {}, () => new Promise(() => {}))
  const url = await listen(t, app)
  const c = await open(t, url)
  await c.next('__connect__')
  c.send('stuck')
  await sleep(20)
  const started = Date.now()
  await app.close()
  t.ok(Date.now() - started < 3000, `closed in ${Date.now() - started} ms`)
  t.equal((await c.closed).code, 1001)
})

t.test('slow consumer: closed 4009 once its outbound queue passes maxBufferedBytes; others unaffected', async (t) => {
  const app = await build(t, { maxBufferedBytes: 64 * 1024, rateLimit: { rate: 1000, capacity: 1000 } })
  const big = 'x'.repeat(16 * 1024)
  app.socket.on('flood', {}, (conn) => { for (let i = 0; i < 2000 && !conn.closed; i++) conn.emit('chunk', { big }) })
  app.socket.on('ping2', { reply: { event: 'pong2' } }, () => ({}))
  const url = await listen(t, app)
  // A client that never reads: a raw TCP socket doing the handshake then pausing.
  const { port } = new URL(url)
  const raw = net.connect(Number(port), '127.0.0.1')
  t.teardown(() => raw.destroy())
  await new Promise<void>(resolve => raw.once('connect', () => resolve()))
  raw.write('GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n')
  await new Promise<void>(resolve => raw.once('data', () => resolve()))
  raw.pause()
  const disconnects: Array<[string, number]> = []
  app.socket.onDisconnect((_c, reason, code) => { disconnects.push([reason, code]) })
  // masked client frame for {"event":"flood"}
  const payload = Buffer.from('{"event":"flood"}')
  const mask = Buffer.from([1, 2, 3, 4])
  const masked = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]))
  raw.write(Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, masked]))
  const other = await open(t, url)
  await other.next('__connect__')
  // one tick's burst: closed once the backlog stops shrinking (the kernel's buffers fill first), within seconds
  for (let i = 0; i < 200 && disconnects.length === 0; i++) await sleep(50)
  t.same(disconnects[0], ['slow_consumer', 4009])
  const rss = process.memoryUsage().rss
  other.send('ping2', {}, 'p')
  t.equal((await other.next('pong2')).event, 'pong2', 'other clients are unaffected')
  t.ok(rss < 2 * 1024 ** 3, 'memory stayed bounded')
})

t.test('hardening: hostile handshakes and frames never take the server down', async (t) => {
  const app = await build(t, { maxPayloadSize: 1024 }, { maxParamLength: 100 })
  app.socket.on('echo', { reply: { event: 'echo' } }, (_c, p) => p)
  const url = await listen(t, app)
  const { port } = new URL(url)
  const healthy = await open(t, url)
  await healthy.next('__connect__')
  async function stillAnswers (label: string): Promise<void> {
    healthy.send('echo', { label }, label)
    t.same((await healthy.next('echo')).payload, { label }, label + ': the server still answers')
  }

  // 2,000 headers
  const many: Record<string, string> = {}
  for (let i = 0; i < 2000; i++) many['x-h-' + i] = 'v'
  const r1 = await open(t, url, { headers: many }).catch(e => e)
  t.ok(r1 instanceof Error || r1.ws !== undefined, '2,000 headers: refused or accepted, no crash')
  await stillAnswers('2000 headers')

  // a 32 KiB Sec-WebSocket-Protocol header
  const protos = Array.from({ length: 3000 }, (_, i) => 'p' + i)
  const r2 = await open(t, url, { protocols: protos }).catch(e => e)
  t.ok(r2 instanceof Error || r2.ws !== undefined, 'huge protocol header: no crash')
  await stillAnswers('32k protocol header')

  // a handshake that never completes
  const half = net.connect(Number(port), '127.0.0.1')
  t.teardown(() => half.destroy())
  await new Promise<void>(resolve => half.once('connect', () => resolve()))
  half.write('GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n')
  await stillAnswers('half handshake')

  // invalid UTF-8 in a text frame → 1007
  const bad = await open(t, url)
  await bad.next('__connect__')
  const sock = (bad.ws as any)._socket as net.Socket
  const mask = Buffer.from([0, 0, 0, 0])
  sock.write(Buffer.concat([Buffer.from([0x81, 0x82]), mask, Buffer.from([0xc3, 0x28])]))
  t.equal((await bad.closed).code, 1007, 'invalid UTF-8 → 1007')
  await stillAnswers('invalid utf-8')

  // an oversized control frame (ping with 200 bytes) → 1002
  const ctl = await open(t, url)
  await ctl.next('__connect__')
  const sock2 = (ctl.ws as any)._socket as net.Socket
  sock2.write(Buffer.concat([Buffer.from([0x89, 0x80 | 126, 0, 200]), mask, Buffer.alloc(200)]))
  t.equal((await ctl.closed).code, 1002, 'oversized control frame → 1002')
  await stillAnswers('oversized control frame')

  const ws = new WebSocket(url)
  ws.on('error', () => {})
  await new Promise(resolve => ws.once('open', resolve))
  ws.terminate()
  await stillAnswers('abrupt terminate')
})

t.test('a connection whose authentication never completes is cut after authTimeout (4001)', async (t) => {
  const app = await build(t, { authTimeout: 0.2, auth: { authenticate: () => new Promise(() => {}) } })
  const url = await listen(t, app)
  const c = await open(t, url)
  c.send('anything')
  const err = await c.next('__error__', 2000)
  t.equal(err.payload.code, 'AUTH_ERROR')
  t.equal((await c.closed).code, 4001)
})
