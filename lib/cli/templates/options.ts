/** What `socketspec init` asked for, as seen by every template. */
export interface ScaffoldOptions {
  /** npm package name of the new app. */
  name: string
  auth: 'jwt' | 'none'
  redis: boolean
  /** Version ranges of the dependencies, keyed by package name. */
  versions: Record<string, string>
}
