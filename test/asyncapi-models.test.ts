// Code generators get named models from the AsyncAPI document: AsyncAPI
// Modelina (what `asyncapi generate models` runs) on the example app.
import t from 'tap'
import { TypeScriptGenerator } from '@asyncapi/modelina'
import { buildApp } from '../examples/chat/app.js'

t.test('Modelina turns the example app\'s document into named models, no AnonymousSchema', async (t) => {
  const app = await buildApp({ logger: false })
  t.teardown(() => app.close())
  await app.ready()
  const doc = app.socket.asyncapi()
  const models = await new TypeScriptGenerator({ modelType: 'interface' }).generate(doc)
  const names = models.map(m => m.modelName).sort()
  t.comment(`${names.length} models: ${names.join(', ')}`)
  t.same(names.filter(n => /^Anonymous/i.test(n)), [], 'no anonymous model')
  for (const expected of ['EchoPayload', 'EchoResponsePayload', 'JoinPayload', 'ConnectPayload', 'ErrorPayload']) {
    t.ok(names.includes(expected), `a model named ${expected}`)
  }
  const echo = models.find(m => m.modelName === 'EchoPayload')
  t.match(echo?.result, /echo: string/, 'EchoPayload has its typed field')
  t.equal(new Set(names).size, names.length, 'model names are unique')
})
