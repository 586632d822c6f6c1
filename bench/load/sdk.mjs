// Client SDK workload (issue 12): one client object of the peer's own SDK,
// `concurrency` request loops on it, each awaiting one request at a time:
//   socketspec: `client.request('add', { a, b })` from the build's
//               dist/lib/client/index.js (the Node entry, `ws` underneath);
//   socketio:   socket.io-client's `socket.emitWithAck('add', { a, b })`,
//               `transports: ['websocket']` (also `ws` underneath in Node).
// Unlike the other workloads this one measures the client: the load generator
// runs the SDK, and its own CPU per request is the number that matters.
import { resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { Histogram } from '../lib/stats.mjs'
import { measureWindow } from './echo.mjs'
import { noHooks, waitUntil } from './hooks.mjs'

const DEFAULT_DIST = fileURLToPath(new URL('../../dist', import.meta.url))

/** The SDK of `peer` connected to the server on `port`: `request(i)` resolves with the reply's payload. */
export async function openSdk (peer, port, { clientDist = null, timeoutMs = 10_000 } = {}) {
  if (peer === 'socketspec') {
    const entry = pathToFileURL(resolve(clientDist ?? DEFAULT_DIST, 'lib/client/index.js'))
    const { connect } = await import(entry.href)
    const client = connect(`ws://127.0.0.1:${port}/ws`, { reconnect: false, requestTimeout: 30_000 })
    await withTimeout(client.ready, timeoutMs, 'socketspec client: no __connect__')
    return {
      request: (i) => client.request('add', { a: i, b: 1 }),
      close: () => client.close()
    }
  }
  if (peer === 'socketio') {
    const { io } = await import('socket.io-client')
    const socket = io(`http://127.0.0.1:${port}`, { transports: ['websocket'], reconnection: false, forceNew: true })
    await withTimeout(new Promise((resolve, reject) => {
      socket.once('connect', resolve)
      socket.once('connect_error', reject)
    }), timeoutMs, 'socket.io-client: no connect')
    return {
      request: (i) => socket.emitWithAck('add', { a: i, b: 1 }),
      close: () => socket.close()
    }
  }
  throw new TypeError(`the sdk workload has no client for peer ${peer}`)
}

function withTimeout (promise, ms, what) {
  let timer
  return Promise.race([
    promise,
    new Promise((resolve, reject) => { timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms) })
  ]).finally(() => clearTimeout(timer))
}

/**
 * `concurrency` loops over one SDK client, each sending the next request as
 * soon as its previous one resolved (closed loop). Every reply is checked
 * (`sum === a + 1`). Counted over the harness's window, stopped after
 * `maxRequests` in all or the window, whichever comes first.
 */
export async function sdkLoop ({ peer, port, concurrency = 64, clientDist = null, warmupMs = 1000, windowMs = 3000, maxRequests = Infinity }, hooks = noHooks) {
  const sdk = await openSdk(peer, port, { clientDist })
  const hist = new Histogram()
  const state = { running: true }
  let seq = 0
  let completed = 0
  let active = 0
  let errors = 0
  let mismatches = 0
  let lastError = null

  async function loop () {
    active++
    try {
      while (state.running && seq < maxRequests) {
        const i = seq++
        const t0 = performance.now()
        let reply
        try {
          reply = await sdk.request(i)
        } catch (err) {
          errors++
          lastError ??= String(err?.code ?? '') + ' ' + String(err?.message ?? err).slice(0, 200)
          return // a failed connection would otherwise spin
        }
        hist.recordMs(performance.now() - t0)
        if (reply?.sum !== i + 1) mismatches++
        completed++
      }
    } finally {
      active--
    }
  }
  for (let k = 0; k < concurrency; k++) void loop()

  const result = await measureWindow({
    warmupMs,
    windowMs,
    hooks,
    hist,
    counter: () => completed,
    stopWhen: () => active === 0
  })
  state.running = false
  await waitUntil(() => active === 0, 5000)
  result.errors = errors
  result.lastError = lastError
  result.mismatches = mismatches
  result.total = completed
  result.lost = active
  result.concurrency = concurrency
  sdk.close()
  return result
}
