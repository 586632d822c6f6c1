/** A failure the CLI reports as one message on stderr, without a stack trace. */
export class CliError extends Error {
  /** Process exit code: 2 for bad usage, 1 for everything else. */
  readonly exitCode: number

  constructor (message: string, exitCode = 1) {
    super(message)
    this.name = 'CliError'
    this.exitCode = exitCode
  }
}

/** A bad command line (unknown command or flag, missing or invalid argument): exit code 2. */
export function usageError (message: string, command?: string): CliError {
  const help = command === undefined ? 'socketspec --help' : `socketspec ${command} --help`
  return new CliError(`${message}\nRun '${help}' for usage.`, 2)
}
