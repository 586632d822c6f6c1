// The docs UI in Chromium: try-it, connections, server events, the client SDK
// underneath, and its layout at 390 and 1280 px. Run by test/browser.test.ts.
import type { Test } from 'tap'
import { readFile, readdir } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import Fastify, { type FastifyInstance } from 'fastify'
import type { Page } from 'playwright-core'
import socketspec, { Type } from '../../../lib/index.js'
import { buildApp } from '../../../examples/chat/app.js'
import { controlsOutsideViewport, reachable, widthReport, type Chromium } from '../../helpers/chromium.js'

async function listen (t: Test, app: FastifyInstance): Promise<string> {
  t.teardown(() => app.close())
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as { port: number }
  return `http://127.0.0.1:${port}`
}

/** A fresh page on `url`; `errors` collects uncaught page errors. */
async function open (t: Test, chromium: Chromium, url: string, viewport = { width: 1280, height: 800 }): Promise<{ page: Page, errors: string[] }> {
  const opened = await chromium.open(t, url, { viewport })
  await opened.page.getByTestId('app-title').waitFor()
  return opened
}

async function connect (page: Page, index: number, token?: string): Promise<string> {
  if (token !== undefined) await page.getByTestId(`conn-token-${index}`).fill(token)
  await page.getByTestId(`connect-${index}`).click()
  return (await page.getByTestId(`conn-id-${index}`).innerText()).trim()
}

/** Small app with auth, a broadcast, a reply and a fast heartbeat (the chat example has none of these yet). */
async function shoutApp (shutdownTimeout = 5): Promise<FastifyInstance> {
  const app = Fastify({ logger: false })
  await app.register(socketspec, {
    path: '/ws',
    docs: true,
    docsUrl: '/docs',
    docsAccessToken: 'docs-secret',
    auth: { authenticate: ({ token }) => token === 'alice' || token === 'bob' ? { userId: token } : null },
    session: { heartbeatInterval: 0.3, heartbeatTimeout: 5 },
    shutdownTimeout
  })
  app.socket.on('shout', {
    payload: Type.Object({ text: Type.String({ minLength: 1, default: 'hi all' }) }),
    description: 'Send a message to every connection.',
    tags: ['chat'],
    emits: [{ event: 'shouted', schema: Type.Object({ text: Type.String(), from: Type.String() }) }]
  }, async (conn, payload) => {
    await app.socket.emit('shouted', { text: payload.text, from: String(conn.identity.userId) })
  })
  app.socket.on('add', {
    payload: Type.Object({ a: Type.Number({ default: 2 }), b: Type.Number({ default: 3 }) }),
    tags: ['math'],
    reply: { event: 'sum', schema: Type.Object({ result: Type.Number() }) }
  }, async (_conn, { a, b }) => ({ result: a + b }))
  return app
}

/** An app served on one port that can be stopped and served again, as a new instance, on that port. */
async function restartable (t: Test, make: () => Promise<FastifyInstance>): Promise<{ base: string, stop: () => Promise<void>, start: () => Promise<void> }> {
  let app = await make()
  t.teardown(() => app.close())
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as { port: number }
  return {
    base: `http://127.0.0.1:${port}`,
    stop: () => app.close(),
    start: async () => {
      app = await make()
      await app.listen({ port, host: '127.0.0.1' })
    }
  }
}

const uiDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'ui')

