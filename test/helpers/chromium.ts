import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium, type Browser, type Page } from 'playwright-core'

/** The Debian chromium binary (never a downloaded one: `npx playwright install` is not used). */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
/**
 * The features Playwright disables (playwright-core's chromiumSwitches.ts,
 * 1.65): a second `--disable-features` replaces the first instead of adding to
 * it, so ours repeats them (launchChromium checks that it still does).
 */
const PLAYWRIGHT_DISABLED_FEATURES = ['AvoidUnnecessaryBeforeUnloadCheckSync', 'DestroyProfileOnBrowserClose', 'HttpsUpgrades',
  'HttpsFirstBalancedModeAutoEnable', 'LensOverlay', 'MediaRouter', 'PaintHolding', 'ThirdPartyStoragePartitioning',
  'AvoidCorsURLLoaderRestartOnRedirect', 'TcpPortRandomizationWin', 'OptimizationHints', 'NetworkTimeServiceQuerying', 'AimEnabled',
  'PreconnectToSearch', 'msForceBrowserSignIn', 'msEdgeUpdateLaunchServicesPreferredVersion']
/**
 * Headless Chromium still builds a browser window per context, and each window
 * preloads its omnibox popup as WebUI: two chrome://omnibox-popup.top-chrome
 * pages in a renderer of their own, ~1 s of CPU per context that no test looks at.
 */
const DISABLED_FEATURES = [...PLAYWRIGHT_DISABLED_FEATURES, 'WebUIOmniboxPopup', 'WebUIOmniboxAimPopup', 'WebUIOmniboxFullPopup']
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync',
  `--disable-features=${DISABLED_FEATURES.join(',')}`]

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
  checkDisabledFeatures()
  return browser
}

/**
 * Throws when Playwright disables a feature that DISABLED_FEATURES does not
 * (a newer playwright-core): read from the command line of the Chromium it
 * started, a child of this process (Linux /proc).
 */
function checkDisabledFeatures (): void {
  const pids = existsSync('/proc') ? readdirSync('/proc').filter((name) => /^\d+$/.test(name)) : []
  for (const pid of pids) {
    let args: string[]
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) !== process.pid) continue
      args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')
    } catch {
      continue
    }
    if (!args.includes('--remote-debugging-pipe')) continue
    const playwrights = args.find((arg) => arg.startsWith('--disable-features='))?.slice('--disable-features='.length).split(',') ?? []
    const missing = playwrights.filter((feature) => !DISABLED_FEATURES.includes(feature))
    if (missing.length > 0) throw new Error(`Playwright disables ${missing.join(', ')}: add them to PLAYWRIGHT_DISABLED_FEATURES (test/helpers/chromium.ts)`)
  }
}

export interface Viewport { width: number, height: number }

/** One Chromium for all the browser tests, and the pages they open in it. */
export interface Chromium {
  browser: Browser
  /**
   * A page on `url` in a context of its own (its own cookies and storage, and
   * its sockets closed with it), closed when `t` ends; `errors` collects its
   * uncaught page errors. Viewport 1280×800 unless told.
   */
  open (t: Tap, url: string, options?: { viewport?: Viewport, timeout?: number }): Promise<{ page: Page, errors: string[] }>
}

/** Launch headless Chromium once for every browser test (see launchChromium). */
export async function startChromium (t: Tap): Promise<Chromium> {
  const browser = await launchChromium(t)
  const open: Chromium['open'] = async (t, url, options = {}) => {
    const context = await browser.newContext({ viewport: options.viewport ?? { width: 1280, height: 800 } })
    t.teardown(() => context.close())
    const page = await context.newPage()
    page.setDefaultTimeout(options.timeout ?? 10_000)
    const errors: string[] = []
    page.on('pageerror', (err) => errors.push(err.message))
    await page.goto(url)
    return { page, errors }
  }
  return { browser, open }
}

/** `node ui/build.mjs`: the docs UI into ui/dist and the browser client into dist/client. */
function buildUi (): void {
  const res = spawnSync(process.execPath, [join(repoRoot, 'ui', 'build.mjs')], { cwd: repoRoot, stdio: 'inherit' })
  if (res.status !== 0) throw new Error('node ui/build.mjs failed')
}

