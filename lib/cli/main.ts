import { CliError, usageError } from './cli-error.js'
import { HELP, type HelpTopic } from './help.js'
import { packageInfo } from './package-info.js'
import { parse } from './parse.js'
import { initCommand } from './init.js'
import { asyncapiCommand } from './asyncapi.js'
import { tokenCommand } from './token.js'
import { typesCommand } from './types.js'

/** Where the CLI reads and writes; the real process by default, buffers in tests. */
export interface CliIO {
  cwd: string
  stdout: { write: (chunk: string) => unknown }
  stderr: { write: (chunk: string) => unknown }
}

type Command = (args: string[], io: CliIO) => Promise<number>

const commands: Record<string, Command> = {
  init: initCommand,
  asyncapi: asyncapiCommand,
  types: typesCommand,
  token: tokenCommand,
  help: helpCommand
}

/**
 * Run the socketspec CLI and resolve with the process exit code
 * (0 success, 1 failure, 2 bad usage). Never throws.
 *
 * @example
 * process.exitCode = await main(process.argv.slice(2))
 */
export async function main (argv: string[], io: CliIO = processIO()): Promise<number> {
  try {
    const [first, ...rest] = argv
    if (first === undefined) {
      io.stdout.write(HELP.main)
      return 0
    }
    if (first.startsWith('-')) return globalFlags(argv, io)
    const command = commands[first]
    if (command === undefined) throw usageError(`socketspec: unknown command '${first}'`)
    return await command(rest, io)
  } catch (err) {
    if (err instanceof CliError) {
      io.stderr.write(`${err.message}\n`)
      return err.exitCode
    }
    io.stderr.write(`socketspec: unexpected error: ${(err as Error)?.stack ?? String(err)}\n`)
    return 1
  }
}

function globalFlags (argv: string[], io: CliIO): number {
  const { values, positionals } = parse(argv, {
    help: { type: 'boolean', short: 'h' },
    version: { type: 'boolean', short: 'v' }
  })
  if (positionals.length > 0) throw usageError(`socketspec: unexpected argument '${positionals[0]}' (commands come first)`)
  if (values.version === true) {
    io.stdout.write(`${packageInfo().version}\n`)
    return 0
  }
  io.stdout.write(HELP.main)
  return 0
}

async function helpCommand (args: string[], io: CliIO): Promise<number> {
  const { positionals } = parse(args, {}, 'help')
  const [name, extra] = positionals
  if (extra !== undefined) throw usageError(`socketspec help: unexpected argument '${extra}'`, 'help')
  if (name !== undefined && (name === 'main' || !Object.hasOwn(HELP, name))) {
    throw usageError(`socketspec help: unknown command '${name}'`)
  }
  io.stdout.write(HELP[(name ?? 'main') as HelpTopic])
  return 0
}

function processIO (): CliIO {
  return { cwd: process.cwd(), stdout: process.stdout, stderr: process.stderr }
}
