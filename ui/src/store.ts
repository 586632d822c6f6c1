import { useEffect, useState } from 'preact/hooks'
import { connect, type ClientState, type SocketError, type SocketspecClient, type StateInfo } from '../../lib/client/browser.js'

/** `reconnecting`: the connection dropped and the client SDK is trying again by itself. */
export type ConnState = 'disconnected' | 'connecting' | 'open' | 'reconnecting'

export interface Conn {
  key: number
  label: string
  token: string
  state: ConnState
  connectionId?: string
  /** Last close, e.g. "4001 Authentication failed". */
  closeInfo?: string
  /** With `reconnecting`: the attempt number and when it starts (epoch ms). */
  attempt?: number
  retryAt?: number
}

export interface Frame {
  seq: number
  ts: number
  connKey: number
  connLabel: string
  /** in: server → client, out: client → server, info: something the UI noticed. */
  dir: 'in' | 'out' | 'info'
  event?: string
  id?: string
  text: string
}

/** A frame carrying the id of a request sent from this page: its reply or an `__error__`. */
export interface Answer { ts: number, event: string, payload: unknown, kind: 'reply' | 'error' }

/** A server → client frame of one event, as received on one connection. */
export interface Received {
  seq: number
  ts: number
  connKey: number
  connLabel: string
  event: string
  id?: string
  payload: unknown
  /** The event of the request from this page whose id it carries, if any. */
  answers?: string
}

/** One "Send" from a card and what came back for its id. */
export interface SendResult {
  /** Unique in the page (ids are only unique per connection). */
  key: string
  /** The frame's `id`, chosen by the client SDK when the frame leaves (unset while queued). */
  id?: string
  connKey: number
  connLabel: string
  sentAt: number
  /** The event declares a reply, not received yet. */
  awaitsReply: boolean
  payload: unknown
  /** queued: waits in the client SDK for the connection to come back. */
  status: 'queued' | 'sent' | 'answered' | 'error' | 'failed'
  note?: string
  answers: Answer[]
}

/** A request of this page on one client, and the frame that answered it (as read off the wire). */
interface Sent {
  result: SendResult
  event: string
  answer?: Answer
  /** The SDK's promise settled (answered, timed out…): later frames with its id go straight to the card. */
  settled?: boolean
}

/** One client SDK instance: a Connect until its Disconnect (reconnects included). */
interface Session {
  client?: SocketspecClient
  /** Requests written to the wire, by their id. */
  requests: Map<string, Sent>
  /** Requests whose frame has not left yet (the SDK queues while not open), in send order. */
  unsent: Sent[]
  /** Got `open` once: the next `open` is a reconnect. */
  opened: boolean
}

const MAX_FRAMES = 500
const MAX_RESULTS = 10
const MAX_RECEIVED = 20
/** Events without a reply answer only with an `__error__`: after this long, none is coming. */
const REQUEST_TIMEOUT_MS = 30_000
const RECONNECT = { minDelay: 500, maxDelay: 10_000 }
// Subprotocol entries must be RFC 7230 tokens; other tokens go in the query string.
const TOKEN_CHARS = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/

let keyCounter = 0
const newResultKey = (): string => `r${++keyCounter}`

function closeText (info: StateInfo): string {
  const reason = info.reason !== undefined && info.reason !== '' ? info.reason : info.error?.message ?? ''
  return `${info.code ?? 1006}${reason === '' ? '' : ' ' + reason}`
}

/**
 * Connections (one client SDK instance each), the frame log, the per-card results and the
 * received frames per event; components subscribe to changes. Answers are matched by `id`
 * only: emits and broadcasts carry none, so they are kept per event and never credited to a request.
 */
export class Store {
  url = ''
  conns: Conn[] = []
  activeKey = 0
  frames: Frame[] = []
  results = new Map<string, SendResult[]>()
  /** Server → client frames by event name, newest first. */
  received = new Map<string, Received[]>()
  /** How many frames of each event each connection (by label) received. */
  receivedCounts = new Map<string, Map<string, number>>()
  /** The live client of each connection, by connection key. */
  private sessions = new Map<number, Session>()
  private listeners = new Set<() => void>()
  private scheduled = false
  private seq = 0
  private nextKey = 0

  constructor (url: string) {
    this.url = url
    this.addConnection()
  }

  subscribe (fn: () => void): () => void {
    this.listeners.add(fn)
    return () => { this.listeners.delete(fn) }
  }

  /** Coalesces bursts of frames into one render. */
  private notify () {
    if (this.scheduled) return
    this.scheduled = true
    queueMicrotask(() => {
      this.scheduled = false
      for (const fn of this.listeners) fn()
    })
  }

  get active (): Conn | undefined {
    return this.conns.find((c) => c.key === this.activeKey) ?? this.conns[0]
  }

