// Raw room members of the recovery benchmarks (bench/recovery.mjs and its
// storm worker, bench/lib/storm-clients.mjs): a plain `ws` client that joins a
// room through the `join` event and keeps what recovery needs.
import { WebSocket } from 'ws'

/**
 * Connect to `url`, join `room`; resolves once the join is answered with the
 * member: `said` (the `n` of every `said` frame read), `token` (resume token),
 * `id` (connection id), `position` ({offset, epoch} of the last frame),
 * `resumed` (the `__resumed__` payload, once one came) and `onResumed`.
 */
export function member (url, room) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, ['socketspec'])
    const m = { ws, said: [], token: undefined, id: undefined, position: undefined, resumed: undefined, onResumed: null }
    ws.on('error', reject)
    ws.on('message', (data) => {
      const f = JSON.parse(data)
      if (f.event === '__connect__') {
        m.token = f.payload.resume_token
        m.id = f.payload.connection_id
        ws.send(JSON.stringify({ event: 'join', payload: { room }, id: 'j' }))
      } else if (f.event === '__joined__') {
        m.position = { offset: f.payload.offset, epoch: f.payload.epoch }
      } else if (f.id === 'j') {
        resolve(m)
      } else if (f.event === 'said') {
        m.said.push(f.payload.n)
        if (f.offset !== undefined) m.position = { offset: f.offset, epoch: f.epoch }
      } else if (f.event === '__resumed__') {
        m.resumed = f.payload
        m.onResumed?.()
      }
    })
  })
}

/** `n` members of `room`, connected 100 at a time. */
export async function members (url, room, n) {
  const out = []
  for (let i = 0; i < n; i += 100) out.push(...await Promise.all(Array.from({ length: Math.min(100, n - i) }, () => member(url, room))))
  return out
}

/** Resolve with the milliseconds until `check()` holds (polled), reject after `ms`. */
export function until (check, ms = 60_000, what = 'timed out') {
  const started = Date.now()
  return new Promise((resolve, reject) => {
    const poll = () => {
      if (check()) resolve(Date.now() - started)
      else if (Date.now() - started > ms) reject(new Error(what))
      else setTimeout(poll, 2)
    }
    poll()
  })
}
