import { mkdir, writeFile } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { CliError, usageError } from './cli-error.js'
import { HELP } from './help.js'
import { loadApp } from './load-app.js'
import type { CliIO } from './main.js'
import { parse } from './parse.js'

interface SocketspecDecorator {
  asyncapi: () => unknown
}

/** `socketspec asyncapi <module> [--out file] [--decorator name]` */
export async function asyncapiCommand (args: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parse(args, {
    out: { type: 'string', short: 'o' },
    decorator: { type: 'string' },
    help: { type: 'boolean', short: 'h' }
  }, 'asyncapi')
  if (values.help === true) {
    io.stdout.write(HELP.asyncapi)
    return 0
  }
  if (positionals.length === 0) throw usageError('socketspec asyncapi: missing the app module (e.g. dist/app.js)', 'asyncapi')
  if (positionals.length > 1) throw usageError(`socketspec asyncapi: unexpected argument '${positionals[1]}'`, 'asyncapi')
  if (values.out === '') throw usageError('socketspec asyncapi: --out needs a file name', 'asyncapi')

  const file = resolve(io.cwd, positionals[0])
  const { app, contexts } = await loadApp(file)
  try {
    const found = findSocketspec(contexts, values.decorator)
    if (found.length === 0) {
      const how = values.decorator === undefined
        ? "no 'socket' decorator nor any decorator with an asyncapi() function"
        : `no '${values.decorator}' decorator with an asyncapi() function`
      throw new CliError(`socketspec asyncapi: ${file} does not register socketspec (${how}); register the socketspec plugin in the app, or pass --decorator <name> if you renamed it`)
    }
    if (found.length > 1) {
      io.stderr.write(`socketspec asyncapi: ${found.length} socketspec registrations found (one per namespace?); exporting the first one registered\n`)
    }
    const doc = await found[0].asyncapi()
    const json = JSON.stringify(doc, null, 2) + '\n'
    if (values.out === undefined) {
      io.stdout.write(json)
    } else {
      const out = resolve(io.cwd, values.out)
      await mkdir(dirname(out), { recursive: true })
      await writeFile(out, json)
      io.stderr.write(`AsyncAPI document written to ${out}\n`)
    }
    return 0
  } finally {
    await app.close().catch((err: Error) => {
      io.stderr.write(`socketspec asyncapi: closing the app failed: ${err.message}\n`)
    })
  }
}

/** The distinct socketspec decorators visible in `contexts`, in registration order. */
function findSocketspec (contexts: FastifyInstance[], decorator: string | undefined): SocketspecDecorator[] {
  const found: SocketspecDecorator[] = []
  const add = (value: unknown) => {
    if (isSocketspec(value) && !found.includes(value)) found.push(value)
  }
  for (const ctx of contexts) add(read(ctx, decorator ?? 'socket'))
  if (found.length > 0 || decorator !== undefined) return found
  // Renamed decorator: any decorator holding an object with asyncapi().
  for (const ctx of contexts) {
    for (const key in ctx) add(read(ctx, key))
  }
  return found
}

function read (ctx: FastifyInstance, key: string): unknown {
  try {
    return (ctx as unknown as Record<string, unknown>)[key]
  } catch {
    // some Fastify getters throw before listen (e.g. listeningOrigin)
    return undefined
  }
}

function isSocketspec (value: unknown): value is SocketspecDecorator {
  return typeof value === 'object' && value !== null && typeof (value as SocketspecDecorator).asyncapi === 'function'
}