  setUrl (url: string) { this.url = url; this.notify() }

  addConnection (): Conn {
    const key = this.nextKey++
    const conn: Conn = { key, label: `Connection ${key + 1}`, token: '', state: 'disconnected' }
    this.conns = [...this.conns, conn]
    if (this.conns.length === 1) this.activeKey = key
    this.notify()
    return conn
  }

  removeConnection (key: number) {
    const conn = this.conns.find((c) => c.key === key)
    if (conn === undefined || this.conns.length === 1) return
    this.disconnect(key)
    this.conns = this.conns.filter((c) => c.key !== key)
    if (this.activeKey === key) this.activeKey = this.conns[0].key
    this.notify()
  }

  setToken (key: number, token: string) {
    this.update(key, { token })
  }

  setActive (key: number) { this.activeKey = key; this.notify() }

  private update (key: number, patch: Partial<Conn>) {
    this.conns = this.conns.map((c) => c.key === key ? Object.assign(c, patch) : c)
    this.notify()
  }

  private log (conn: Conn, dir: Frame['dir'], text: string, event?: string, id?: string) {
    this.frames = [{ seq: this.seq++, ts: Date.now(), connKey: conn.key, connLabel: conn.label, dir, event, id, text }, ...this.frames].slice(0, MAX_FRAMES)
    this.notify()
  }

  clearLog () { this.frames = []; this.notify() }

  /** Opens a client SDK connection; it reconnects by itself until Disconnect. */
  connect (key: number) {
    const conn = this.conns.find((c) => c.key === key)
    if (conn === undefined || this.sessions.has(key)) return
    const token = conn.token.trim()
    const inProtocol = token !== '' && TOKEN_CHARS.test(token)
    let url = this.url
    if (token !== '' && !inProtocol) url += (url.includes('?') ? '&' : '?') + 'token=' + encodeURIComponent(token)
    const session: Session = { requests: new Map(), unsent: [], opened: false }
    const current = () => this.sessions.get(key) === session
    this.sessions.set(key, session)
    this.update(key, { state: 'connecting', connectionId: undefined, closeInfo: undefined, attempt: undefined, retryAt: undefined })
    this.log(conn, 'info', `connecting to ${this.url}${token === '' ? '' : ' with a token'}`)
    const client = connect(url, {
      token: inProtocol ? token : undefined,
      reconnect: RECONNECT,
      requestTimeout: REQUEST_TIMEOUT_MS,
      onFrame: (dir, text) => { if (current()) this.onFrame(conn, session, dir, text) }
    })
    session.client = client
    client.onState((state, info) => { if (current()) this.onState(conn, session, state, info) })
  }

  /** Closes for good (`client.close()`): no reconnect. */
  disconnect (key: number) {
    this.sessions.get(key)?.client?.close()
  }

  private onState (conn: Conn, session: Session, state: ClientState, info: StateInfo) {
    if (state === 'open') {
      const again = session.opened
      session.opened = true
      this.update(conn.key, { state: 'open', connectionId: info.connectionId, attempt: undefined, retryAt: undefined })
      if (again) {
        const recovery = info.recovered === true
          ? ', session recovered'
          : info.recovered === false ? `, session not recovered${info.resumeReason === undefined ? '' : ` (${info.resumeReason})`}` : ''
        this.log(conn, 'info', `reconnected as ${info.connectionId ?? '?'}${recovery}`)
      }
    } else if (state === 'reconnecting') {
      const closeInfo = closeText(info)
      const delay = info.delay ?? 0
      this.update(conn.key, { state: 'reconnecting', closeInfo, attempt: info.attempt, retryAt: Date.now() + delay })
      this.log(conn, 'info', `closed ${closeInfo}; reconnecting in ${delay} ms (attempt ${info.attempt})`)
    } else if (state === 'closed') {
      // a URL the browser refuses: the WebSocket constructor threw, nothing was ever sent
      if (info.code === 1006 && info.error !== undefined && info.attempt === 0 && session.client?.connectionId === undefined) {
        const why = `cannot connect: ${info.error.message}`
        this.ended(conn, why, why)
      } else {
        this.ended(conn, closeText(info))
      }
    } else {
      this.update(conn.key, { state: 'connecting' })
    }
  }

  private ended (conn: Conn, closeInfo: string, logText = `closed ${closeInfo}`) {
    this.sessions.delete(conn.key)
    this.update(conn.key, { state: 'disconnected', closeInfo, attempt: undefined, retryAt: undefined })
    this.log(conn, 'info', logText)
  }

