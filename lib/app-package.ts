import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'

/** Name, version and description of the app, from the nearest package.json above a directory. */
export interface AppPackage { name?: string, version?: string, description?: string }

const cache = new Map<string, AppPackage>()

/**
 * The app's package.json (the nearest one above `dir`, the working directory by
 * default): the AsyncAPI document's `info.title`/`version` default to it when
 * the `title`/`version` options are not given. Fields that are not strings are left out.
 */
export function appPackage (dir: string = process.cwd()): AppPackage {
  const hit = cache.get(dir)
  if (hit !== undefined) return hit
  let found: AppPackage = {}
  for (let d = dir; ; d = dirname(d)) {
    let text: string | undefined
    try {
      text = readFileSync(join(d, 'package.json'), 'utf8')
    } catch {}
    if (text !== undefined) {
      try {
        const pkg = JSON.parse(text) as Record<string, unknown>
        const pick = (k: string): string | undefined => typeof pkg[k] === 'string' && pkg[k] !== '' ? pkg[k] : undefined
        found = { name: pick('name'), version: pick('version'), description: pick('description') }
      } catch {}
      break
    }
    if (dirname(d) === d) break
  }
  cache.set(dir, found)
  return found
}
