// The docs UI's Admin tab in Chromium: token prompt, connections and rooms,
// broadcast, disconnect, and its layout at 390 and 1280 px. Run by
// test/browser.test.ts.
import type { Test } from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import type { Page } from 'playwright-core'
import socketspec from '../../../lib/index.js'
import { ADMIN_TOKEN, DOCS_TOKEN, buildAdminApp } from '../../fixtures/admin/app.js'
import { controlsOutsideViewport, reachable, widthReport, type Chromium } from '../../helpers/chromium.js'
import { connectedClient, requestReply } from '../../helpers/ws-client.js'
const ADMIN = ADMIN_TOKEN
const DOCS = DOCS_TOKEN

async function adminApp (t: Test): Promise<{ app: FastifyInstance, base: string, ws: string }> {
  const app = await buildAdminApp(t)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as { port: number }
  return { app, base: `http://127.0.0.1:${port}`, ws: `ws://127.0.0.1:${port}/ws` }
}

async function open (t: Test, chromium: Chromium, url: string, viewport = { width: 1280, height: 800 }): Promise<{ page: Page, errors: string[] }> {
  const opened = await chromium.open(t, url, { viewport })
  await opened.page.getByTestId('app-title').waitFor()
  return opened
}

/** Nothing widens the page, and every visible control lies inside the viewport. */
async function fits (t: Test, page: Page, when: string): Promise<void> {
  const report = await widthReport(page)
  t.ok(report.scrollWidth <= report.innerWidth, `${when}: page ${report.scrollWidth} px wide in a ${report.innerWidth} px viewport`, { offenders: report.offenders })
  t.same(await controlsOutsideViewport(page), [], `${when}: every control inside the viewport horizontally`)
}

