// Where TypeScript 7 is: the devDependency `typescript-7`, an npm alias of
// `typescript@7` (its package is still named `typescript`, so `npm ci` links
// `node_modules/.bin/tsc` to TypeScript 5.9, which typescript-eslint needs).
import { join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const root = resolve(fileURLToPath(import.meta.url), '../..')

/** TypeScript 7's Node launcher (`tsc`): it execs the native compiler of this platform. */
export const TSC7 = join(root, 'node_modules/typescript-7/bin/tsc')

/**
 * The native compiler itself, for a caller that must not start it through Node
 * (under tap, every Node child gets tap's loaders put back into NODE_OPTIONS).
 */
export async function tsc7Executable () {
  const { default: getExePath } = await import(pathToFileURL(join(root, 'node_modules/typescript-7/lib/getExePath.js')).href)
  return getExePath()
}
