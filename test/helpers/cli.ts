import { main } from '../../lib/cli/main.js'

export interface Run { code: number, stdout: string, stderr: string }

/** Run the CLI in process with captured output. */
export async function run (args: string[], cwd: string): Promise<Run> {
  let stdout = ''
  let stderr = ''
  const code = await main(args, {
    cwd,
    stdout: { write: (s: string) => { stdout += s } },
    stderr: { write: (s: string) => { stderr += s } }
  })
  return { code, stdout, stderr }
}
