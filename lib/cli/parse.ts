import { parseArgs, type ParseArgsConfig } from 'node:util'
import { usageError } from './cli-error.js'

type Options = NonNullable<ParseArgsConfig['options']>
type Parsed<O extends Options> = ReturnType<typeof parseArgs<{ args: string[], options: O, strict: true, allowPositionals: true }>>

/** `util.parseArgs` in strict mode, its errors turned into usage errors naming the command. */
export function parse<O extends Options> (args: string[], options: O, command?: string): Parsed<O> {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: true })
  } catch (err) {
    const e = err as NodeJS.ErrnoException
    if (typeof e.code === 'string' && e.code.startsWith('ERR_PARSE_ARGS')) {
      const first = e.message.split('. ')[0]
      const where = command === undefined ? 'socketspec' : `socketspec ${command}`
      throw usageError(`${where}: ${first.charAt(0).toLowerCase()}${first.slice(1)}`, command)
    }
    /* c8 ignore next - parseArgs only throws ERR_PARSE_ARGS_* for user input */
    throw err
  }
}
