import { builtinModules } from 'node:module'

const blocked = new Set(['node_modules', 'favicon.ico'])

/**
 * The reasons `name` cannot be published as an npm package (empty when it can),
 * following the rules of validate-npm-package-name for new packages.
 */
export function packageNameProblems (name: string): string[] {
  const problems: string[] = []
  if (name.length === 0) return ['name cannot be empty']
  if (name.length > 214) problems.push('name cannot be longer than 214 characters')
  if (name.trim() !== name) problems.push('name cannot have leading or trailing spaces')
  if (name.startsWith('.')) problems.push('name cannot start with a period')
  if (name.startsWith('_')) problems.push('name cannot start with an underscore')
  if (name.toLowerCase() !== name) problems.push('name can no longer contain capital letters')
  if (/[~'!()*]/.test(name.split('/').slice(-1)[0])) problems.push('name can no longer contain special characters ("~\'!()*")')
  if (blocked.has(name.toLowerCase())) problems.push(`${name} is not a valid package name`)
  if (builtinModules.includes(name.toLowerCase())) problems.push(`${name} is a Node.js core module name`)

  const scoped = /^@([^/]+)\/([^/]+)$/.exec(name)
  if (name.startsWith('@') && scoped === null) {
    problems.push('a scoped name must look like @scope/name')
  } else {
    const parts = scoped === null ? [name] : [scoped[1], scoped[2]]
    if (parts.some(part => encodeURIComponent(part) !== part)) problems.push('name can only contain URL-friendly characters')
    if (scoped !== null && (scoped[2].startsWith('.') || scoped[2].startsWith('_'))) {
      problems.push('the name after the scope cannot start with a period or an underscore')
    }
  }
  return problems
}

/** A valid package name derived from a directory name, or undefined when none can be made. */
export function packageNameFromDir (dirName: string): string | undefined {
  const name = dirName
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[._-]+/, '')
    .replace(/-+$/, '')
    .slice(0, 214)
  return name.length > 0 && packageNameProblems(name).length === 0 ? name : undefined
}