  /** Every frame of the connection, both ways, as the client SDK writes and reads it. */
  private onFrame (conn: Conn, session: Session, dir: 'in' | 'out', text: string) {
    let msg: any
    try { msg = JSON.parse(text) } catch { msg = undefined }
    const event = typeof msg?.event === 'string' ? msg.event : undefined
    const id = typeof msg?.id === 'string' ? msg.id : undefined
    const seq = this.seq
    this.log(conn, dir, text, event, id)
    if (event === undefined) return
    if (dir === 'out') {
      if (id !== undefined) this.leaving(session, event, id)
      return
    }
    const sent = id === undefined ? undefined : session.requests.get(id)
    if (sent !== undefined) {
      // Seen before the SDK settles the request with it: the card shows the frame as it came.
      const answer: Answer = { ts: Date.now(), event, payload: msg.payload, kind: event === '__error__' ? 'error' : 'reply' }
      if (sent.settled === true) this.answer(sent.result, answer)
      else sent.answer = answer
    }
    const list = [{ seq, ts: Date.now(), connKey: conn.key, connLabel: conn.label, event, id, payload: msg.payload, answers: sent?.event }, ...(this.received.get(event) ?? [])]
    this.received.set(event, list.slice(0, MAX_RECEIVED))
    let counts = this.receivedCounts.get(event)
    if (counts === undefined) this.receivedCounts.set(event, counts = new Map())
    counts.set(conn.label, (counts.get(conn.label) ?? 0) + 1)
  }

  /** A request of this page leaves (now, or from the SDK's queue once reconnected): it gets its id. */
  private leaving (session: Session, event: string, id: string) {
    const i = session.unsent.findIndex((s) => s.event === event)
    if (i < 0) return
    const [sent] = session.unsent.splice(i, 1)
    sent.result.id = id
    sent.result.status = 'sent'
    sent.result.sentAt = Date.now()
    session.requests.set(id, sent)
  }

  private answer (result: SendResult, answer: Answer) {
    result.answers = [...result.answers, answer]
    result.awaitsReply = false
    result.status = answer.kind === 'error' ? 'error' : result.status === 'error' ? 'error' : 'answered'
    this.notify()
  }

  /**
   * Sends `event` through the active connection as a `client.request()`: its reply, or the
   * `__error__` carrying its id, resolves or rejects it. An event without a reply is answered
   * only when it fails (a VALIDATION_ERROR of the raw JSON, a HANDLER_ERROR…), so its TIMEOUT
   * just means no error came.
   */
  send (event: string, payload: unknown, awaitsReply = false): SendResult {
    const conn = this.active
    const session = conn === undefined ? undefined : this.sessions.get(conn.key)
    const result: SendResult = { key: newResultKey(), connKey: conn?.key ?? -1, connLabel: conn?.label ?? '', sentAt: Date.now(), payload, status: 'queued', answers: [], awaitsReply }
    const client = session?.client
    if (session === undefined || client === undefined) {
      result.status = 'failed'
      result.note = 'Not connected: connect first.'
      result.awaitsReply = false
    } else {
      const sent: Sent = { result, event }
      session.unsent.push(sent)
      client.request(event, payload).then(
        (reply: unknown) => {
          sent.settled = true
          this.answer(result, sent.answer ?? { ts: Date.now(), event: '(reply)', payload: reply, kind: 'reply' })
        },
        (err: SocketError) => { this.failed(session, sent, err) }
      )
    }
    const list = [result, ...(this.results.get(event) ?? [])]
    for (const dropped of list.splice(MAX_RESULTS)) this.forget(dropped)
    this.results.set(event, list)
    this.notify()
    return result
  }

  private failed (session: Session, sent: Sent, err: SocketError) {
    const { result } = sent
    sent.settled = true
    // A frame with the request's id rejected it: the server's `__error__`, shown as it came.
    if (sent.answer !== undefined) return this.answer(result, sent.answer)
    const i = session.unsent.indexOf(sent)
    if (i >= 0) session.unsent.splice(i, 1)
    if (result.id === undefined) {
      result.status = 'failed'
      result.note = `Not sent: ${err.message} (${err.code}).`
    } else if (result.awaitsReply) {
      result.note = err.code === 'DISCONNECTED'
        ? `The connection closed (${String(err.details.code ?? '')}) before the reply arrived.`
        : `${err.message} (${err.code}).`
    }
    result.awaitsReply = false
    this.notify()
  }

  private forget (result: SendResult) {
    for (const session of this.sessions.values()) {
      if (result.id !== undefined && session.requests.get(result.id)?.result === result) session.requests.delete(result.id)
    }
  }

  clearResults (event: string) {
    for (const r of this.results.get(event) ?? []) this.forget(r)
    this.results.delete(event)
    this.notify()
  }

  clearReceived (event: string) {
    this.received.delete(event)
    this.receivedCounts.delete(event)
    this.notify()
  }
}

/** Re-renders the calling component whenever the store changes. */
export function useStore (store: Store): Store {
  const [, setTick] = useState(0)
  useEffect(() => store.subscribe(() => setTick((n) => n + 1)), [store])
  return store
}
