import t from 'tap'
import { createSigner } from 'fast-jwt'
import Fastify, { type FastifyInstance } from 'fastify'
import websocket from '@fastify/websocket'
import type { Test } from 'tap'
import WebSocket from 'ws'
import socketspec, { jwtAuth } from '../../lib/index.js'
import { build } from '../helpers/build.js'
import { listen, open, WsClient } from '../helpers/ws-client.js'

const secret = 'test-secret-of-enough-length-1234567890'
const sign = createSigner({ key: secret, algorithm: 'HS256', expiresIn: 60_000 })

/**
 * Open a socket offering `offered` through the raw Sec-WebSocket-Protocol header, so
 * that the `ws` client does not check the server's answer itself (its `protocols`
 * argument would fail "Server sent no subprotocol"); resolves once open, with the
 * subprotocol header of the server's 101 response.
 */
async function offer (t: Test, url: string, offered: string): Promise<{ client: WsClient, selected: string | undefined }> {
  const ws = new WebSocket(url, { headers: { 'sec-websocket-protocol': offered } })
  t.teardown(() => ws.terminate())
  const client = new WsClient(ws)
  let selected: string | undefined
  ws.once('upgrade', (res) => { selected = res.headers['sec-websocket-protocol'] as string | undefined })
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject) })
  return { client, selected }
}

async function whoamiApp (t: Test, register?: (app: FastifyInstance) => Promise<void>): Promise<FastifyInstance> {
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  if (register !== undefined) await register(app)
  await app.register(socketspec, { auth: jwtAuth({ secret, algorithm: 'HS256' }) })
  app.socket.on('whoami', { reply: { event: 'me' } }, (conn: any) => ({ userId: conn.identity.userId }))
  return app
}

async function whoami (c: WsClient): Promise<string> {
  await c.next('__connect__')
  c.send('whoami', {}, '1')
  return (await c.next('me')).payload.userId
}

t.test('offered chat and bearer.<t>: no subprotocol is selected, the bearer entry still authenticates', async (t) => {
  const app = await whoamiApp(t)
  const url = await listen(t, app)
  const token = sign({ sub: 'alice' })

  const { client, selected } = await offer(t, url, `chat, bearer.${token}`)
  t.equal(selected, undefined, 'the 101 response carries no Sec-WebSocket-Protocol')
  t.equal(client.ws.protocol, '', 'ws.protocol is empty: chat was not selected')
  t.equal(await whoami(client), 'alice', 'authenticated through the bearer entry')
  const [server] = app.websocketServer.clients
  t.equal(server.protocol, '', 'the server side agrees')
})

t.test('offered socketspec and bearer.<t>: socketspec is selected', async (t) => {
  const app = await whoamiApp(t)
  const url = await listen(t, app)
  const token = sign({ sub: 'bob' })
  const c = await open(t, url, { protocols: ['socketspec', `bearer.${token}`] })
  t.equal(c.ws.protocol, 'socketspec')
  t.equal(await whoami(c), 'bob')
})

t.test('offered chat only: nothing is selected (and no token: AUTH_ERROR)', async (t) => {
  const app = await whoamiApp(t)
  const url = await listen(t, app)
  const { client, selected } = await offer(t, url, 'chat')
  t.equal(selected, undefined)
  t.equal(client.ws.protocol, '')
  t.equal((await client.next()).payload.code, 'AUTH_ERROR')
  t.equal((await client.closed).code, 4001)

  const strict = await open(t, url, { protocols: ['chat'] }).catch((e: Error) => e)
  t.match(strict, { message: /Server sent no subprotocol/ }, 'a client that checks the answer (ws, browsers) fails the handshake: offer socketspec')
})

t.test('no subprotocol offered: none selected, the connection works', async (t) => {
  const app = await build(t, {})
  const url = await listen(t, app)
  const c = await open(t, url)
  t.equal(c.ws.protocol, '')
  t.equal((await c.next()).event, '__connect__')
})

t.test('the app registered @fastify/websocket itself, without handleProtocols: the same rule', async (t) => {
  const app = await whoamiApp(t, async (app) => { await app.register(websocket) })
  const url = await listen(t, app)
  const token = sign({ sub: 'carol' })
  const { client, selected } = await offer(t, url, `chat, bearer.${token}`)
  t.equal(selected, undefined, 'chat is not selected')
  t.equal(await whoami(client), 'carol')
  const c = await open(t, url, { protocols: ['socketspec', `bearer.${token}`] })
  t.equal(c.ws.protocol, 'socketspec')
})

t.test("the app's own handleProtocols keeps deciding for its routes, not for socketspec's", async (t) => {
  const seen: string[] = []
  const app = await whoamiApp(t, async (app) => {
    await app.register(websocket, {
      options: {
        handleProtocols: (protocols, request) => {
          seen.push(request.url ?? '')
          return protocols.has('chat') ? 'chat' : false
        }
      }
    })
    app.get('/plain', { websocket: true }, (socket) => { socket.send(JSON.stringify({ event: 'plain', payload: {} })) })
  })
  const url = await listen(t, app)
  const token = sign({ sub: 'dave' })

  const { client, selected } = await offer(t, url + '?x=1', `chat, bearer.${token}`)
  t.equal(selected, undefined, "socketspec's route never selects chat")
  t.equal(await whoami(client), 'dave')
  const plain = await open(t, url.replace('/ws', '/plain'), { protocols: ['chat'] })
  t.equal(plain.ws.protocol, 'chat', "the app's route keeps its own rule")
  t.equal((await plain.next()).event, 'plain')
  t.same(seen, ['/plain'], "the app's handler only saw its own route")
})