/** The Admin tab's tests, in `t`, on tabs of `browser`. */
export function adminUiTests (t: Test, browser: Chromium): void {
  t.test('token prompt, connections and rooms, broadcast, disconnect', async (t) => {
    const { base, ws } = await adminApp(t)
    const alice = await connectedClient(t, `${ws}?token=alice`)
    const bob = await connectedClient(t, `${ws}?token=bob`)
    await requestReply(alice, 'join', { room: 'chat' }, 'joined')
    await requestReply(bob, 'join', { room: 'chat' }, 'joined')

    const { page, errors } = await open(t, browser, `${base}/docs?token=${DOCS}`)
    await page.getByTestId('tab-admin').click()
    await page.getByTestId('status-bar').waitFor({ state: 'hidden' })
    t.pass('the API view is hidden while the Admin tab is shown')
    await page.getByTestId('admin-token').fill(DOCS)
    await page.getByTestId('admin-unlock').click()
    t.match(await page.getByTestId('admin-error').innerText(), /refused/, 'the docs token does not open the admin view')
    t.equal(await page.evaluate(() => sessionStorage.getItem('socketspec.adminToken')), null, 'a refused token is not kept')

    await page.getByTestId('admin-token').fill(ADMIN)
    await page.getByTestId('admin-unlock').click()
    await page.getByTestId(`admin-conn-${alice.id}`).waitFor()
    t.match(await page.getByTestId(`admin-conn-${bob.id}`).innerText(), /user bob[\s\S]*events in 1 · out 1/)
    t.match(await page.getByTestId('admin-summary').innerText(), /1 node · 2 connections · 2 rooms/)
    t.equal(await page.getByTestId('admin-room-chat').getAttribute('data-members'), '2', 'the room lists its two members')
    t.equal(await page.getByTestId('admin-room-lobby').getAttribute('data-members'), '0')
    t.equal(await page.evaluate(() => sessionStorage.getItem('socketspec.adminToken')), ADMIN, 'the token is kept in sessionStorage')

    // Broadcast: the schema's example prefills the payload; a bad payload shows the validation errors.
    await page.getByTestId('admin-broadcast-room').fill('chat')
    await page.getByTestId('admin-broadcast-event').selectOption('said')
    t.same(JSON.parse(await page.getByTestId('admin-broadcast-payload').inputValue()), { text: 'hello', from: 'ops' })
    await page.getByTestId('admin-broadcast-send').click()
    t.same((await alice.next('said')).payload, { text: 'hello', from: 'ops' }, 'alice got the broadcast')
    t.same((await bob.next('said')).payload, { text: 'hello', from: 'ops' }, 'bob too')
    await page.locator('[data-testid="admin-notice"][data-kind="ok"]').waitFor()
    await page.getByTestId('admin-broadcast-payload').fill('{"text": 5, "from": "x"}')
    await page.getByTestId('admin-broadcast-send').click()
    await page.locator('[data-testid="admin-notice"][data-kind="error"]').waitFor()
    t.match(await page.getByTestId('admin-notice').innerText(), /VALIDATION_ERROR[\s\S]*\/text must be string/)

    // The rates table shows the events counted so far.
    await page.getByTestId('admin-rate-said').waitFor()
    t.match(await page.getByTestId('admin-rate-said').innerText(), /said/)

    // Disconnect bob: his socket closes with 1000 admin_disconnect and he leaves the list.
    await page.getByTestId(`admin-disconnect-${bob.id}`).click()
    t.same(await bob.closed, { code: 1000, reason: 'admin_disconnect' })
    await page.getByTestId(`admin-conn-${bob.id}`).waitFor({ state: 'detached' })
    t.match(await page.getByTestId('admin-notice').innerText(), new RegExp(`Disconnected ${bob.id}`))
    t.equal(await page.getByTestId(`admin-conn-${alice.id}`).count(), 1, 'alice stays')

    // A reload keeps the token (same tab session): no prompt.
    await page.reload()
    await page.getByTestId('tab-admin').click()
    await page.getByTestId(`admin-conn-${alice.id}`).waitFor()
    t.equal(await page.getByTestId('admin-token').count(), 0, 'no prompt after a reload')
    await page.getByTestId('admin-lock').click()
    await page.getByTestId('admin-token').waitFor()
    await page.getByTestId('tab-api').click()
    await page.getByTestId('status-bar').waitFor({ state: 'visible' })
    t.pass('back to the API view')
    t.same(errors, [], 'no uncaught errors in the page')
  })

  t.test('no Admin tab when the admin view is off', async (t) => {
    const app = Fastify({ logger: false })
    await app.register(socketspec, { path: '/ws', docs: true })
    app.socket.on('ping', {}, () => {})
    t.teardown(() => app.close())
    await app.listen({ port: 0, host: '127.0.0.1' })
    const { port } = app.server.address() as { port: number }
    const { page } = await open(t, browser, `http://127.0.0.1:${port}/socket-docs`)
    await page.getByTestId('status-connect').waitFor()
    // The tab shows once GET admin/state answers 401: wait until that request is done (here a 404), then for a frame.
    await page.waitForFunction(() => performance.getEntriesByType('resource').some((e) => e.name.endsWith('/admin/state')))
    await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve))))
    t.equal(await page.getByTestId('tab-admin').count(), 0)
  })

  for (const width of [390, 1280]) {
    t.test(`${width} px wide: the Admin tab never scrolls sideways and every control is reachable`, async (t) => {
      const { base, ws } = await adminApp(t)
      const clients = []
      for (const user of ['alice', 'a-user-with-a-rather-long-name-that-does-not-break-easily']) {
        const c = await connectedClient(t, `${ws}?token=${user}`)
        await requestReply(c, 'join', { room: 'a-room-with-a-very-long-name:' + 'x'.repeat(60) }, 'joined')
        clients.push(c)
      }
      const { page, errors } = await open(t, browser, `${base}/docs?token=${DOCS}`, { width, height: width === 390 ? 844 : 800 })
      await page.getByTestId('tab-admin').click()
      await fits(t, page, 'token prompt')
      await reachable(t, page, ['tab-api', 'tab-admin', 'admin-token', 'admin-unlock'])
      await page.getByTestId('admin-token').fill(ADMIN)
      await page.getByTestId('admin-unlock').click()
      await page.getByTestId(`admin-conn-${clients[1].id}`).waitFor()
      await fits(t, page, 'dashboard')
      await reachable(t, page, ['admin-refresh', 'admin-lock', `admin-disconnect-${clients[0].id}`, `admin-disconnect-${clients[1].id}`,
        'admin-broadcast-room', 'admin-broadcast-event', 'admin-broadcast-payload', 'admin-broadcast-send'])
      await page.getByTestId('admin-broadcast-room').fill('nowhere')
      await page.getByTestId('admin-broadcast-send').click()
      await page.locator('[data-testid="admin-notice"][data-kind="error"]').waitFor()
      await fits(t, page, 'error notice shown')
      t.same(errors, [], 'no uncaught errors in the page')
    })
  }
}
