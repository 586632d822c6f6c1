import type { ScaffoldOptions } from './options.js'

/** test/docs.test.ts */
export function render (_opts: ScaffoldOptions): string {
  return `import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import { build, match } from './helper.js'

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))

test('the docs UI and the AsyncAPI document are served', async (t) => {
  const { app } = await build(t)

  const ui = await app.inject('/socket-docs')
  assert.equal(ui.statusCode, 200)

  const res = await app.inject('/socket-docs/asyncapi.json')
  assert.equal(res.statusCode, 200)
  const doc = res.json()
  assert.equal(doc.asyncapi, '3.0.0')
  match(doc.info, { title: pkg.name, version: pkg.version }, 'titled after package.json')
  const names = Object.values(doc.components.messages as Record<string, { name: string }>).map((m) => m.name)
  for (const event of ['echo', 'join_room', 'send_message', 'leave_room', 'message']) {
    assert.ok(names.includes(event), event + ' is documented')
  }
})
`
}
