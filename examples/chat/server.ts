import { buildApp } from './app.js'

const port = Number(process.env.PORT ?? 3000)
const host = process.env.HOST ?? '127.0.0.1'
const app = await buildApp({ logger: true, redisUrl: process.env.REDIS_URL })
await app.listen({ port, host })
const origin = `http://${host === '0.0.0.0' ? 'localhost' : host}:${port}`
app.log.info(`chat page at ${origin}/, docs UI at ${origin}/socket-docs`)

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    app.close().then(() => process.exit(0), () => process.exit(1))
  })
}
