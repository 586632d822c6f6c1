// `npm run screenshot`: runs the built chat example, drives the docs UI in
// Chromium and saves docs/screenshot.png (1280×800) for the README.
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { chromium } from 'playwright-core'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const appModule = join(root, 'dist', 'examples', 'chat', 'app.js')
const out = resolve(root, process.argv[2] ?? 'docs/screenshot.png')
const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

if (!existsSync(appModule) || !existsSync(join(root, 'ui', 'dist', 'index.html'))) {
  console.log('building first (npm run build)…')
  const res = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' })
  if (res.status !== 0) process.exit(res.status ?? 1)
}
if (!existsSync(executablePath)) {
  console.error(`${executablePath} is missing: apt-get install chromium (or set CHROMIUM_PATH)`)
  process.exit(1)
}

const { buildApp } = await import(pathToFileURL(appModule).href)
const app = await buildApp({ logger: false })
await app.listen({ port: 0, host: '127.0.0.1' })
const { port } = app.server.address()
const browser = await chromium.launch({
  executablePath,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync']
})
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } })
  page.setDefaultTimeout(10_000)
  await page.goto(`http://127.0.0.1:${port}/socket-docs`)
  await page.getByTestId('connect-0').click()
  await page.getByTestId('conn-id-0').waitFor()
  await page.getByTestId('add-connection').click()
  await page.getByTestId('connect-1').click()
  await page.getByTestId('conn-id-1').waitFor()
  await page.getByTestId('conn-select-0').check()

  // The echo event of the example, or the first event if the example has none.
  const echo = await page.locator('[data-testid="event-echo"]').count() > 0
  const name = echo ? 'echo' : (await page.locator('main [data-testid^="event-toggle-"]').first().getAttribute('data-testid')).slice('event-toggle-'.length)
  const card = page.locator(`[data-testid="event-${name}"]`).first()
  await card.locator(`[data-testid="event-toggle-${name}"]`).click()
  await card.locator(`[data-testid="tryit-${name}"]`).click()
  await card.locator(`[data-testid="send-${name}"]`).click()
  await card.locator('[data-kind]').first().waitFor()
  // Card header right under the sticky status bar, so the result is in view.
  await card.evaluate((el) => {
    const bar = document.querySelector('[data-testid="status-bar"]').getBoundingClientRect().height
    window.scrollTo({ top: el.getBoundingClientRect().top + window.scrollY - bar - 10, behavior: 'instant' })
  })
  await page.mouse.move(0, 0)
  await page.screenshot({ path: out })
  console.log(`saved ${out}`)
} finally {
  await browser.close()
  await app.close()
}
