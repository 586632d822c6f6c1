import type { ScaffoldOptions } from './options.js'

/** README.md of the new app. */
export function render (opts: ScaffoldOptions): string {
  const env: string[] = ['| `PORT` | port `npm start` listens on (fastify-cli; default 3000) |', '| `FASTIFY_ADDRESS` | address to listen on (fastify-cli; default localhost) |']
  if (opts.auth === 'jwt') env.push('| `JWT_SECRET` | HS256 secret of the client tokens (a development secret is used when unset) |')
  if (opts.redis) env.push('| `REDIS_URL` | e.g. `redis://localhost:6379`: share rooms and broadcasts between processes; in-memory when unset |')
  const connect = opts.auth === 'jwt'
    ? "const ws = new WebSocket('ws://localhost:3000/ws?token=' + token)"
    : "const ws = new WebSocket('ws://localhost:3000/ws')"
  return `# ${opts.name}

A [Fastify](https://fastify.dev) app with schema-first WebSocket events, made
with [socketspec](https://www.npmjs.com/package/socketspec).

## Commands

\`\`\`sh
npm install
npm test           # type-checks (tsc), then node:test tests with socketspec's in-process TestClient
npm start          # builds, then fastify start: ws://localhost:3000/ws
npm run dev        # fastify start in watch mode on the TypeScript sources (through tsx)
npm run asyncapi   # writes the AsyncAPI 3.0 document to asyncapi.json
\`\`\`

Open http://localhost:3000/socket-docs for the interactive docs: every event,
its schema, and a "Try it out" console. The AsyncAPI document is served at
http://localhost:3000/socket-docs/asyncapi.json; its title and version are
the \`name\` and \`version\` of package.json.

## Layout

| path | what |
|---|---|
| \`app.ts\` | the application plugin that \`fastify start\` runs: loads \`plugins/\`, then \`events/\` with [@fastify/autoload](https://github.com/fastify/fastify-autoload) |
| \`plugins/socketspec.ts\` | registers socketspec (WebSocket route, docs${opts.auth === 'jwt' ? ', JWT auth' : ''}${opts.redis ? ', Redis backend' : ''}) |
| \`events/echo.ts\` | an \`echo\` event answering with \`echo_response\` |
| \`events/chat.ts\` | chat rooms: \`join_room\`, \`send_message\`, \`leave_room\` |
| \`test/\` | tests (\`node --test\`, run through tsx), one file per event group; \`test/helper.ts\` builds the app and a TestClient per test |

Add an event group: create \`events/<group>.ts\` exporting a plugin that calls
\`fastify.socket.on(...)\` (it is loaded on the next start, no need to edit
\`app.ts\`), and test it in \`test/<group>.test.ts\`. Shared plugins
(decorators, hooks) go in \`plugins/\`, wrapped with fastify-plugin.

## Environment

| variable | meaning |
|---|---|
${env.join('\n')}

## Talking to it

\`\`\`js
${connect}
ws.onmessage = (e) => console.log(JSON.parse(e.data))
ws.onopen = () => ws.send(JSON.stringify({ event: 'echo', payload: { echo: 'hi' } }))
\`\`\`
`
}
