import { readFileSync, existsSync, realpathSync } from 'node:fs'
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'

export interface PackageInfo {
  name: string
  version: string
  dependencies: Record<string, string>
  devDependencies: Record<string, string>
  /** The directory holding this package.json (symlinks resolved). */
  root: string
}

let cached: PackageInfo | undefined

/** socketspec's own package.json, found by walking up from this file (lib/cli in the sources, dist/lib/cli once built). */
export function packageInfo (): PackageInfo {
  if (cached !== undefined) return cached
  let dir = dirname(realpathSync(fileURLToPath(import.meta.url)))
  for (;;) {
    const file = join(dir, 'package.json')
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8'))
      if (pkg.name === 'socketspec') {
        cached = {
          name: pkg.name,
          version: pkg.version,
          dependencies: pkg.dependencies ?? {},
          devDependencies: pkg.devDependencies ?? {},
          root: dir
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

/** A dependency spec for a package.json, and where it points to. */
export interface DependencySpec {
  spec: string
  /** Where it points to, in words, for the user to check it. */
  note: string
  /** registry: `^version`; checkout: a directory outside node_modules; file: a tarball or directory; url: a tarball URL; git: a git URL; option: given with --socketspec. */
  origin: 'registry' | 'checkout' | 'file' | 'url' | 'git' | 'option'
}

/**
 * How a new app depends on the package `name`@`version` installed in `root`, so
 * that `npm install` gets it where it came from: `^version` from a registry;
 * `file:<root>` for a checkout (a directory outside node_modules); else what npm
 * installed it from, read from the lockfile of the tree it sits in (npm 7+) or
 * its package.json's `_resolved` (older clients): a tarball as `file:<absolute
 * path>`, a tarball URL, a git URL. Unknown origins count as the registry.
 */
export function dependencySpec (name: string, version: string, root: string): DependencySpec {
  const registry: DependencySpec = { spec: `^${version}`, note: 'from the npm registry', origin: 'registry' }
  if (!root.split(sep).includes('node_modules')) {
    const note = existsSync(join(root, 'dist/lib/index.js'))
      ? 'this checkout of socketspec'
      : 'this checkout of socketspec, not built yet: run `npm run build` in it before installing the app'
    return { spec: `file:${root}`, note, origin: 'checkout' }
  }
  const own = readJson(join(root, 'package.json'))?._resolved
  if (typeof own === 'string' && (isAbsolute(own.replace(/^file:/, '')) || /^[a-z+]+:\/\//.test(own))) {
    return classify(own, root, name, version) ?? registry
  }
  // Each node_modules above `root` may be the top of the tree; its project directory holds the lockfile.
  for (let dir = dirname(root); dir !== dirname(dir); dir = dirname(dir)) {
    if (basename(dir) !== 'node_modules') continue
    const project = dirname(dir)
    const key = relative(project, root).split(sep).join('/')
    for (const lockfile of [join(dir, '.package-lock.json'), join(project, 'package-lock.json'), join(project, 'npm-shrinkwrap.json')]) {
      const resolved = readJson(lockfile)?.packages?.[key]?.resolved
      if (typeof resolved === 'string') return classify(resolved, project, name, version) ?? registry
    }
  }
  return registry
}

/**
 * The spec given with `--socketspec`: a path (`./socketspec-1.0.0.tgz`, `../socketspec`)
 * or a relative `file:` spec becomes `file:<absolute path>` (resolved from `cwd`,
 * the app may live elsewhere); anything else (a range, a tag, a URL) is kept.
 */
export function optionSpec (spec: string, cwd: string): DependencySpec {
  const isPath = /^(\.{1,2}([/\\]|$)|[/\\])/.test(spec) || (!spec.includes(':') && /\.(tgz|tar\.gz)$/.test(spec))
  const path = spec.startsWith('file:') ? spec.slice('file:'.length) : isPath ? spec : undefined
  return { spec: path === undefined ? spec : `file:${resolve(cwd, path)}`, note: 'given with --socketspec', origin: 'option' }
}

/** A lockfile's `resolved` as a spec; file: paths there are relative to the project. */
function classify (resolved: string, project: string, name: string, version: string): DependencySpec | undefined {
  const note = 'where this socketspec was installed from'
  if (resolved.startsWith('file:')) return { spec: `file:${resolve(project, resolved.slice('file:'.length))}`, note, origin: 'file' }
  if (/^https?:\/\//.test(resolved)) {
    // Registries serve tarballs as <registry>/<name>/-/<unscoped name>-<version>.tgz.
    const registryTarball = `/${name}/-/${name.split('/').pop() ?? name}-${version}.tgz`
    return new URL(resolved).pathname.endsWith(registryTarball) ? undefined : { spec: resolved, note, origin: 'url' }
  }
  if (/^(git\+|git:|github:|gitlab:|bitbucket:)/.test(resolved)) return { spec: resolved, note, origin: 'git' }
  return undefined
}

function readJson (file: string): any {
  try {
    return JSON.parse(readFileSync(file, 'utf8'))
  } catch {
    return undefined
  }
}
