// The client SDK in a real browser (SPEC §11): the built bundle in a page under
// a strict CSP, the token as the `bearer.<t>` subprotocol, reconnects across a
// server process that is killed and started again, and the chat example's page
// used by two people. Servers listen on 127.0.0.1; Chromium is the system one.
// Run by test/browser.test.ts.
import type { Test } from 'tap'
import net from 'node:net'
import { createSigner } from 'fast-jwt'
import type { FastifyInstance } from 'fastify'
import type { JSHandle, Page } from 'playwright-core'
import type * as Sdk from '../../../lib/client/browser.js'
import type { ClientState, ReconnectOptions, SocketspecClient } from '../../../lib/client/browser.js'
import { jwtAuth } from '../../../lib/index.js'
import { buildApp } from '../../../examples/chat/app.js'
import { buildBrowserTestApp, type BrowserTestContract } from '../../fixtures/browser/app.js'
import { controlsOutsideViewport, ensureClientBuilt, widthReport, type Chromium } from '../../helpers/chromium.js'
import { freePort } from '../../helpers/project.js'
import { serverProcess } from '../../helpers/server-process.js'

/** The chat example's server, and the modules it imports (loaded before it is asked to listen). */
const CHAT_SERVER = ['examples/chat/server.ts', ['examples/chat/app.ts']] as const
/** The browser test app's server. */
const TEST_SERVER = ['test/fixtures/browser/server.ts', ['test/fixtures/browser/app.ts']] as const
const SECRET = 'browser-test-secret-of-32-bytes!'
const sign = createSigner({ key: SECRET, algorithm: 'HS256', expiresIn: 60_000 })

/** What a page keeps of its client: every state change, the `noted` frames, and every socket the browser opened for it. */
interface Probe {
  sdk: typeof Sdk
  client: SocketspecClient<BrowserTestContract>
  states: Array<{ state: ClientState, code?: number, attempt: number, delay?: number, connectionId?: string, error?: string }>
  noted: Array<{ n: number, text: string, connection: string }>
  sockets: WebSocket[]
  /** A request made while the server was down. */
  asked?: Promise<{ notes: Array<{ n: number, text: string, connection: string }> }>
}

/** Import the built client into `page` (as an app would: a module from its own server) and connect to `url`. */
async function startClient (page: Page, url: string, options: { token?: string, reconnect?: ReconnectOptions, requestTimeout?: number } = {}): Promise<JSHandle<Probe>> {
  return page.evaluateHandle(async ({ url, options }) => {
    const sdk: typeof Sdk = await import('/socketspec-client.js' as string)
    // The browser's own WebSocket, only watched: the SDK picks up the global one when it connects.
    const sockets: WebSocket[] = []
    const Native = window.WebSocket
    window.WebSocket = class Watched extends Native {
      constructor (url: string | URL, protocols?: string | string[]) {
        super(url, protocols)
        sockets.push(this)
      }
    }
    const client = sdk.connect<BrowserTestContract>(url, options)
    window.WebSocket = Native
    const probe: Probe = { sdk, client, states: [], noted: [], sockets }
    client.onState((state, info) => {
      probe.states.push({ state, code: info.code, attempt: info.attempt, delay: info.delay, connectionId: info.connectionId, error: (info.error as { code?: string } | undefined)?.code })
    })
    client.on('noted', (payload) => { probe.noted.push(payload) })
    return probe
  }, { url, options })
}

async function listen (t: Test, app: FastifyInstance): Promise<number> {
  t.teardown(() => app.close())
  await app.listen({ port: 0, host: '127.0.0.1' })
  return (app.server.address() as net.AddressInfo).port
}

/** A page in a context of its own (its own cookies and storage: another user); `errors` collects uncaught page errors. */
function open (t: Test, browser: Chromium, url: string): Promise<{ page: Page, errors: string[] }> {
  return browser.open(t, url, { timeout: 30_000 })
}

/**
 * A server script, as processes of their own on one port: the first listens
 * now, the second has loaded its modules and listens once the test starts it
 * (after it killed the first).
 */
async function serverAndSuccessor (t: Test, [script, imports]: readonly [string, readonly string[]], port: number) {
  const first = serverProcess(t, script, port, [...imports])
  const next = serverProcess(t, script, port, [...imports])
  await first.listen()
  return [first, next] as const
}

