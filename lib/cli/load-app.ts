import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, extname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import type { FastifyInstance, FastifyPluginCallback, FastifyServerOptions } from 'fastify'
import fp from 'fastify-plugin'
import { CliError } from './cli-error.js'

/** An app module loaded and readied without listening. */
export interface LoadedApp {
  app: FastifyInstance
  /** The root instance first, then every encapsulated context registered under it (plugin modules only). */
  contexts: FastifyInstance[]
  /** 'plugin' when the default export was registered on a fresh instance, 'factory' when it built its own. */
  kind: 'plugin' | 'factory'
}

type AnyFn = (...args: any[]) => unknown
type FastifyFactory = (opts?: FastifyServerOptions) => FastifyInstance

const TS_EXTENSIONS = new Set(['.ts', '.mts', '.cts'])

/**
 * Import an app module (an absolute path) and ready its Fastify app without listening.
 * The caller closes `app`.
 */
export async function loadApp (file: string): Promise<LoadedApp> {
  if (!existsSync(file)) throw new CliError(`socketspec asyncapi: cannot find ${file}`)
  const mod = await importModule(file)
  const entry = (mod.default ?? mod.buildApp) as unknown
  if (typeof entry !== 'function') {
    throw new CliError(`socketspec asyncapi: ${file} has no default export that is a Fastify plugin or an app factory (nor a buildApp export)`)
  }
  const fn = entry as AnyFn

  let factoryError: unknown
  if (!looksLikePlugin(fn)) {
    // A factory takes at most its options; a one-argument plugin called this way fails on `{}.register`.
    let result: unknown
    try {
      result = await fn({ logger: false })
    } catch (err) {
      factoryError = err
    }
    if (isFastify(result)) {
      await readyOrFail(result, file)
      return { app: result, contexts: [result], kind: 'factory' }
    }
  }

  const Fastify = await importFastify(file)
  const serverOptions = isObject(mod.options) ? mod.options : {}
  const app = Fastify({ ...serverOptions, logger: false })
  const contexts: FastifyInstance[] = [app]
  app.addHook('onRegister', (instance) => { contexts.push(instance) })
  // fastify-plugin, as fastify-cli's skipOverride and its test helper do: the app's decorators land on the root.
  app.register(fp(fn as FastifyPluginCallback))
  try {
    await app.ready()
  } catch (err) {
    await app.close().catch(() => {})
    const asFactory = factoryError === undefined ? '' : ` (called as an app factory it threw too: ${messageOf(factoryError)})`
    throw new CliError(`socketspec asyncapi: the app in ${file} failed to start: ${messageOf(err)}${asFactory}`)
  }
  return { app, contexts, kind: 'plugin' }
}

/** A function registered as a plugin: wrapped by fastify-plugin, or taking (fastify, opts[, done]). */
function looksLikePlugin (fn: AnyFn): boolean {
  return (fn as any)[Symbol.for('skip-override')] === true || fn.length >= 2
}

function isFastify (value: unknown): value is FastifyInstance {
  return isObject(value) && typeof value.ready === 'function' && typeof value.register === 'function' && typeof value.decorate === 'function'
}

function isObject (value: unknown): value is Record<string, any> {
  return typeof value === 'object' && value !== null
}

function messageOf (err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

async function readyOrFail (app: FastifyInstance, file: string): Promise<void> {
  try {
    await app.ready()
  } catch (err) {
    await app.close().catch(() => {})
    throw new CliError(`socketspec asyncapi: the app in ${file} failed to start: ${messageOf(err)}`)
  }
}

async function importModule (file: string): Promise<Record<string, unknown>> {
  const url = pathToFileURL(file).href
  try {
    return await import(url)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ERR_UNKNOWN_FILE_EXTENSION' || !TS_EXTENSIONS.has(extname(file))) {
      throw new CliError(`socketspec asyncapi: cannot load ${file}: ${messageOf(err)}`)
    }
  }
  // A TypeScript module outside tsx: register the project's own tsx loader, then retry.
  if (!(await registerTsx(file))) {
    throw new CliError(`socketspec asyncapi: cannot load the TypeScript module ${file}: install tsx in the project (npm i -D tsx), run under it (node --import tsx), or build the app and pass the .js file`)
  }
  try {
    // A new URL: the loader remembers the failed attempt under the old one.
    return await import(`${url}?socketspec-tsx`)
  } catch (err) {
    throw new CliError(`socketspec asyncapi: cannot load ${file}: ${messageOf(err)}`)
  }
}

async function registerTsx (file: string): Promise<boolean> {
  for (const from of [file, fileURLToPath(import.meta.url)]) {
    const api = tsxEsmApi(from)
    if (api === undefined) continue
    const { register } = await import(pathToFileURL(api).href) as { register: () => unknown }
    register()
    return true
  }
  return false
}

/** Path of tsx's ESM register API as seen from `from` (require.resolve would pick its CommonJS build, which cannot register ESM hooks). */
function tsxEsmApi (from: string): string | undefined {
  let pkgFile: string
  try {
    pkgFile = createRequire(from).resolve('tsx/package.json')
  } catch {
    return undefined
  }
  const target = JSON.parse(readFileSync(pkgFile, 'utf8')).exports?.['./esm/api']?.import
  const rel = typeof target === 'string' ? target : target?.default
  return typeof rel === 'string' ? join(dirname(pkgFile), rel) : undefined
}

/** The app's own copy of fastify when it has one, so plugins see the Fastify version they were built for. */
async function importFastify (file: string): Promise<FastifyFactory> {
  let specifier = 'fastify'
  try {
    specifier = pathToFileURL(createRequire(file).resolve('fastify')).href
  } catch {
    // the app does not depend on fastify directly: use socketspec's
  }
  const mod = await import(specifier)
  return (mod.default ?? mod) as FastifyFactory
}
