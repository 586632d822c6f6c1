import { createHash, timingSafeEqual } from 'node:crypto'
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import fastifyStatic from '@fastify/static'
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'

declare module 'fastify' {
  interface FastifySchema {
    /** Keeps the route out of generated OpenAPI documents (@fastify/swagger convention). */
    hide?: boolean
  }
}

/** Options of the docs plugin (registered by socketspec when `docs: true`). */
export interface DocsPluginOptions {
  /** Route of the UI; the AsyncAPI document is served at `${docsUrl}/asyncapi.json`. */
  docsUrl: string
  /** When set, every docs route needs `Authorization: Bearer <t>`, `?token=<t>` or the cookie set by the index. */
  docsAccessToken?: string
  /** Returns the AsyncAPI document (built lazily and cached by the caller). */
  document: () => Record<string, unknown>
  /** Folder of the built UI; defaults to the package's ui/dist. */
  uiRoot?: string
}

/** Cookie through which the page's own asset requests prove they may read the docs. */
export const DOCS_COOKIE = 'socketspec_docs'

const NOT_BUILT = 'The socketspec docs UI is not built (ui/dist is missing): run `npm run build`.'
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self' ws: wss:",
  "base-uri 'self'",
  "form-action 'none'",
  "frame-ancestors 'self'"
].join('; ')

/** ui/dist seen from plugins/docs.ts (tsx) or from dist/plugins/docs.js (build). */
export function defaultUiRoot (): string {
  const here = dirname(fileURLToPath(import.meta.url))
  const candidates = [resolve(here, '../ui/dist'), resolve(here, '../../ui/dist')]
  return candidates.find((dir) => existsSync(join(dir, 'index.html'))) ?? candidates[0]
}

const digest = (value: string): Buffer => createHash('sha256').update(value).digest()

function tokenChecker (expected: string) {
  const expectedDigest = digest(expected)
  const cookieValue = createHash('sha256').update('socketspec-docs\0' + expected).digest('hex')
  const cookieDigest = digest(cookieValue)
  return {
    cookieValue,
    /** 'direct' when the request carries the token itself, 'cookie' when it carries the cookie, false otherwise. */
    check (request: FastifyRequest): 'direct' | 'cookie' | false {
      const auth = request.headers.authorization
      const fromHeader = auth !== undefined && /^bearer\s+/i.test(auth) ? auth.replace(/^bearer\s+/i, '').trim() : undefined
      const query = request.query as Record<string, unknown> | undefined
      const fromQuery = typeof query?.token === 'string' ? query.token : undefined
      for (const candidate of [fromHeader, fromQuery]) {
        if (candidate !== undefined && timingSafeEqual(digest(candidate), expectedDigest)) return 'direct'
      }
      const cookie = readCookie(request.headers.cookie, DOCS_COOKIE)
      if (cookie !== undefined && timingSafeEqual(digest(cookie), cookieDigest)) return 'cookie'
      return false
    }
  }
}

function readCookie (header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined
  for (const part of header.split(';')) {
    const eq = part.indexOf('=')
    if (eq !== -1 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim()
  }
  return undefined
}

function notBuilt (reply: FastifyReply) {
  return reply.code(500).send({ statusCode: 500, error: 'Internal Server Error', message: NOT_BUILT })
}

const docsPlugin: FastifyPluginAsync<DocsPluginOptions> = async (fastify, opts) => {
  const base = opts.docsUrl.replace(/\/+$/, '')
  const uiRoot = opts.uiRoot ?? defaultUiRoot()
  const built = existsSync(join(uiRoot, 'index.html'))
  const checker = opts.docsAccessToken === undefined ? undefined : tokenChecker(opts.docsAccessToken)
  const routeOpts = { schema: { hide: true } }

  // Own encapsulated context, so the access hook only guards the docs routes.
  await fastify.register(async (docs: FastifyInstance) => {
    if (checker !== undefined) {
      docs.addHook('onRequest', async (request, reply) => {
        if (checker.check(request) !== false) return
        reply.code(401)
          .header('www-authenticate', 'Bearer realm="socketspec-docs"')
          .send({ statusCode: 401, error: 'Unauthorized', message: 'Missing or invalid docs access token' })
        return reply
      })
    }

    const serveIndex = async (request: FastifyRequest, reply: FastifyReply) => {
      if (!built) return notBuilt(reply)
      let html = await readFile(join(uiRoot, 'index.html'), 'utf8')
      const path = request.url.split('?')[0]
      if (!path.endsWith('/')) {
        // Served without the trailing slash: relative asset URLs must resolve inside docsUrl.
        const last = path.slice(path.lastIndexOf('/') + 1)
        html = html.replace('<head>', `<head><base href="${encodeURI(last)}/">`)
      }
      if (checker !== undefined && checker.check(request) === 'direct') {
        const secure = request.protocol === 'https' ? '; Secure' : ''
        reply.header('set-cookie', `${DOCS_COOKIE}=${checker.cookieValue}; Path=${base || '/'}; HttpOnly; SameSite=Strict${secure}`)
      }
      return reply
        .type('text/html; charset=utf-8')
        .header('cache-control', 'no-store')
        .header('content-security-policy', CSP)
        .header('referrer-policy', 'no-referrer')
        .header('x-content-type-options', 'nosniff')
        .send(html)
    }

    docs.get(base === '' ? '/' : base, routeOpts, serveIndex)
    if (base !== '') {
      try {
        docs.get(base + '/', routeOpts, serveIndex)
      } catch (err) {
        // With ignoreTrailingSlash the first route already answers both forms.
        if ((err as { code?: string }).code !== 'FST_ERR_DUPLICATED_ROUTE') throw err
      }
    }

    docs.get(`${base}/asyncapi.json`, routeOpts, async (_request, reply) => {
      return reply
        .type('application/json; charset=utf-8')
        .header('cache-control', 'no-cache')
        .send(opts.document())
    })

    if (built) {
      const assetsDir = join(uiRoot, 'assets')
      await docs.register(fastifyStatic, {
        root: uiRoot,
        prefix: base + '/',
        decorateReply: false,
        schemaHide: true,
        index: false,
        setHeaders (reply, filePath) {
          reply.header('x-content-type-options', 'nosniff')
          // Vite content-hashes everything under assets/.
          if (filePath.startsWith(assetsDir)) reply.header('cache-control', 'public, max-age=31536000, immutable')
        }
      })
    } else {
      docs.get(`${base}/*`, routeOpts, async (_request, reply) => notBuilt(reply))
    }
  })
}

/** Serves the docs SPA and the AsyncAPI document under `docsUrl`. */
export default fp(docsPlugin, { fastify: '5.x', name: 'socketspec-docs' })
export { docsPlugin }
