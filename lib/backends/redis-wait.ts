import type { Redis } from 'ioredis'

// Waiting on Redis connections, for the adapter (redis.ts) and its admin part (redis-admin.ts).

/** Resolves true once the client is ready, false after `ms`. */
export function waitReady (client: Redis, ms: number): Promise<boolean> {
  if (client.status === 'ready') return Promise.resolve(true)
  return new Promise((resolve) => {
    const done = (ok: boolean): void => {
      clearTimeout(timer)
      client.off('ready', onReady)
      resolve(ok)
    }
    const onReady = (): void => done(true)
    const timer = setTimeout(done, ms, false)
    client.on('ready', onReady)
  })
}

/** Waits for `promise` at most `ms` (it must not reject). */
export function withTimeout (promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  return Promise.race([
    promise.then(() => {}),
    new Promise<void>((resolve) => { timer = setTimeout(resolve, ms) })
  ]).finally(() => clearTimeout(timer))
}
