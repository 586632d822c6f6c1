import type { ScaffoldOptions } from './options.js'

/** test/docs.test.ts */
export function render (_opts: ScaffoldOptions): string {
  return `import t from 'tap'
import { build } from './helper.js'

t.test('the docs UI and the AsyncAPI document are served', async (t) => {
  const { app } = await build(t)

  const ui = await app.inject('/socket-docs')
  t.equal(ui.statusCode, 200)

  const res = await app.inject('/socket-docs/asyncapi.json')
  t.equal(res.statusCode, 200)
  const doc = res.json()
  t.equal(doc.asyncapi, '3.0.0')
  const names = Object.values(doc.components.messages as Record<string, { name: string }>).map((m) => m.name)
  for (const event of ['echo', 'join_room', 'send_message', 'leave_room', 'message']) {
    t.ok(names.includes(event), event + ' is documented')
  }
})
`
}
