import t from 'tap'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { appPackage } from '../lib/app-package.js'
import { build } from './helpers/build.js'

t.test('appPackage reads the nearest package.json above a directory', async (t) => {
  const dir = t.testdir({
    app: { 'package.json': JSON.stringify({ name: 'chat-api', version: '2.3.4', description: 'Chat', private: true }), src: { deep: {} } },
    broken: { 'package.json': '{ nope' },
    odd: { 'package.json': JSON.stringify({ name: 42, version: '' }) }
  })
  t.same(appPackage(join(dir, 'app/src/deep')), { name: 'chat-api', version: '2.3.4', description: 'Chat' })
  const broken = appPackage(join(dir, 'broken'))
  t.equal(broken.name, undefined, 'unreadable JSON: nothing')
  t.equal(broken.version, undefined)
  const odd = appPackage(join(dir, 'odd'))
  t.equal(odd.name, undefined, 'non-strings are left out')
  t.equal(odd.version, undefined, 'empty strings too')
  mkdirSync(join(dir, 'app/other'))
  writeFileSync(join(dir, 'app/other/x.txt'), '')
  t.equal(appPackage(join(dir, 'app/other')).name, 'chat-api')
})

t.test("the AsyncAPI info defaults to the app's package.json; options win", async (t) => {
  const pkg = appPackage()
  t.ok(pkg.name !== undefined, 'tests run in a directory with a package.json')
  const app = await build(t)
  await app.ready()
  t.match(app.socket.asyncapi().info, { title: pkg.name, version: pkg.version })
  const named = await build(t, { title: 'My API', version: '9.9.9' })
  await named.ready()
  t.match(named.socket.asyncapi().info, { title: 'My API', version: '9.9.9' })
})