/** The chat page and the client bundle, served by the example app (no browser). */
export function clientServedTests (t: Test): void {
  t.test('the chat page and the client bundle are served next to the example app', async (t) => {
    ensureClientBuilt()
    const app = await buildApp()
    t.teardown(() => app.close())

    const index = await app.inject('/')
    t.equal(index.statusCode, 200)
    t.match(index.headers['content-type'], /text\/html/)
    t.match(index.headers['content-security-policy'], /script-src 'self'/, 'a strict CSP')
    t.match(index.body, /<script type="module" src="chat.js"><\/script>/)
    t.notMatch(index.body, /<script(?![^>]*\ssrc=)[^>]*>/, 'no inline script')
    t.notMatch(index.body, /\son[a-z]+=/i, 'no inline event handler')

    const chat = await app.inject('/chat.js')
    t.equal(chat.statusCode, 200)
    t.match(chat.headers['content-type'], /javascript/)
    t.match(chat.body, /import\('\.\/socketspec-client\.js'\)/, 'the page loads the SDK from its own server')

    const bundle = await app.inject('/socketspec-client.js')
    t.equal(bundle.statusCode, 200)
    t.match(bundle.headers['content-type'], /javascript/)
    t.notMatch(bundle.body, /^\s*import[\s{*'"]/m, 'the bundle imports nothing')
    t.match(bundle.body, /export\s*\{[^}]*\bconnect\b/, 'and exports connect')

    t.equal((await app.inject('/chat.css')).statusCode, 200)
    t.equal((await app.inject('/socket-docs/asyncapi.json')).statusCode, 200, 'the docs routes are still there')
  })
}

/** The client SDK's tests in `browser` (the client bundle built: ensureClientBuilt()). */
export function clientSdkTests (t: Test, browser: Chromium): void {
  t.test('the built client in a page: the token as the bearer.<t> subprotocol, request/reply, AUTH_ERROR', async (t) => {
    const app = await buildBrowserTestApp({ auth: jwtAuth({ secret: SECRET, algorithm: 'HS256' }) })
    const port = await listen(t, app)
    const { page, errors } = await open(t, browser, `http://127.0.0.1:${port}/`)
    const url = `ws://127.0.0.1:${port}/ws`
    const token = sign({ sub: 'alice' })

    const probe = await startClient(page, url, { token })
    const id = await page.evaluate(async (p) => { await p.client.ready; return p.client.connectionId }, probe)
    t.match(id, /^[0-9a-f-]{36}$/)
    t.same(await page.evaluate((p) => p.sockets.map(ws => ws.protocol), probe), ['socketspec'], 'the browser got the socketspec subprotocol')
    const conn = app.socket.connection(id as string)
    t.ok(conn, 'the page is connected to this server')
    t.same(conn?.headers['sec-websocket-protocol']?.split(/,\s*/), ['socketspec', `bearer.${token}`], 'the token travelled as the bearer.<t> subprotocol entry')
    t.equal(conn?.headers.authorization, undefined, 'not as a header')
    t.equal(conn?.query.token, undefined, 'nor in the query')
    t.equal(conn?.identity.userId, 'alice')

    t.same(await page.evaluate((p) => p.client.request('whoami'), probe), { userId: 'alice' })
    t.same(await page.evaluate((p) => p.client.request('add', { a: 2, b: 3 }), probe), { sum: 5 })
    const refused = await page.evaluate(async (p) => {
      const err = await p.client.request('add', { a: 'two' as unknown as number, b: 3 }).catch((e: unknown) => e)
      const { code, message, details } = err as Sdk.SocketError
      return { isSocketError: p.sdk.isSocketError(err), instance: err instanceof p.sdk.SocketError, code, message, details }
    }, probe)
    t.match(refused, { isSocketError: true, instance: true, code: 'VALIDATION_ERROR', message: String, details: { errors: [{ path: '/a' }] } }, 'a refused request rejects with the server\'s SocketError')

    const other = createSigner({ key: 'another-secret-of-32-bytes-long!', algorithm: 'HS256' })({ sub: 'mallory' })
    const bad = await startClient(page, url, { token: other })
    const ended = await page.evaluate(async (p) => {
      const err = await p.client.ready.then(() => undefined, (e: { code: string, closeCode: number }) => ({ code: e.code, closeCode: e.closeCode }))
      return { err, state: p.client.state, states: p.states, protocols: p.sockets.map(ws => ws.protocol) }
    }, bad)
    t.same(ended.err, { code: 'AUTH_ERROR', closeCode: 4001 }, '`ready` rejects with AUTH_ERROR')
    t.equal(ended.state, 'closed')
    t.match(ended.states, [{ state: 'closed', code: 4001, error: 'AUTH_ERROR' }], 'closed with AUTH_ERROR, no reconnect for a string token')
    t.equal(ended.states.length, 1)
    t.same(ended.protocols, ['socketspec'], 'one socket only')
    t.equal(await page.evaluate((p) => p.client.state, probe), 'open', 'the good client is unaffected')
    t.same(errors, [], 'no page errors')
  })

  t.test('a killed and restarted server: open → reconnecting → open, a new connection id, queued frames delivered in order', async (t) => {
    const port = await freePort()
    const [server, restarted] = await serverAndSuccessor(t, TEST_SERVER, port)
    const { page, errors } = await open(t, browser, `http://127.0.0.1:${port}/`)
    const probe = await startClient(page, `ws://127.0.0.1:${port}/ws`, { reconnect: { minDelay: 100, maxDelay: 500 }, requestTimeout: 60_000 })
    const first = await page.evaluate(async (p) => { await p.client.ready; return p.client.connectionId }, probe)
    await page.evaluate((p) => p.client.send('note', { n: 0, text: 'before' }), probe)
    await page.waitForFunction((p) => p.noted.length === 1, probe)

    await server.kill()
    await page.waitForFunction((p) => p.client.state === 'reconnecting', probe)
    // Sent while the server is gone: queued, then sent in order after the next __connect__.
    await page.evaluate((p) => {
      for (let n = 1; n <= 5; n++) p.client.send('note', { n, text: `queued ${n}` })
      p.asked = p.client.request('notes')
    }, probe)
    t.equal(await page.evaluate((p) => p.client.state, probe), 'reconnecting', 'still down while queueing')

    await restarted.listen()
    await page.waitForFunction(([p, first]) => p.client.state === 'open' && p.client.connectionId !== first, [probe, first] as const)
    const second = await page.evaluate((p) => p.client.connectionId, probe)
    t.match(second, /^[0-9a-f-]{36}$/)
    t.not(second, first, 'a new connection')

    const { notes } = await page.evaluate((p) => p.asked as NonNullable<typeof p.asked>, probe)
    t.same(notes, [1, 2, 3, 4, 5].map(n => ({ n, text: `queued ${n}`, connection: second })), 'the restarted server got the queued frames, in order, on the new connection')
    await page.waitForFunction((p) => p.noted.length === 6, probe)
    t.same(await page.evaluate((p) => p.noted.map(f => [f.n, f.connection]), probe), [[0, first], ...[1, 2, 3, 4, 5].map(n => [n, second])], 'and answered them in order')

    const states = await page.evaluate((p) => p.states, probe)
    t.match(states[0], { state: 'open', connectionId: first, attempt: 0 })
    t.match(states.at(-1), { state: 'open', connectionId: second })
    const down = states.slice(1, -1)
    t.ok(down.length >= 1, `reconnecting while the server was down (${down.length} attempts)`)
    t.ok(down.every(s => s.state === 'reconnecting'), 'every state in between is reconnecting')
    t.equal(down[0].code, 1006, 'the kill is an abnormal close')
    t.same(down.map(s => s.attempt), down.map((_, i) => i + 1), 'attempts count up')
    t.ok(down.every(s => s.delay !== undefined && s.delay >= 50 && s.delay <= 750), `delays within minDelay/maxDelay ± jitter: ${down.map(s => s.delay).join(', ')}`)
    t.same(errors, [], 'no page errors')
  })

  t.test('the chat page: two people chat, the server restarts, both see it and chat on', async (t) => {
    const port = await freePort()
    const [server, restarted] = await serverAndSuccessor(t, CHAT_SERVER, port)
    const base = `http://127.0.0.1:${port}/`
    const alice = await open(t, browser, base)
    const bob = await open(t, browser, base)
    const status = (page: Page) => page.getByTestId('status').innerText()
    const line = (page: Page, kind: string, text: string) => page.locator(`#messages li.${kind}`, { hasText: text }).first().waitFor()
    const message = (page: Page, who: string, text: string) =>
      page.locator('#messages li.message', { hasText: text }).filter({ has: page.locator('.who', { hasText: who }) }).first().waitFor()
    const say = async (page: Page, text: string) => {
      await page.getByTestId('text').fill(text)
      await page.getByTestId('text').press('Enter')
    }
    const enter = async (page: Page, name: string) => {
      await page.getByTestId('name').fill(name)
      await page.getByTestId('room').fill('general')
      await page.getByTestId('join').click()
      await line(page, 'system', 'Joined #general')
    }

    for (const p of [alice.page, bob.page]) t.equal(await status(p), 'Not connected')
    await enter(alice.page, 'alice')
    await enter(bob.page, 'bob')
    await line(alice.page, 'system', 'bob joined')
    for (const p of [alice.page, bob.page]) {
      t.equal(await status(p), 'Connected')
      t.equal(await p.getByTestId('room-title').innerText(), '#general')
      t.notOk(await p.getByTestId('join-form').isVisible(), 'the join form gives way to the room')
    }
    await say(alice.page, 'hello bob')
    await message(bob.page, 'alice', 'hello bob')
    await message(alice.page, 'alice', 'hello bob')
    t.pass('a message typed by alice reaches bob')

    await server.kill()
    for (const p of [alice.page, bob.page]) {
      await p.waitForFunction(() => /^Reconnecting in \d+ s \(attempt \d+\)$/.test(document.getElementById('status')?.textContent ?? ''), undefined, { polling: 50 })
      await line(p, 'system', 'Connection lost')
    }
    t.pass('both pages say they are reconnecting, with the delay and the attempt')
    await say(bob.page, 'typed while down')
    await line(bob.page, 'pending', 'typed while down')

    await restarted.listen()
    for (const p of [alice.page, bob.page]) {
      await line(p, 'system', 'Back in #general')
      t.equal(await status(p), 'Reconnected')
      t.equal(await p.getByTestId('status').getAttribute('data-state'), 'open')
    }
    await message(bob.page, 'bob', 'typed while down')
    t.equal(await bob.page.locator('#messages li.pending').count(), 0, 'what bob typed while down was sent once back in the room')

    await say(bob.page, 'still here')
    await message(alice.page, 'bob', 'still here')
    await say(alice.page, 'welcome back')
    await message(bob.page, 'alice', 'welcome back')
    t.pass('they chat on after the restart')
    t.same(alice.errors, [], 'no page errors (alice)')
    t.same(bob.errors, [], 'no page errors (bob)')
  })

  t.test('the chat page after an idle close (4005): says so, and the next message reconnects and is delivered', async (t) => {
    const port = await listen(t, await buildApp({ session: { idleTimeout: 1.5 } }))
    const { page, errors } = await open(t, browser, `http://127.0.0.1:${port}/`)
    await page.getByTestId('name').fill('carol')
    await page.getByTestId('join').click()
    await page.locator('#messages li.system', { hasText: 'Joined #lobby' }).waitFor()
    const first = await page.getByTestId('status').getAttribute('data-connection-id')

    await page.waitForFunction(() => document.getElementById('status')?.dataset.state === 'closed')
    t.match(await page.getByTestId('status').innerText(), /send one to reconnect/, 'the status tells how to come back')
    await page.getByTestId('text').fill('anyone here?')
    await page.getByTestId('text').press('Enter')
    await page.locator('#messages li.system', { hasText: 'Back in #lobby' }).waitFor()
    t.equal(await page.getByTestId('status').innerText(), 'Reconnected')
    t.not(await page.getByTestId('status').getAttribute('data-connection-id'), first, 'on a new connection')
    await page.locator('#messages li.message', { hasText: 'anyone here?' }).waitFor()

    await page.setViewportSize({ width: 360, height: 640 })
    const width = await widthReport(page)
    t.ok(width.scrollWidth <= width.innerWidth, `nothing widens the page on a phone: ${JSON.stringify(width)}`)
    t.same(await controlsOutsideViewport(page), [])
    t.same(errors, [], 'no page errors')
  })
}
