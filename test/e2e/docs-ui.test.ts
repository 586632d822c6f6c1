import t, { type Test } from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import type { Browser, Page } from 'playwright-core'
import socketspec, { Type } from '../../lib/index.js'
import { buildApp } from '../../examples/chat/app.js'
import { chromiumSkipReason, ensureUiBuilt, launchChromium } from '../helpers/chromium.js'

const skip = chromiumSkipReason()

async function listen (t: Test, app: FastifyInstance): Promise<string> {
  t.teardown(() => app.close())
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as { port: number }
  return `http://127.0.0.1:${port}`
}

/** A fresh page on `url`; `errors` collects uncaught page errors. */
async function open (t: Test, browser: Browser, url: string): Promise<{ page: Page, errors: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } })
  t.teardown(() => context.close())
  const page = await context.newPage()
  page.setDefaultTimeout(10_000)
  const errors: string[] = []
  page.on('pageerror', (err) => errors.push(err.message))
  await page.goto(url)
  await page.getByTestId('app-title').waitFor()
  return { page, errors }
}

async function connect (page: Page, index: number, token?: string): Promise<string> {
  if (token !== undefined) await page.getByTestId(`conn-token-${index}`).fill(token)
  await page.getByTestId(`connect-${index}`).click()
  return (await page.getByTestId(`conn-id-${index}`).innerText()).trim()
}

/** Small app with auth, a broadcast, a reply and a fast heartbeat (the chat example has none of these yet). */
async function shoutApp (): Promise<FastifyInstance> {
  const app = Fastify({ logger: false })
  await app.register(socketspec, {
    path: '/ws',
    docs: true,
    docsUrl: '/docs',
    docsAccessToken: 'docs-secret',
    auth: { authenticate: ({ token }) => token === 'alice' || token === 'bob' ? { userId: token } : null },
    session: { heartbeatInterval: 0.3, heartbeatTimeout: 5 }
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

if (skip !== null) {
  t.comment(`skipping docs UI browser tests: ${skip}`)
  t.plan(0, skip)
} else {
  ensureUiBuilt()
  let browser: Browser
  t.before(async () => { browser = await launchChromium(t) })

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
    const answer = card.locator('[data-kind="reply"], [data-kind="emit"]').first()
    await answer.waitFor()
    t.match(await answer.innerText(), /echo_response[\s\S]*"echo": "hello"[\s\S]*"from": "[0-9a-f-]{36}"/, 'the answer is shown inline')

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
    t.equal(await page.getByTestId('app-title').innerText(), 'socketspec API', 'the page, its assets and asyncapi.json load with ?token=')

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
    await shoutCard.locator('[data-kind="emit"]').waitFor()
    t.equal(await shoutCard.locator('[data-kind="emit"]').count(), 1, 'only the sender connection\'s copy is shown in the card')
    t.match(await shoutCard.locator('[data-kind="emit"]').innerText(), /"from": "alice"/)

    await page.getByTestId('send-add').click()
    await page.getByTestId('reply-add').waitFor()
    t.match(await page.getByTestId('reply-add').innerText(), /sum[\s\S]*"result": 5/, 'the reply is matched by id')

    await page.getByTestId('editor-shout').fill('{"text": ""}')
    await page.getByTestId('send-shout').click()
    await page.getByTestId('error-shout').waitFor()
    t.match(await page.getByTestId('error-shout').innerText(), /VALIDATION_ERROR/)
    t.equal(await page.getByTestId('event-add').locator('[data-kind="error"]').count(), 0, 'the error is not shown in another card')

    await log.locator('[data-dir="out"][data-event="__pong__"]').first().waitFor()
    t.pass('__ping__ is answered with __pong__')
    await page.waitForTimeout(700)
    t.equal(await page.getByTestId('conn-state-0').innerText(), 'Connected', 'heartbeats keep the connection open')
    t.same(errors, [], 'no uncaught errors in the page')
  })
}