/** The docs UI's tests, in `t`, on tabs of `browser`. */
export function docsUiTests (t: Test, browser: Chromium): void {
  t.test('example app: connect, try echo, see the answer and a validation error inline', async (t) => {
    const base = await listen(t, await buildApp())
    const { page, errors } = await open(t, browser, `${base}/socket-docs`)

    await page.getByTestId('status-connect').waitFor()
    t.equal(await page.getByTestId('status-state').innerText(), 'Disconnected')
    const id = await connect(page, 0)
    t.match(id, /^[0-9a-f-]{36}$/, 'connection id from __connect__')
    t.equal(await page.getByTestId('status-connection-id').innerText(), id, 'status bar shows the connection id')
    t.equal(await page.getByTestId('status-state').innerText(), 'Connected')

    await page.getByTestId('event-toggle-echo').click()
    t.equal(await page.getByTestId('event-toggle-echo').getAttribute('aria-expanded'), 'true')
    const table = page.getByTestId('schema-echo')
    t.match(await table.innerText(), /echo\s+string\s+required/, 'schema table lists the payload field')
    await page.getByTestId('tryit-echo').click()
    const editor = page.getByTestId('editor-echo')
    t.same(JSON.parse(await editor.inputValue()), { echo: 'hello' }, 'editor prefilled from the schema default')

    await page.getByTestId('send-echo').click()
    const card = page.getByTestId('event-echo')
    const emitted = card.getByTestId('related-echo-frame')
    await emitted.waitFor()
    t.equal(await emitted.getAttribute('data-kind'), 'emit', 'echo_response is labelled as the emit the document declares')
    t.equal(await emitted.getAttribute('data-conn'), 'Connection 1')
    t.match(await emitted.innerText(), /echo_response[\s\S]*on Connection 1[\s\S]*"echo": "hello"[\s\S]*"from": "[0-9a-f-]{36}"/, 'the emitted frame is shown in the card')
    t.equal(await card.getByTestId('result-echo').locator('[data-kind]').count(), 0, 'an emit carries no id: it is not the request\'s answer')
    t.match(await card.getByTestId('result-echo').innerText(), /no reply declared/)

    await editor.fill('{"echo": 42}')
    await page.getByTestId('send-echo').click()
    const error = page.getByTestId('error-echo')
    await error.waitFor()
    const errorText = await error.innerText()
    t.match(errorText, /VALIDATION_ERROR/)
    t.match(errorText, /"path": "\/echo"/)
    const requestId = await card.locator('[data-testid="result-echo"]').first().getAttribute('data-request-id')
    t.match(errorText, `"request_id": "${requestId}"`, 'matched by the id the UI generated')

    const log = page.getByTestId('log')
    await log.locator('[data-dir="in"][data-event="__error__"]').waitFor()
    t.equal(await log.locator('[data-dir="out"][data-event="echo"]').count(), 2, 'outgoing frames are logged')
    t.equal(await log.locator('[data-dir="in"][data-event="__connect__"]').count(), 1, 'incoming frames are logged')
    t.match(await log.locator('[data-testid="log-frame"]').first().innerText(), /^\d\d:\d\d:\d\d\.\d{3}/, 'frames carry a timestamp')

    await page.getByTestId('status-disconnect').click()
    await page.getByTestId('status-connect').waitFor()
    t.equal(await page.getByTestId('status-state').innerText(), 'Disconnected')
    t.same(errors, [], 'no uncaught errors in the page')
  })

  t.test('two connections with their own tokens see a broadcast; errors stay in their card', async (t) => {
    const base = await listen(t, await shoutApp())
    const denied = await fetch(`${base}/docs/`)
    t.equal(denied.status, 401, 'docs need the access token')
    const { page, errors } = await open(t, browser, `${base}/docs?token=docs-secret`)
    t.equal(await page.getByTestId('app-title').innerText(), 'socketspec', 'the page, its assets and asyncapi.json load with ?token=')

    const first = await connect(page, 0, 'alice')
    await page.getByTestId('add-connection').click()
    const second = await connect(page, 1, 'bob')
    t.not(first, second)

    await page.getByTestId('add-connection').click()
    await page.getByTestId('conn-token-2').fill('mallory')
    await page.getByTestId('connect-2').click()
    t.match(await page.getByTestId('conn-close-2').innerText(), /4001/, 'a refused token shows the close code')

    await page.getByTestId('conn-select-0').check()
    await page.getByTestId('event-toggle-shout').click()
    await page.getByTestId('event-toggle-add').click()
    await page.getByTestId('tryit-shout').click()
    await page.getByTestId('tryit-add').click()
    t.same(JSON.parse(await page.getByTestId('editor-add').inputValue()), { a: 2, b: 3 })

    await page.getByTestId('send-shout').click()
    const log = page.getByTestId('log')
    await log.locator('[data-dir="in"][data-event="shouted"][data-conn="Connection 1"]').waitFor()
    await log.locator('[data-dir="in"][data-event="shouted"][data-conn="Connection 2"]').waitFor()
    t.pass('both connections received the broadcast')
    const shoutCard = page.getByTestId('event-shout')
    const shouted = shoutCard.getByTestId('related-shout-frame')
    await shouted.nth(1).waitFor()
    t.same((await shouted.evaluateAll((els) => els.map((e) => `${e.getAttribute('data-kind') ?? ''} ${e.getAttribute('data-conn') ?? ''}`))).sort(),
      ['emit Connection 1', 'emit Connection 2'], 'each copy is shown with the connection that received it')
    t.match(await shouted.first().innerText(), /"from": "alice"/)
    t.equal(await shoutCard.getByTestId('responses-shout').locator('[data-kind]').count(), 0, 'no emit is credited to the request')

    await page.getByTestId('send-add').click()
    await page.getByTestId('reply-add').waitFor()
    t.match(await page.getByTestId('reply-add').innerText(), /sum[\s\S]*"result": 5/, 'the reply is matched by id')

    await page.getByTestId('editor-shout').fill('{"text": ""}')
    await page.getByTestId('send-shout').click()
    await page.getByTestId('error-shout').waitFor()
    t.match(await page.getByTestId('error-shout').innerText(), /VALIDATION_ERROR/)
    t.equal(await page.getByTestId('event-add').locator('[data-kind="error"]').count(), 0, 'the error is not shown in another card')

    const pongs = log.locator('[data-dir="out"][data-event="__pong__"]')
    await pongs.first().waitFor()
    t.pass('__ping__ is answered with __pong__')
    await pongs.nth(2).waitFor() // three heartbeats of 0.3 s
    t.equal(await page.getByTestId('conn-state-0').innerText(), 'Connected', 'heartbeats keep the connection open')
    t.same(errors, [], 'no uncaught errors in the page')
  })

  /** Nothing widens the page, and every visible control lies inside the viewport. */
  async function fits (t: Test, page: Page, when: string) {
    const report = await widthReport(page)
    t.ok(report.scrollWidth <= report.innerWidth, `${when}: page ${report.scrollWidth} px wide in a ${report.innerWidth} px viewport`, { offenders: report.offenders })
    t.same(await controlsOutsideViewport(page), [], `${when}: every control inside the viewport horizontally`)
  }

  for (const width of [390, 1280]) {
    t.test(`${width} px wide: the page never scrolls sideways and every control is reachable`, async (t) => {
      const base = await listen(t, await buildApp())
      const { page, errors } = await open(t, browser, `${base}/socket-docs`, { width, height: width === 390 ? 844 : 800 })

      await fits(t, page, 'every card closed')
      await reachable(t, page, ['ws-url', 'status-connect', 'conn-token-0', 'connect-0', 'add-connection', 'log-filter', 'log-hide-heartbeats', 'log-clear',
        'event-toggle-join', 'server-event-toggle-user_joined', 'group-toggle-system'])

      await connect(page, 0)
      await page.getByTestId('add-connection').click()
      await connect(page, 1)
      await page.getByTestId('conn-select-0').check()
      await reachable(t, page, ['status-disconnect', 'disconnect-0', 'disconnect-1', 'conn-select-1', 'conn-remove-1'])

      await page.getByTestId('event-toggle-join').click()
      await fits(t, page, 'join card open')
      await page.getByTestId('tryit-join').click()
      await reachable(t, page, ['editor-join', 'send-join', 'reset-join', 'tryit-join'])
      await fits(t, page, 'JSON editor shown')
      await page.getByTestId('send-join').click()
      await page.getByTestId('reply-join').waitFor()
      await fits(t, page, 'reply shown')
      await reachable(t, page, ['clear-join'])

      // A long unbreakable value: the JSON blocks scroll inside their card.
      await page.getByTestId('event-toggle-echo').click()
      await page.getByTestId('tryit-echo').click()
      await page.getByTestId('editor-echo').fill(JSON.stringify({ echo: 'x'.repeat(400) }))
      await page.getByTestId('send-echo').click()
      await page.getByTestId('related-echo-frame').waitFor()
      await fits(t, page, 'emit with a 400-character value shown')
      const pre = page.getByTestId('related-echo-frame').locator('pre.json')
      t.ok(await pre.evaluate((el) => el.scrollWidth > el.clientWidth && getComputedStyle(el).overflowX === 'auto'), 'the JSON block scrolls inside its card')

      await page.getByTestId('server-event-toggle-user_joined').click()
      await page.getByTestId('group-toggle-system').click()
      await page.getByTestId('event-toggle-__error__').click()
      await page.getByTestId('error-codes').waitFor()
      await fits(t, page, 'server event card, system events and error codes open')
      const table = page.getByTestId('error-codes')
      t.equal(await table.evaluate((el) => getComputedStyle(el.parentElement as HTMLElement).overflowX), 'auto', 'tables scroll inside their card')
      await reachable(t, page, ['event-toggle-__error__', 'server-event-toggle-user_joined', 'send-echo', 'log-filter'])

      await page.getByTestId('log-filter').fill('join')
      await fits(t, page, 'log filtered')
      t.same(errors, [], 'no uncaught errors in the page')
    })
  }

  t.test('a broadcast another connection caused is never credited to the request', async (t) => {
    const base = await listen(t, await buildApp())
    const { page, errors } = await open(t, browser, `${base}/socket-docs`)
    await connect(page, 0)
    await page.getByTestId('add-connection').click()
    const second = await connect(page, 1)

    await page.getByTestId('conn-select-0').check()
    await page.getByTestId('event-toggle-join').click()
    await page.getByTestId('tryit-join').click()
    await page.getByTestId('send-join').click()
    const card = page.getByTestId('event-join')
    const firstResult = card.getByTestId('result-join').first()
    await firstResult.locator('[data-kind="reply"]').waitFor()
    t.equal(await firstResult.getAttribute('data-conn'), 'Connection 1')

    // Connection 2 joins the same room: connection 1 receives user_joined, a broadcast without id.
    await page.getByTestId('conn-select-1').check()
    await page.getByTestId('send-join').click()
    const broadcast = card.getByTestId('related-join-frame')
    await broadcast.waitFor()
    // Request ids are chosen per connection by the client SDK: the result is told apart by its connection.
    await card.locator('[data-testid="result-join"][data-conn="Connection 2"] [data-kind="reply"]').waitFor()

    const mine = card.locator('[data-testid="result-join"][data-conn="Connection 1"]')
    t.match(await mine.innerText(), /via Connection 1/)
    t.same(await mine.locator('[data-kind]').evaluateAll((els) => els.map((e) => `${e.getAttribute('data-kind') ?? ''} ${e.getAttribute('data-event') ?? ''}`)),
      ['reply joined'], 'connection 1\'s request shows only its reply, matched by id')
    t.notMatch(await mine.innerText(), /user_joined/, 'the broadcast is not shown as its answer')
    t.equal(await card.getByTestId('responses-join').locator('[data-kind="broadcast"], [data-kind="emit"]').count(), 0, 'no broadcast among the responses')

    t.equal(await broadcast.count(), 1, 'the sender of the join gets no copy of its own broadcast')
    t.equal(await broadcast.getAttribute('data-kind'), 'broadcast', 'labelled as the document declares it')
    t.equal(await broadcast.getAttribute('data-event'), 'user_joined')
    t.equal(await broadcast.getAttribute('data-conn'), 'Connection 1', 'with the connection that received it')
    const text = await broadcast.innerText()
    t.match(text, /BROADCAST[\s\S]*user_joined[\s\S]*on Connection 1/)
    t.match(text, `"id": "${second}"`, 'it is about connection 2')
    t.notMatch(text, /\d+\s*ms\b/, 'no latency is attributed to it')
    t.same(errors, [], 'no uncaught errors in the page')
  })

  t.test('server → client events have cards with schema, room and the frames each connection received', async (t) => {
    const app = await buildApp()
    const base = await listen(t, app)
    const doc = await (await fetch(`${base}/socket-docs/asyncapi.json`)).json() as { operations: Record<string, Record<string, any>> }
    // What the document declares, read independently of the UI's own model.
    const declared = new Set<string>()
    for (const op of Object.values(doc.operations)) {
      if (op.action !== 'receive' || op['x-socketspec-system'] === true) continue
      for (const e of [...(op['x-socketspec-emits'] ?? []), ...(op['x-socketspec-broadcasts'] ?? [])]) declared.add(e.event)
      if (op['x-socketspec-reply'] !== undefined) declared.add(op['x-socketspec-reply'].event)
    }
    t.ok(['echo_response', 'user_joined', 'joined', 'members'].every((e) => declared.has(e)))

    const { page, errors } = await open(t, browser, `${base}/socket-docs`)
    const group = page.getByTestId('group-server')
    const cards = await group.locator('section.card').evaluateAll((els) => els.map((e) => (e.getAttribute('data-testid') ?? '').replace(/^server-event-/, '')))
    t.same(cards.sort(), [...declared].sort(), 'every declared emit, broadcast and reply has a card')
    t.equal(await page.getByTestId('event-members').count(), 1, 'the client event members keeps its own card…')
    t.equal(await page.getByTestId('server-event-members').count(), 1, '…next to the card of its reply members')

    await page.getByTestId('server-event-toggle-user_joined').click()
    const userJoined = page.getByTestId('server-event-user_joined')
    t.match(await userJoined.innerText(), /Tells the other members who joined\./, 'description')
    t.equal(await page.getByTestId('server-event-kind-user_joined').innerText(), 'broadcast')
    t.equal(await page.getByTestId('server-event-room-user_joined').innerText(), '{room}', 'room pattern')
    t.equal(await page.getByTestId('server-event-caused-user_joined').innerText(), 'join')
    const rows = await page.getByTestId('server-schema-user_joined').locator('tbody tr').evaluateAll((els) => els.map((e) => (e as HTMLElement).innerText.replace(/\s+/g, ' ').trim()))
    t.same(rows, ['room string required', 'id string required', 'name string required'], 'schema table of the payload')

    await page.getByTestId('server-event-toggle-joined').click()
    t.match(await page.getByTestId('server-event-kind-joined').innerText(), /^reply/)
    t.match(await page.getByTestId('server-schema-joined').innerText(), /members\s+array<string>\s+required/)
    await page.getByTestId('server-event-toggle-echo_response').click()
    t.match(await page.getByTestId('server-event-echo_response').innerText(), /The same text, and who sent it\./)

    await connect(page, 0)
    await page.getByTestId('add-connection').click()
    await connect(page, 1)
    await page.getByTestId('event-toggle-join').click()
    await page.getByTestId('tryit-join').click()
    for (const index of [0, 1]) {
      await page.getByTestId(`conn-select-${index}`).check()
      await page.getByTestId('send-join').click()
      await page.getByTestId('result-join').first().locator('[data-kind="reply"]').waitFor()
    }
    await page.getByTestId('conn-select-0').check()
    await page.getByTestId('event-toggle-echo').click()
    await page.getByTestId('tryit-echo').click()
    await page.getByTestId('send-echo').click()

    const framesOf = async (event: string, count: number) => {
      const frames = page.getByTestId(`server-frames-${event}-frame`)
      await frames.nth(count - 1).waitFor()
      return frames.evaluateAll((els) => els.map((e) => `${e.getAttribute('data-kind') ?? ''} ${e.getAttribute('data-conn') ?? ''}`))
    }
    t.same(await framesOf('user_joined', 1), ['broadcast Connection 1'], 'the broadcast, on the connection that received it')
    t.equal(await page.getByTestId('server-frames-user_joined-counts').innerText(), 'Connection 1: 1')
    t.equal(await page.getByTestId('server-event-count-user_joined').innerText(), '1 received', 'count in the card header')
    t.same((await framesOf('joined', 2)).sort(), ['reply Connection 1', 'reply Connection 2'], 'each connection\'s reply')
    t.match(await page.getByTestId('server-frames-joined-frame').first().innerText(), /answers join id \d+/, 'a reply names the request it answers')
    t.same(await framesOf('echo_response', 1), ['emit Connection 1'])
    t.same([...new Set(await page.getByTestId('server-frames-joined-frame').evaluateAll((els) => els.map((e) => e.getAttribute('data-event'))))], ['joined'], 'each card lists only its own event')

    await page.getByTestId('server-frames-user_joined-clear').click()
    t.equal(await page.getByTestId('server-frames-user_joined-frame').count(), 0, 'clear')
    t.same(errors, [], 'no uncaught errors in the page')
  })
  t.test('connections run on the client SDK: a server restart reconnects by itself, Disconnect does not', async (t) => {
    // shutdownTimeout 0: __server_shutdown__ says retry after 1 s, so the restart is quick.
    const server = await restartable(t, () => shoutApp(0))
    const { page, errors } = await open(t, browser, `${server.base}/docs?token=docs-secret`)
    const first = await connect(page, 0, 'alice')
    await page.getByTestId('add-connection').click()
    const second = await connect(page, 1, 'bob')
    await page.getByTestId('conn-select-0').check()
    await page.getByTestId('event-toggle-add').click()
    await page.getByTestId('tryit-add').click()

    await server.stop()
    const bar = page.getByTestId('status-bar')
    await page.locator('[data-testid="status-bar"][data-state="reconnecting"]').waitFor()
    t.equal(await page.getByTestId('status-state').innerText(), 'Reconnecting…', 'nobody clicked anything: the SDK retries')
    t.match(await page.getByTestId('status-retry').innerText(), /^attempt \d+ · (next try in \d+\.\d s|trying…)$/, 'the attempt and its countdown')
    t.match(await page.getByTestId('status-close').innerText(), /^last close 100[16]\b/, 'the close that caused it')
    await page.locator('[data-testid="conn-1"][data-state="reconnecting"]').waitFor()
    t.pass('every connection reconnects on its own')
    t.equal(await bar.getByTestId('status-connect').count(), 0, 'no Connect button while the client retries…')
    t.equal(await bar.getByTestId('status-disconnect').count(), 1, '…but Disconnect, to stop it')

    // Sent while the server is down: the SDK queues it and sends it once connected.
    await page.getByTestId('send-add').click()
    const queued = page.getByTestId('result-add').first()
    await page.locator('[data-testid="result-add"][data-status="queued"]').waitFor()
    t.match(await queued.innerText(), /queued: sent once connected/)
    t.equal(await page.locator('[data-testid="log"] [data-dir="out"][data-event="add"]').count(), 0, 'nothing went out yet')

    await server.start()
    await page.locator('[data-testid="status-bar"][data-state="open"]').waitFor({ timeout: 15_000 })
    const renewed = (await page.getByTestId('status-connection-id').innerText()).trim()
    t.match(renewed, /^[0-9a-f-]{36}$/)
    t.not(renewed, first, 'a new connection id from the new server')
    t.equal(await page.getByTestId('conn-id-0').innerText(), renewed)
    await page.locator('[data-testid="conn-1"][data-state="open"]').waitFor({ timeout: 15_000 })
    t.not(await page.getByTestId('conn-id-1').innerText(), second, 'connection 2 is back too, with its token')
    await page.getByTestId('reply-add').waitFor()
    t.match(await page.getByTestId('reply-add').innerText(), /sum[\s\S]*"result": 5/, 'the queued request is answered, matched by id')
    t.equal(await queued.getAttribute('data-status'), 'answered')
    t.match(await queued.getAttribute('data-request-id') ?? '', /^\d+$/, 'the id the SDK gave it')
    const log = page.getByTestId('log')
    t.ok(await log.locator('[data-dir="info"]', { hasText: /reconnecting in \d+ ms \(attempt 1\)/ }).count() >= 1, 'the log says why and when it retries')
    t.ok(await log.locator('[data-dir="info"]', { hasText: `reconnected as ${renewed}` }).count() >= 1, 'and that it is back')
    t.equal(await log.locator('[data-dir="in"][data-event="__connect__"][data-conn="Connection 1"]').count(), 2, 'every frame is logged, across connections')

    // An event with a reply: request() rejects with the server's __error__ for its id, shown inline.
    await page.getByTestId('editor-add').fill('{"a": "two"}')
    await page.getByTestId('send-add').click()
    await page.getByTestId('error-add').waitFor()
    const invalid = page.getByTestId('result-add').first()
    t.equal(await invalid.getAttribute('data-status'), 'error')
    const errorText = await page.getByTestId('error-add').innerText()
    t.match(errorText, /VALIDATION_ERROR[\s\S]*"path": "\/a"/)
    t.match(errorText, `"request_id": "${await invalid.getAttribute('data-request-id') ?? '?'}"`, 'the error for that request\'s id')

    // Disconnect is client.close(): the next restart brings back connection 2 only.
    await page.getByTestId('disconnect-0').click()
    await page.locator('[data-testid="conn-0"][data-state="disconnected"]').waitFor()
    t.equal(await page.getByTestId('conn-state-0').innerText(), 'Disconnected')
    t.match(await page.getByTestId('conn-close-0').innerText(), /1000/)
    await server.stop()
    await page.locator('[data-testid="conn-1"][data-state="reconnecting"]').waitFor()
    await server.start()
    await page.locator('[data-testid="conn-1"][data-state="open"]').waitFor({ timeout: 15_000 })
    t.equal(await page.getByTestId('conn-state-0').innerText(), 'Disconnected', 'a closed connection stays closed')
    t.equal(await log.locator('[data-dir="in"][data-event="__connect__"][data-conn="Connection 1"]').count(), 2, 'it never connected again')

    // A URL the browser refuses: told inline, no uncaught error.
    await page.getByTestId('ws-url').fill('ftp://127.0.0.1/ws')
    await page.getByTestId('connect-0').click()
    await page.getByTestId('conn-close-0').filter({ hasText: 'cannot connect' }).waitFor()
    t.match(await page.getByTestId('conn-close-0').innerText(), /cannot connect: .*scheme/, 'the browser\'s reason')
    t.equal(await page.getByTestId('conn-state-0').innerText(), 'Disconnected')
    t.same(errors, [], 'no uncaught errors in the page')
  })

  t.test('the UI has no WebSocket code of its own: the built bundle carries the client SDK', async (t) => {
    const sources: string[] = []
    const walk = async (dir: string): Promise<void> => {
      for (const entry of await readdir(dir, { withFileTypes: true })) {
        if (entry.isDirectory()) await walk(join(dir, entry.name))
        else if (/\.tsx?$/.test(entry.name)) sources.push(join(dir, entry.name))
      }
    }
    await walk(join(uiDir, 'src'))
    t.ok(sources.length > 5, `${sources.length} source files`)
    for (const file of sources) t.notMatch(await readFile(file, 'utf8'), /new WebSocket\s*\(/, `${file.slice(uiDir.length + 1)} opens no WebSocket`)
    t.match(await readFile(join(uiDir, 'src', 'store.ts'), 'utf8'), /from '\.\.\/\.\.\/lib\/client\/browser\.js'/, 'the store imports the browser entry of the SDK')

    const assets = (await readdir(join(uiDir, 'dist', 'assets'))).filter((f) => f.endsWith('.js'))
    t.equal(assets.length, 1, 'one script')
    const bundle = await readFile(join(uiDir, 'dist', 'assets', assets[0]), 'utf8')
    for (const marker of ['globalThis.WebSocket', 'bearer.', '__resume__', '__refresh_auth__', '__ack__']) t.ok(bundle.includes(marker), `the bundle contains the SDK's ${marker}`)
  })
}
