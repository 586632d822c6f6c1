/** Help texts, one per command; printed on stdout by `--help`. */
export const HELP = {
  main: `Usage: socketspec <command> [options]

Schema-first WebSocket event APIs for Fastify.

Commands:
  init <dir>          Scaffold a new Fastify + socketspec app in <dir>
  asyncapi <module>   Print or write the AsyncAPI 3.0 document of an app module
  types <source>      Write the client's Contract type (an app module, asyncapi.json or its URL)
  token               Print a development JWT (HS256) for jwtAuth
  help [command]      Show help for a command

Options:
  -h, --help          Show this help
  -v, --version       Print the socketspec version
`,
  init: `Usage: socketspec init <dir> [options]

Scaffold a new app in the fastify-cli layout (as \`fastify generate\`): app.ts
loads plugins/ (plugins/socketspec.ts) and events/ (an echo and a chat room
example) with @fastify/autoload, so a new file in events/ adds its events;
test/ (node:test + TestClient), package.json, tsconfig.json, README.
Scripts: npm start = fastify start, npm run dev = the same in watch mode,
npm test = tsc type check (TypeScript 7) + node --test (through tsx).
The AsyncAPI title and version are the app's package.json name and version.

Options:
  --name <pkg-name>     npm package name (default: derived from <dir>)
  --auth <jwt|none>     Protect the socket with JWT (HS256, JWT_SECRET) (default: none)
  --redis               Use the Redis backend when REDIS_URL is set
  --socketspec <spec>   How the app depends on socketspec: a version range, a
                        tarball or directory path (written as file:<absolute path>),
                        a URL (default: where this socketspec comes from: ^<version>
                        from the npm registry, file:<dir> from a checkout, else
                        the tarball or URL npm installed it from)
  --force               Write into a non-empty directory, overwriting scaffold files
  -h, --help            Show this help

Examples:
  npx socketspec init my-app --auth jwt
  npx socketspec init my-app --socketspec ./socketspec-0.1.0.tgz
`,
  asyncapi: `Usage: socketspec asyncapi <module> [options]

Load an app module without listening, and print its AsyncAPI 3.0 document.

<module> is resolved from the current directory. Its default export is either
a Fastify plugin, (fastify, opts) => ..., registered on a fresh Fastify
instance (with the module's exported \`options\` as server options), or an app
factory, (opts?) => FastifyInstance | Promise<FastifyInstance>. A named export
\`buildApp\` is used as a factory when there is no default export.
TypeScript modules load when tsx is installed in the project (or run under it).

The socketspec registration is found by its decorator name (default: socket),
else by looking for any decorator with an asyncapi() function.

Options:
  --out <file>          Write the document to <file> instead of stdout
  --decorator <name>    Decorator name given to socketspec (default: socket)
  -h, --help            Show this help

Example:
  npm run build && npx socketspec asyncapi dist/app.js --out asyncapi.json
`,
  types: `Usage: socketspec types <app module | asyncapi.json | http(s) URL> [options]

Write a TypeScript module for the client SDK (socketspec/client) from an
AsyncAPI 3 document: no imports, it exports

  contract   the hash the server sends in __connect__.contract
  Contract   event name → { payload, reply, outbound }, for connect<Contract>()
  one type per titled payload schema (EchoPayload, ...)

System events (__x__) are left out. The source is an app module (loaded as
\`socketspec asyncapi\` loads it, see its help), a .json file written by
\`socketspec asyncapi\`, or the URL of a running server's document
(<docsUrl>/asyncapi.json, e.g. http://localhost:3000/socket-docs/asyncapi.json).

Options:
  --out <file>          Write the module to <file> (a .ts file) instead of stdout
  --token <token>       Bearer token for a URL whose docs need docsAccessToken
                        (default: the SOCKETSPEC_DOCS_TOKEN environment variable)
  --decorator <name>    Decorator name given to socketspec (app module only)
  -h, --help            Show this help

Then:
  import { connect } from 'socketspec/client'
  import { contract, type Contract } from './api.js'
  const client = connect<Contract>(url, { contract })  // onState: info.contract === 'stale' when the server changed

Examples:
  npx socketspec types dist/app.js --out src/api.ts
  npx socketspec types http://localhost:3000/socket-docs/asyncapi.json --out src/api.ts
`,
  token: `Usage: socketspec token [options]

Print a JWT signed with HS256, for trying an app that uses
jwtAuth({ secret, algorithm: 'HS256' }). For development only.

Options:
  --secret <secret>     The HMAC secret (default: the JWT_SECRET environment variable)
  --sub <user>          Subject, i.e. the userId (default: dev-user)
  --role <role>         Role claim
  --expires <duration>  Lifetime: seconds or 30m, 1h, 7d (default: 1h)
  -h, --help            Show this help

Example:
  JWT_SECRET=dev-secret npx socketspec token --sub alice
`
} as const

export type HelpTopic = keyof typeof HELP
