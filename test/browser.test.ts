// Every test that needs a browser, in one Chromium: the docs UI
// (e2e/browser/docs-ui.ts), its Admin tab (e2e/browser/admin-ui.ts) and the client SDK
// with the chat example's page (e2e/browser/client-sdk.ts): one launch, one test
// process, instead of one of each per suite. It lives in test/, not test/e2e/, so
// that it sorts early: tap starts the files with a coverage map in name order, and
// this is the longest of them (~80 s on a loaded run); started late it was the tail.
import t from 'tap'
import { chromiumSkipReason, ensureClientBuilt, ensureUiBuilt, startChromium } from './helpers/chromium.js'
import { adminUiTests } from './e2e/browser/admin-ui.js'
import { clientServedTests, clientSdkTests } from './e2e/browser/client-sdk.js'
import { docsUiTests } from './e2e/browser/docs-ui.js'

const skip = chromiumSkipReason()
// Three suites' worth of time: .taprc's 120 s per file is sized for one.
t.setTimeout(240_000)

clientServedTests(t)

t.test('in Chromium', { skip: skip ?? false }, async (t) => {
  ensureUiBuilt()
  ensureClientBuilt()
  const browser = await startChromium(t)
  t.test('docs UI', async (t) => docsUiTests(t, browser))
  t.test('docs UI: Admin tab', async (t) => adminUiTests(t, browser))
  t.test('client SDK', async (t) => clientSdkTests(t, browser))
})
