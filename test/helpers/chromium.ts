import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium, type Browser } from 'playwright-core'

/** The Debian chromium binary (never a downloaded one: `npx playwright install` is not used). */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync']

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..')

interface Tap {
  teardown (fn: () => unknown): void
}

/**
 * Why browser tests cannot run here, or null when Chromium is installed.
 * Under CI=true a missing browser is an error, not a skip.
 */
export function chromiumSkipReason (): string | null {
  if (existsSync(CHROMIUM_PATH)) return null
  const reason = `${CHROMIUM_PATH} is missing (apt-get install chromium)`
  if (process.env.CI === 'true') throw new Error(`browser tests must run in CI: ${reason}`)
  return reason
}

/** Launch headless Chromium, closed when `t` ends. */
export async function launchChromium (t: Tap): Promise<Browser> {
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS })
  t.teardown(() => browser.close())
  return browser
}

/** Build ui/dist when it is missing (`npm test` builds it in pretest already). */
export function ensureUiBuilt (): void {
  if (existsSync(join(repoRoot, 'ui', 'dist', 'index.html'))) return
  const res = spawnSync(process.execPath, [join(repoRoot, 'ui', 'build.mjs')], { cwd: repoRoot, stdio: 'inherit' })
  if (res.status !== 0) throw new Error('node ui/build.mjs failed')
}
