import { readFileSync, existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export interface PackageInfo {
  name: string
  version: string
  dependencies: Record<string, string>
  devDependencies: Record<string, string>
}

let cached: PackageInfo | undefined

/** socketspec's own package.json, found by walking up from this file (lib/cli in the sources, dist/lib/cli once built). */
export function packageInfo (): PackageInfo {
  if (cached !== undefined) return cached
  let dir = dirname(fileURLToPath(import.meta.url))
  for (;;) {
    const file = join(dir, 'package.json')
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8'))
      if (pkg.name === 'socketspec') {
        cached = {
          name: pkg.name,
          version: pkg.version,
          dependencies: pkg.dependencies ?? {},
          devDependencies: pkg.devDependencies ?? {}
        }
        return cached
      }
    }
    const parent = dirname(dir)
    /* c8 ignore next - only reached when the package is broken (no package.json above the CLI) */
    if (parent === dir) throw new Error('socketspec: cannot find its own package.json')
    dir = parent
  }
}
