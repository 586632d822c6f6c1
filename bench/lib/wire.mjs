// What the load generator speaks to each peer: connection set-up (auth, readiness),
// pre-serialized client frames, and cheap byte-level matching of replies.
import WebSocket from 'ws'

/** Peers in the order the harness alternates them. */
export { PEERS } from './peers.mjs'

const ECHO_MARK = Buffer.from('"echo":"')
const DATA_MARK = Buffer.from('"data":"')
const ROOM_MARK = Buffer.from('"room":"')
const NUL_MASK = () => {}

/** The frame a client puts on the wire for `text`: masked with an all-zero key, so built once and reusable. */
export function clientFrame (text) {
  const payload = Buffer.from(text)
  const len = payload.length
  let header
  if (len < 126) {
    header = Buffer.alloc(6)
    header[1] = 0x80 | len
  } else if (len < 65536) {
    header = Buffer.alloc(8)
    header[1] = 0x80 | 126
    header.writeUInt16BE(len, 2)
  } else {
    header = Buffer.alloc(14)
    header[1] = 0x80 | 127
    header.writeBigUInt64BE(BigInt(len), 2)
  }
  header[0] = 0x81
  return Buffer.concat([header, payload])
}

/** The unsigned integer written right after `mark` in `buf`, or -1. */
export function numberAfter (buf, mark) {
  let i = buf.indexOf(mark)
  if (i === -1) return -1
  i += mark.length
  let n = 0
  let digits = 0
  for (let c = buf[i]; c >= 48 && c <= 57; c = buf[++i]) {
    n = n * 10 + (c - 48)
    digits++
  }
  return digits === 0 ? -1 : n
}

/** Sequence number of an echo reply (`"echo":"<seq>|...`), or -1. */
export const echoSeq = (buf) => numberAfter(buf, ECHO_MARK)
/** Sequence number of a broadcast delivery (`"data":"<seq>|...`), or -1. */
export const bcastSeq = (buf) => numberAfter(buf, DATA_MARK)
/** Whether `buf` is the acknowledgement of a room join. */
export const isJoined = (buf) => buf.indexOf(ROOM_MARK) !== -1

/**
 * Send the join `frame` (clientFrame of protocol(peer).join) on `conn` and call
 * `onJoined()` when its acknowledgement comes; other frames meanwhile go to
 * `conn.other`, and the connection's handler is cleared after the join.
 */
export function sendJoin (conn, frame, onJoined) {
  conn.onMessage = (buf) => {
    if (isJoined(buf)) {
      conn.onMessage = null
      onJoined()
    } else {
      conn.other(buf)
    }
  }
  conn.send(frame)
}

/** `<seq>|` padded with `x` to exactly `bytes` characters. */
export function padded (seq, bytes) {
  const head = `${seq}|`
  return head + 'x'.repeat(Math.max(0, bytes - head.length))
}

const json = {
  url: (port) => `ws://127.0.0.1:${port}/ws`,
  echo: (text, ack) => `{"event":"echo","payload":{"echo":"${text}"},"id":"${ack}"}`,
  join: (room, ack) => `{"event":"join","payload":{"room":"${room}"},"id":"j${ack}"}`,
  broadcast: (room, data) => `{"event":"broadcast","payload":{"room":"${room}","data":"${data}"}}`
}

const socketio = {
  url: (port) => `ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket`,
  echo: (text, ack) => `42${ack}["echo",{"echo":"${text}"}]`,
  join: (room, ack) => `42${ack}["join",{"room":"${room}"}]`,
  broadcast: (room, data) => `42["broadcast",{"room":"${room}","data":"${data}"}]`
}

/** Frame builders and URL of a peer's protocol. */
export function protocol (peer) {
  if (peer === 'socketio') return socketio
  if (peer === 'raw' || peer === 'socketspec') return json
  throw new TypeError(`unknown peer ${peer}`)
}

const PONG_JSON = clientFrame('{"event":"__pong__","payload":{}}')
const PONG_EIO = clientFrame('3')
const CONNECT_EIO = clientFrame('40')

let corked = []
function uncorkAll () {
  const list = corked
  corked = []
  for (let i = 0; i < list.length; i++) {
    list[i].benchCorked = false
    list[i].uncork()
  }
}

/** A masked (zero key) control frame, e.g. a pong (0x8a) echoing `payload`. */
function controlFrame (b0, payload) {
  const f = Buffer.alloc(6 + payload.length)
  f[0] = b0
  f[1] = 0x80 | payload.length
  payload.copy(f, 6)
  return f
}

/** One client connection; `onMessage(buf)` is swapped by the workload. */
class Conn {
  constructor (peer, ws) {
    this.peer = peer
    this.ws = ws
    this.sock = null
    this.onMessage = null
    this.errors = 0
    this.lastError = null
    this.closed = false
  }

  /** Write a pre-built frame; writes made in the same tick leave in one syscall. */
  send (frame) {
    const s = this.sock
    if (s === null || this.closed) return false
    if (s.benchCorked !== true) {
      s.benchCorked = true
      s.cork()
      if (corked.push(s) === 1) process.nextTick(uncorkAll)
    }
    s.write(frame)
    return true
  }

  /** Route one inbound text frame to the workload, or to `other`. */
  dispatch (buf) {
    if (this.onMessage !== null) this.onMessage(buf)
    else this.other(buf)
  }

