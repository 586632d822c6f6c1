import t, { type Test } from 'tap'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Fastify, { type FastifyInstance } from 'fastify'
import docs, { DOCS_COOKIE, defaultUiRoot, type DocsPluginOptions } from '../plugins/docs.js'

const INDEX = '<!doctype html>\n<html><head><script type="module" crossorigin src="./assets/app-abc123.js"></script></head><body><div id="app"></div></body></html>\n'
const DOC = { asyncapi: '3.0.0', info: { title: 'Test', version: '1.0.0' }, channels: {} }

/** A fake built UI, so these tests do not depend on `npm run build:ui`. */
async function fakeUi (t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'socketspec-ui-'))
  await mkdir(join(dir, 'assets'))
  await writeFile(join(dir, 'index.html'), INDEX)
  await writeFile(join(dir, 'assets', 'app-abc123.js'), 'console.log("ui")\n')
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

interface Built { app: FastifyInstance, calls: () => number, routes: Array<{ url: string, hide: unknown }> }

async function build (t: Test, opts: Partial<DocsPluginOptions> = {}, fastifyOpts: Record<string, unknown> = {}): Promise<Built> {
  const app = Fastify({ logger: false, ...fastifyOpts })
  const routes: Built['routes'] = []
  app.addHook('onRoute', (r) => { routes.push({ url: r.url, hide: (r.schema as { hide?: unknown } | undefined)?.hide }) })
  let calls = 0
  const uiRoot = 'uiRoot' in opts ? opts.uiRoot : await fakeUi(t)
  await app.register(docs, { docsUrl: '/socket-docs', document: () => { calls++; return DOC }, ...opts, uiRoot })
  app.get('/health', async () => ({ ok: true }))
  await app.ready()
  t.teardown(() => app.close())
  return { app, calls: () => calls, routes }
}

t.test('serves the index with and without the trailing slash', async (t) => {
  const { app } = await build(t)
  const slash = await app.inject('/socket-docs/')
  t.equal(slash.statusCode, 200)
  t.match(slash.headers['content-type'], /^text\/html/)
  t.equal(slash.body, INDEX, 'no <base> needed under the trailing slash')
  t.equal(slash.headers['cache-control'], 'no-store')
  t.match(slash.headers['content-security-policy'], /connect-src 'self' ws: wss:/)
  t.equal(slash.headers['referrer-policy'], 'no-referrer')

  const bare = await app.inject('/socket-docs?x=1')
  t.equal(bare.statusCode, 200)
  t.match(bare.body, '<head><base href="socket-docs/">', 'relative assets resolve inside docsUrl')
  t.equal((await app.inject({ method: 'HEAD', url: '/socket-docs/' })).statusCode, 200)
})

t.test('serves assets and the AsyncAPI document, built lazily', async (t) => {
  const { app, calls } = await build(t)
  t.equal(calls(), 0, 'document() is not called before the first request')
  const asset = await app.inject('/socket-docs/assets/app-abc123.js')
  t.equal(asset.statusCode, 200)
  t.match(asset.headers['content-type'], /javascript/)
  t.equal(asset.headers['cache-control'], 'public, max-age=31536000, immutable')
  t.equal(asset.body, 'console.log("ui")\n')
  t.equal((await app.inject('/socket-docs/assets/nope.js')).statusCode, 404)
  t.equal((await app.inject('/socket-docs/../package.json')).statusCode, 404)

  const res = await app.inject('/socket-docs/asyncapi.json')
  t.equal(res.statusCode, 200)
  t.equal(res.headers['content-type'], 'application/json; charset=utf-8')
  t.same(res.json(), DOC)
  t.equal(calls(), 1)
})

t.test('every docs route is hidden from OpenAPI generators', async (t) => {
  const { routes } = await build(t)
  const docsRoutes = routes.filter((r) => r.url.startsWith('/socket-docs'))
  t.ok(docsRoutes.length >= 4, `docs routes: ${docsRoutes.map((r) => r.url).join(', ')}`)
  for (const r of docsRoutes) t.equal(r.hide, true, `${r.url} is hidden`)
  t.ok(routes.filter((r) => r.url === '/health').every((r) => r.hide === undefined), 'other routes are untouched')
})

