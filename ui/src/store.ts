import { useEffect, useState } from 'preact/hooks'

export type ConnState = 'disconnected' | 'connecting' | 'open' | 'closing'

export interface Conn {
  key: number
  label: string
  token: string
  state: ConnState
  connectionId?: string
  /** Last close, e.g. "4001 Authentication failed". */
  closeInfo?: string
  ws?: WebSocket
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
  id: string
  connKey: number
  connLabel: string
  sentAt: number
  /** The event declares a reply, not received yet. */
  awaitsReply: boolean
  payload: unknown
  status: 'sent' | 'answered' | 'error' | 'failed'
  note?: string
  answers: Answer[]
}

const MAX_FRAMES = 500
const MAX_RESULTS = 10
const MAX_RECEIVED = 20
// Subprotocol entries must be RFC 7230 tokens; other tokens go in the query string.
const TOKEN_CHARS = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/

let idCounter = 0
/** A request id unique within this page (crypto.randomUUID needs a secure context). */
function newRequestId (): string {
  idCounter++
  return `ui-${Date.now().toString(36)}-${idCounter}-${Math.random().toString(36).slice(2, 8)}`
}

/**
 * Connections, the frame log, the per-card results and the received frames per event;
 * components subscribe to changes. Answers are matched by `id` only: emits and broadcasts
 * carry none, so they are kept per event and never credited to a request.
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
  /** Requests sent from this page by id, with the event they were sent as. */
  private pending = new Map<string, { result: SendResult, event: string }>()
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
    conn.ws?.close(1000)
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

  connect (key: number) {
    const conn = this.conns.find((c) => c.key === key)
    if (conn === undefined || conn.state === 'open' || conn.state === 'connecting') return
    const token = conn.token.trim()
    let url = this.url
    let protocols: string[] | undefined
    if (token !== '' && TOKEN_CHARS.test(token)) protocols = ['socketspec', `bearer.${token}`]
    else if (token !== '') url += (url.includes('?') ? '&' : '?') + 'token=' + encodeURIComponent(token)
    let ws: WebSocket
    try {
      ws = new WebSocket(url, protocols)
    } catch (err) {
      this.update(key, { state: 'disconnected', closeInfo: (err as Error).message })
      this.log(conn, 'info', `cannot connect: ${(err as Error).message}`)
      return
    }
    this.update(key, { ws, state: 'connecting', connectionId: undefined, closeInfo: undefined })
    this.log(conn, 'info', `connecting to ${this.url}${token === '' ? '' : ' with a token'}`)
    ws.onmessage = (e) => { if (conn.ws === ws) this.onFrame(conn, e.data) }
    ws.onopen = () => { if (conn.ws === ws) this.update(key, { state: 'open' }) }
    ws.onerror = () => { if (conn.ws === ws) this.log(conn, 'info', 'WebSocket error') }
    ws.onclose = (e) => {
      if (conn.ws !== ws) return
      const closeInfo = `${e.code}${e.reason === '' ? '' : ' ' + e.reason}`
      this.update(key, { state: 'disconnected', ws: undefined, closeInfo })
      this.log(conn, 'info', `closed ${closeInfo}`)
      for (const { result } of this.pending.values()) {
        if (result.connKey === key && result.status === 'sent' && result.awaitsReply) {
          result.note = `The connection closed (${closeInfo}) before the reply arrived.`
          result.awaitsReply = false
        }
      }
    }
  }

  disconnect (key: number) {
    const conn = this.conns.find((c) => c.key === key)
    if (conn?.ws === undefined) return
    this.update(key, { state: 'closing' })
    conn.ws.close(1000, 'closed from the docs UI')
  }

  private onFrame (conn: Conn, data: unknown) {
    if (typeof data !== 'string') {
      this.log(conn, 'in', '[binary frame]')
      return
    }
    let msg: any
    try { msg = JSON.parse(data) } catch { msg = undefined }
    const event = typeof msg?.event === 'string' ? msg.event : undefined
    const id = typeof msg?.id === 'string' ? msg.id : undefined
    const seq = this.seq
    this.log(conn, 'in', data, event, id)
    if (event === '__ping__') this.sendRaw(conn, { event: '__pong__', payload: {} })
    if (event === '__connect__') this.update(conn.key, { connectionId: msg.payload?.connection_id })
    if (event === undefined) return
    const pending = id === undefined ? undefined : this.pending.get(id)
    const request = pending?.result.connKey === conn.key ? pending : undefined
    const list = [{ seq, ts: Date.now(), connKey: conn.key, connLabel: conn.label, event, id, payload: msg.payload, answers: request?.event }, ...(this.received.get(event) ?? [])]
    this.received.set(event, list.slice(0, MAX_RECEIVED))
    let counts = this.receivedCounts.get(event)
    if (counts === undefined) this.receivedCounts.set(event, counts = new Map())
    counts.set(conn.label, (counts.get(conn.label) ?? 0) + 1)
    // Only a frame carrying the request's id answers it (its reply or an __error__).
    if (request !== undefined) {
      const error = event === '__error__'
      this.answer(request.result, { ts: Date.now(), event, payload: msg.payload, kind: error ? 'error' : 'reply' })
      request.result.awaitsReply = false
    }
  }

  private answer (result: SendResult, answer: Answer) {
    result.answers = [...result.answers, answer]
    result.status = answer.kind === 'error' ? 'error' : result.status === 'error' ? 'error' : 'answered'
    this.notify()
  }

  private sendRaw (conn: Conn, envelope: { event: string, payload: unknown, id?: string }): boolean {
    if (conn.ws === undefined || conn.ws.readyState !== WebSocket.OPEN) return false
    const text = JSON.stringify(envelope)
    conn.ws.send(text)
    this.log(conn, 'out', text, envelope.event, envelope.id)
    return true
  }

  /** Sends `event` with a fresh id through the active connection; frames carrying that id are its answers. */
  send (event: string, payload: unknown, awaitsReply = false): SendResult {
    const conn = this.active
    const id = newRequestId()
    const result: SendResult = { id, connKey: conn?.key ?? -1, connLabel: conn?.label ?? '', sentAt: Date.now(), payload, status: 'sent', answers: [], awaitsReply }
    if (conn === undefined || !this.sendRaw(conn, { event, payload, id })) {
      result.status = 'failed'
      result.note = 'Not connected: connect first.'
      result.awaitsReply = false
    } else {
      this.pending.set(id, { result, event })
    }
    const list = [result, ...(this.results.get(event) ?? [])]
    for (const dropped of list.splice(MAX_RESULTS)) this.forget(dropped)
    this.results.set(event, list)
    this.notify()
    return result
  }

  private forget (result: SendResult) {
    this.pending.delete(result.id)
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
