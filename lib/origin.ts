/**
 * Compile `allowedOrigins` once into a predicate. `'*'` allows everything;
 * `'https://*.example.com'` allows any subdomain; other entries match exactly
 * (case-insensitive, no trailing slash). A request without an Origin header is
 * allowed: browsers always send one on WebSocket upgrades, so its absence means
 * a non-browser client, which could forge any Origin anyway.
 */
export function compileOriginCheck (allowed: readonly string[]): (origin: string | undefined) => boolean {
  if (allowed.includes('*')) return () => true
  const exact = new Set<string>()
  const suffixes: Array<{ scheme: string, suffix: string }> = []
  for (const entry of allowed) {
    const o = entry.toLowerCase().replace(/\/+$/, '')
    const m = /^([a-z][a-z0-9+.-]*:\/\/)\*\.(.+)$/.exec(o)
    if (m !== null) suffixes.push({ scheme: m[1], suffix: '.' + m[2] })
    else exact.add(o)
  }
  return (origin) => {
    if (origin === undefined || origin === '') return true
    const o = origin.toLowerCase()
    if (exact.has(o)) return true
    for (const s of suffixes) {
      if (o.startsWith(s.scheme) && o.endsWith(s.suffix) && o.length > s.scheme.length + s.suffix.length) return true
    }
    return false
  }
}