  /**
   * Read frames straight off the TCP socket from now on, bypassing ws's
   * receiver stream: the load generator's receive path is its largest cost
   * (one delivery per member in broadcasts).
   */
  takeOver () {
    const sock = this.sock
    if (sock === null || this.closed) return
    sock.removeAllListeners('data')
    let pending = null
    sock.on('data', (chunk) => {
      let buf = chunk
      if (pending !== null) {
        buf = Buffer.concat([pending, chunk])
        pending = null
      }
      const n = buf.length
      let off = 0
      while (off + 2 <= n) {
        const b1 = buf[off + 1]
        let len = b1 & 0x7f
        let hdr = 2
        if (len === 126) {
          if (off + 4 > n) break
          len = (buf[off + 2] << 8) | buf[off + 3]
          hdr = 4
        } else if (len === 127) {
          if (off + 10 > n) break
          len = buf.readUInt32BE(off + 2) * 4294967296 + buf.readUInt32BE(off + 6)
          hdr = 10
        }
        if ((b1 & 0x80) !== 0) hdr += 4
        if (off + hdr + len > n) break
        const opcode = buf[off] & 0x0f
        const start = off + hdr
        off = start + len
        if (opcode === 1 || opcode === 2) this.dispatch(buf.subarray(start, off))
        else if (opcode === 8) this.remoteClose(buf.subarray(start, off))
        else if (opcode === 9) this.send(controlFrame(0x8a, buf.subarray(start, off)))
      }
      if (off < n) pending = buf.subarray(off)
    })
  }

  remoteClose (payload) {
    const code = payload.length >= 2 ? payload.readUInt16BE(0) : 1005
    this.noteError(`closed by server: ${code} ${payload.subarray(2)}`)
    this.closed = true
    this.sock.destroy()
  }

  /** Handle what no workload matched: heartbeats and errors. */
  other (buf) {
    if (this.peer === 'socketio') {
      if (buf.length === 1 && buf[0] === 50) this.send(PONG_EIO)
      else if (buf[0] === 52 && buf[1] === 52) this.noteError(buf.toString())
      return
    }
    const text = buf.toString()
    if (text.includes('"__ping__"')) this.send(PONG_JSON)
    else if (text.includes('"__error__"')) this.noteError(text)
  }

  noteError (text) {
    this.errors++
    if (this.lastError === null) this.lastError = text.slice(0, 300)
  }

  /** Close without the closing handshake (end of a run). */
  terminate () {
    this.closed = true
    this.ws.terminate()
  }

  /** Close with the closing handshake. */
  close () {
    this.closed = true
    this.ws.close(1000)
  }
}

/**
 * Open one connection and resolve once the peer considers it established:
 * raw on open (auth ran before the upgrade), socketspec on `__connect__`,
 * Socket.IO on the namespace CONNECT packet.
 */
export function connect (peer, port, { token = null, timeoutMs = 10_000, localAddress = undefined } = {}) {
  const proto = protocol(peer)
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(proto.url(port), {
      perMessageDeflate: false,
      skipUTF8Validation: true,
      generateMask: NUL_MASK,
      maxPayload: 64 << 20,
      headers: token === null ? undefined : { authorization: `Bearer ${token}` },
      // one loopback source address has ~28k ephemeral ports toward a server: idle-100k spreads over several
      localAddress
    })
    const conn = new Conn(peer, ws)
    let settled = false
    const timer = setTimeout(() => fail(new Error(`connect timeout after ${timeoutMs} ms`)), timeoutMs)
    function done () {
      if (settled) return
      settled = true
      clearTimeout(timer)
      // Frames already inside ws's receiver still arrive through 'message'; new ones through takeOver.
      conn.takeOver()
      resolve(conn)
    }
    function fail (err) {
      if (settled) return
      settled = true
      clearTimeout(timer)
      conn.closed = true
      ws.terminate()
      reject(err)
    }
    ws.on('error', fail)
    ws.on('unexpected-response', (_req, res) => fail(new Error(`upgrade refused: HTTP ${res.statusCode}`)))
    ws.on('close', (code, reason) => {
      conn.closed = true
      fail(new Error(`closed before ready: ${code} ${reason}`))
    })
    ws.on('message', (buf) => {
      if (settled) conn.dispatch(buf)
      else handshake(buf)
    })
    ws.on('open', () => {
      conn.sock = ws._socket
      conn.sock.setNoDelay(true)
      if (peer === 'raw') done()
    })
    function handshake (buf) {
      if (peer === 'socketio') {
        if (buf[0] === 48) conn.send(CONNECT_EIO) // engine.io OPEN: join the default namespace
        else if (buf[0] === 52 && buf[1] === 48) done()
        else if (buf[0] === 52 && buf[1] === 52) fail(new Error(`socket.io connect error: ${buf}`))
        else conn.other(buf)
        return
      }
      const text = buf.toString()
      if (text.includes('"__connect__"')) done()
      else if (text.includes('"__error__"')) fail(new Error(`socketspec error at connect: ${text.slice(0, 300)}`))
      else conn.other(buf)
    }
  })
}

/**
 * Open `count` connections with at most `concurrency` handshakes in flight,
 * round-robin over `localAddresses` (source addresses, e.g. 127.0.0.2…) when given.
 */
export async function connectMany (peer, port, count, { concurrency = 100, tokens = null, timeoutMs = 60_000, deadline = Infinity, localAddresses = null } = {}) {
  const conns = new Array(count)
  let next = 0
  let failure = null
  async function worker () {
    while (failure === null && next < count) {
      if (performance.now() > deadline) {
        failure = new Error(`connecting ${count} clients did not finish in time (${next} started)`)
        return
      }
      const i = next++
      try {
        const localAddress = localAddresses === null ? undefined : localAddresses[i % localAddresses.length]
        conns[i] = await connect(peer, port, { token: tokens === null ? null : tokens[i % tokens.length], timeoutMs, localAddress })
      } catch (err) {
        failure ??= err
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker))
  if (failure !== null) {
    for (const c of conns) c?.terminate()
    throw failure
  }
  return conns
}