/** Build ui/dist when it is missing (`npm test` builds it in pretest already). */
export function ensureUiBuilt (): void {
  if (existsSync(join(repoRoot, 'ui', 'dist', 'index.html'))) return
  buildUi()
}

/** The browser build of `socketspec/client`, an ES module without imports (SPEC §11). */
export const CLIENT_BUNDLE = join(repoRoot, 'dist', 'client', 'socketspec-client.js')

/**
 * Build dist/client/socketspec-client.js when it is missing or older than one
 * of the sources its source map lists, so that a browser test never runs a
 * stale client. Returns the bundle's path.
 */
export function ensureClientBuilt (): string {
  if (!existsSync(CLIENT_BUNDLE) || clientSourcesChanged()) buildUi()
  return CLIENT_BUNDLE
}

function clientSourcesChanged (): boolean {
  const built = statSync(CLIENT_BUNDLE).mtimeMs
  let sources: string[]
  try {
    sources = (JSON.parse(readFileSync(CLIENT_BUNDLE + '.map', 'utf8')) as { sources: string[] }).sources
  } catch {
    return true
  }
  return sources.some((source) => {
    const file = resolve(dirname(CLIENT_BUNDLE), source)
    return !existsSync(file) || statSync(file).mtimeMs > built
  })
}

/** Width of the document against the viewport, and the elements that stick out on the right. */
export interface WidthReport {
  scrollWidth: number
  innerWidth: number
  /** Up to 5 unclipped elements whose right edge is past the viewport, as `tag.class[data-testid]`. */
  offenders: string[]
}

/** Measures horizontal overflow: `scrollWidth <= innerWidth` means nothing widens the page. */
export async function widthReport (page: Page): Promise<WidthReport> {
  return page.evaluate(() => {
    const innerWidth = window.innerWidth
    const describe = (el: Element) => `${el.tagName.toLowerCase()}${el.classList.length > 0 ? '.' + Array.from(el.classList).join('.') : ''}${el.getAttribute('data-testid') === null ? '' : `[${el.getAttribute('data-testid') as string}]`}`
    // Inside a scrolling or clipping ancestor an element may be wider than the viewport: that ancestor is what counts.
    const clipped = (el: Element) => {
      for (let p = el.parentElement; p !== null && p !== document.body; p = p.parentElement) {
        if (getComputedStyle(p).overflowX !== 'visible') return true
      }
      return false
    }
    const offenders: string[] = []
    for (const el of Array.from(document.body.querySelectorAll('*'))) {
      const r = el.getBoundingClientRect()
      if (r.width > 0 && r.right > innerWidth + 0.5 && !clipped(el)) offenders.push(`${describe(el)} right=${Math.round(r.right)}`)
      if (offenders.length === 5) break
    }
    return { scrollWidth: document.documentElement.scrollWidth, innerWidth, offenders }
  })
}

/** Visible controls (buttons, inputs, textareas, links) lying partly outside the viewport horizontally. */
export async function controlsOutsideViewport (page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const out: string[] = []
    for (const el of Array.from(document.querySelectorAll('button, input, textarea, select, a[href]'))) {
      const r = el.getBoundingClientRect()
      if (r.width === 0 || r.height === 0) continue
      if (r.left < -0.5 || r.right > window.innerWidth + 0.5) {
        out.push(`${el.tagName.toLowerCase()}[${el.getAttribute('data-testid') ?? el.textContent ?? ''}] ${Math.round(r.left)}..${Math.round(r.right)}`)
      }
    }
    return out
  })
}

/** Each control is visible, inside the viewport horizontally once scrolled to, and receives the click. */
export async function reachable (t: { ok (value: unknown, message: string): unknown }, page: Page, testids: string[]): Promise<void> {
  const width = page.viewportSize()?.width ?? 0
  for (const id of testids) {
    const control = page.getByTestId(id).first()
    await control.click({ trial: true })
    const box = await control.boundingBox()
    t.ok(box !== null && box.x >= 0 && box.x + box.width <= width, `${id} is visible, clickable and inside the ${width} px viewport`)
  }
}
