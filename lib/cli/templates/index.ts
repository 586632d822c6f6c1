import { render as app } from './app.js'
import { render as socketspecPlugin } from './socketspec-plugin.js'
import { render as echoEvents } from './echo-events.js'
import { render as chatEvents } from './chat-events.js'
import { render as testHelper } from './test-helper.js'
import { render as echoTest } from './echo-test.js'
import { render as chatTest } from './chat-test.js'
import { render as docsTest } from './docs-test.js'
import { render as packageJson } from './package-json.js'
import { render as readme } from './readme.js'
import { tsconfig, testTsconfig, gitignore } from './config-files.js'
import type { ScaffoldOptions } from './options.js'

export type { ScaffoldOptions } from './options.js'

/** A file of the scaffold: its path relative to the app directory, and its content. */
export interface ScaffoldFile {
  path: string
  content: string
}

const files: Array<[string, (opts: ScaffoldOptions) => string]> = [
  ['package.json', packageJson],
  ['tsconfig.json', tsconfig],
  ['.gitignore', gitignore],
  ['README.md', readme],
  ['app.ts', app],
  ['plugins/socketspec.ts', socketspecPlugin],
  ['events/echo.ts', echoEvents],
  ['events/chat.ts', chatEvents],
  ['test/tsconfig.json', testTsconfig],
  ['test/helper.ts', testHelper],
  ['test/echo.test.ts', echoTest],
  ['test/chat.test.ts', chatTest],
  ['test/docs.test.ts', docsTest]
]

/** Every file `socketspec init` writes, rendered for `opts`. */
export function renderScaffold (opts: ScaffoldOptions): ScaffoldFile[] {
  return files.map(([path, render]) => ({ path, content: render(opts) }))
}
