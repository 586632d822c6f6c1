// The resume storm's clients (bench/recovery.mjs), in a worker thread: their
// parsing runs on another event loop, so the main thread's stall figure is the
// server's alone (as with clients in another process, minus the process).
// Messages from the parent: {cmd: 'connect', url, room, count} → {type: 'connected'};
// {cmd: 'count', n} → {type: 'counted'} once every member read n `said` frames;
// {cmd: 'drop'} → {type: 'dropped'}; {cmd: 'open', url} → {type: 'opened'};
// {cmd: 'resume'} → {type: 'resumed', recovered, wrong, ms} with the expected frames
// 1..missed (sent in the resume command).
import { parentPort } from 'node:worker_threads'
import { WebSocket } from 'ws'
import { members as join, until } from './room-members.mjs'

const members = []
let fresh = []

parentPort.on('message', async (msg) => {
  if (msg.cmd === 'connect') {
    members.push(...await join(msg.url, msg.room, msg.count))
    parentPort.postMessage({ type: 'connected' })
  } else if (msg.cmd === 'count') {
    await until(() => members.every((m) => m.said.length >= msg.n), 120_000, 'storm clients: timed out')
    parentPort.postMessage({ type: 'counted' })
  } else if (msg.cmd === 'drop') {
    for (const m of members) m.ws.terminate()
    parentPort.postMessage({ type: 'dropped' })
  } else if (msg.cmd === 'open') {
    fresh = await Promise.all(members.map(() => new Promise((resolve, reject) => {
      const ws = new WebSocket(msg.url, ['socketspec'])
      const m = { ws, said: [], resumed: undefined, connected: null, go: null }
      m.connected = new Promise((resolve) => { m.go = resolve })
      ws.on('error', reject)
      ws.on('open', () => resolve(m))
      ws.on('message', (data) => {
        const f = JSON.parse(data)
        if (f.event === '__connect__') m.go()
        else if (f.event === 'said') m.said.push(f.payload.n)
        else if (f.event === '__resumed__') m.resumed = f.payload
      })
    })))
    await Promise.all(fresh.map((m) => m.connected))
    parentPort.postMessage({ type: 'opened' })
  } else if (msg.cmd === 'resume') {
    const started = performance.now()
    fresh.forEach((m, i) => m.ws.send(JSON.stringify({ event: '__resume__', payload: { token: members[i].token, rooms: { [msg.room]: members[i].position } } })))
    await until(() => fresh.every((m) => m.resumed !== undefined), 120_000, 'storm clients: timed out')
    const ms = performance.now() - started
    const expected = Array.from({ length: msg.missed }, (_, i) => i + 1).join()
    let recovered = 0
    let wrong = 0
    for (const m of fresh) {
      if (m.resumed.recovered === true) recovered++
      if (m.said.join() !== expected) wrong++
    }
    for (const m of fresh) m.ws.terminate()
    parentPort.postMessage({ type: 'resumed', recovered, wrong, ms })
  }
})