t.test('docsAccessToken protects every docs route', async (t) => {
  const { app, calls } = await build(t, { docsAccessToken: 's3cret' })
  for (const url of ['/socket-docs', '/socket-docs/', '/socket-docs/asyncapi.json', '/socket-docs/assets/app-abc123.js']) {
    const res = await app.inject(url)
    t.equal(res.statusCode, 401, `${url} without a token`)
    t.same(res.json(), { statusCode: 401, error: 'Unauthorized', message: 'Missing or invalid docs access token' })
    t.equal(res.headers['www-authenticate'], 'Bearer realm="socketspec-docs"')
    t.equal((await app.inject({ url, headers: { authorization: 'Bearer nope' } })).statusCode, 401, `${url} with a wrong token`)
    t.equal((await app.inject(`${url}?token=s3cre`)).statusCode, 401, `${url} with a prefix of the token`)
    t.equal((await app.inject({ url, headers: { authorization: 'Basic s3cret' } })).statusCode, 401, `${url} with another scheme`)
    t.equal((await app.inject({ url, headers: { authorization: 'Bearer s3cret' } })).statusCode, 200, `${url} with the header`)
    t.equal((await app.inject({ url, headers: { authorization: 'bearer  s3cret' } })).statusCode, 200, `${url} with a lower-case scheme`)
    t.equal((await app.inject(`${url}?token=s3cret`)).statusCode, 200, `${url} with ?token=`)
  }
  t.equal(calls(), 3, 'the document is never served to unauthenticated requests')
  t.equal((await app.inject('/health')).statusCode, 200, 'routes outside the docs are not protected')
  t.equal((await app.inject('/socket-docs/asyncapi.json')).headers['content-type'], 'application/json; charset=utf-8')
})

t.test('the index served with a valid token sets a cookie the page assets use', async (t) => {
  const { app } = await build(t, { docsAccessToken: 's3cret' })
  const index = await app.inject('/socket-docs?token=s3cret')
  t.equal(index.statusCode, 200)
  const setCookie = String(index.headers['set-cookie'])
  t.match(setCookie, new RegExp(`^${DOCS_COOKIE}=[0-9a-f]{64}; Path=/socket-docs; HttpOnly; SameSite=Strict$`))
  t.notMatch(setCookie, 's3cret', 'the cookie does not carry the token itself')
  const cookie = setCookie.split(';')[0]
  const asset = await app.inject({ url: '/socket-docs/assets/app-abc123.js', headers: { cookie: `other=1; ${cookie}` } })
  t.equal(asset.statusCode, 200)
  t.equal((await app.inject({ url: '/socket-docs/asyncapi.json', headers: { cookie } })).statusCode, 200)
  t.equal((await app.inject({ url: '/socket-docs/asyncapi.json', headers: { cookie: `${DOCS_COOKIE}=${'0'.repeat(64)}` } })).statusCode, 401)
  const viaCookie = await app.inject({ url: '/socket-docs/', headers: { cookie } })
  t.equal(viaCookie.statusCode, 200)
  t.notOk(viaCookie.headers['set-cookie'], 'the cookie is only issued against the token itself')
  t.notOk((await app.inject('/socket-docs/')).headers['set-cookie'])
  const secure = await app.inject({ url: '/socket-docs/', headers: { authorization: 'Bearer s3cret', 'x-forwarded-proto': 'https' } })
  t.notMatch(String(secure.headers['set-cookie']), 'Secure', 'Secure only on https requests (trustProxy is off)')
})

t.test('a missing ui/dist answers 500 with the fix', async (t) => {
  const { app } = await build(t, { uiRoot: join(tmpdir(), 'socketspec-no-such-dir') })
  for (const url of ['/socket-docs', '/socket-docs/', '/socket-docs/assets/app.js']) {
    const res = await app.inject(url)
    t.equal(res.statusCode, 500, url)
    t.match(res.json().message, 'run `npm run build`')
  }
  t.equal((await app.inject('/socket-docs/asyncapi.json')).statusCode, 200, 'the document does not need the UI')
})

t.test('docsUrl is normalized and works with ignoreTrailingSlash', async (t) => {
  const { app } = await build(t, { docsUrl: '/api/docs/' }, { routerOptions: { ignoreTrailingSlash: true } })
  t.equal((await app.inject('/api/docs')).statusCode, 200)
  t.match((await app.inject('/api/docs')).body, '<base href="docs/">')
  t.equal((await app.inject('/api/docs/')).statusCode, 200)
  t.equal((await app.inject('/api/docs/asyncapi.json')).statusCode, 200)
  t.equal((await app.inject('/api/docs/assets/app-abc123.js')).statusCode, 200)
})

t.test('docsUrl at the root', async (t) => {
  const { app } = await build(t, { docsUrl: '/' })
  t.equal((await app.inject('/')).body, INDEX)
  t.equal((await app.inject('/asyncapi.json')).statusCode, 200)
  t.equal((await app.inject('/assets/app-abc123.js')).statusCode, 200)
})

t.test('the default UI folder is ui/dist next to the package', async (t) => {
  const root = defaultUiRoot()
  t.match(root.replaceAll('\\', '/'), /\/ui\/dist$/)
  if (!existsSync(join(root, 'index.html'))) {
    t.comment('ui/dist is not built (npm run build:ui); skipping the served-from-default check')
    return
  }
  const { app } = await build(t, { uiRoot: undefined })
  const res = await app.inject('/socket-docs/')
  t.equal(res.statusCode, 200)
  t.match(res.body, /src="\.\/assets\/index-[\w-]+\.js"/)
})
