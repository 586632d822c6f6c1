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

/** reply/error: matched by id; emit: a declared emit/broadcast without id, received on the same connection soon after. */
export interface Answer { ts: number, event: string, payload: unknown, kind: 'reply' | 'emit' | 'error' }

/** One "Send" from a card and what came back for its id. */
export interface SendResult {
  id: string
  connKey: number
  connLabel: string
  sentAt: number
  /** Declared emits/broadcasts not received yet (they carry no id). */
  expecting: string[]
  /** The event declares a reply. */
  awaitsReply: boolean
  payload: unknown
  status: 'sent' | 'answered' | 'error' | 'failed'
  note?: string
  answers: Answer[]
}

const MAX_FRAMES = 500
const MAX_RESULTS = 10
const EMIT_WINDOW_MS = 10_000
// Subprotocol entries must be RFC 7230 tokens; other tokens go in the query string.
const TOKEN_CHARS = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/

let idCounter = 0
/** A request id unique within this page (crypto.randomUUID needs a secure context). */
function newRequestId (): string {
  idCounter++
  return `ui-${Date.now().toString(36)}-${idCounter}-${Math.random().toString(36).slice(2, 8)}`
}

/** Connections, the frame log and the per-card results; components subscribe to changes. */
export class Store {
  url = ''
  conns: Conn[] = []
  activeKey = 0
  frames: Frame[] = []
  results = new Map<string, SendResult[]>()
  private pending = new Map<string, SendResult>()
  /** Newest first; candidates for id-less emits. */
  private recent: SendResult[] = []
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
      for (const r of this.recent) {
        if (r.connKey === key && r.status === 'sent' && (r.awaitsReply || r.expecting.length > 0)) {
          r.note = `The connection closed (${closeInfo}) before an answer arrived.`
          r.expecting = []
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
    this.log(conn, 'in', data, event, id)
    if (event === '__ping__') this.sendRaw(conn, { event: '__pong__', payload: {} })
    if (event === '__connect__') this.update(conn.key, { connectionId: msg.payload?.connection_id })
    if (event === undefined) return
    const byId = id === undefined ? undefined : this.pending.get(id)
    if (byId !== undefined) {
      const error = event === '__error__'
      this.answer(byId, { ts: Date.now(), event, payload: msg.payload, kind: error ? 'error' : 'reply' })
      if (error) byId.expecting = []
      byId.awaitsReply = false
      return
    }
    if (id !== undefined) return
    // Emits carry no id: give the frame to the newest send on this connection that declared it.
    const now = Date.now()
    const target = this.recent.find((r) => r.connKey === conn.key && now - r.sentAt < EMIT_WINDOW_MS && r.expecting.includes(event))
    if (target !== undefined) {
      target.expecting = target.expecting.filter((e, i) => i !== target.expecting.indexOf(event))
      this.answer(target, { ts: now, event, payload: msg.payload, kind: 'emit' })
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

  /**
   * Sends `event` with a fresh id through the active connection and tracks, for its card,
   * the frames carrying that id and the declared `expects` (emits/broadcasts) that follow.
   */
  send (event: string, payload: unknown, expects: string[] = [], awaitsReply = false): SendResult {
    const conn = this.active
    const id = newRequestId()
    const result: SendResult = { id, connKey: conn?.key ?? -1, connLabel: conn?.label ?? '', sentAt: Date.now(), payload, status: 'sent', answers: [], expecting: [...expects], awaitsReply }
    if (conn === undefined || !this.sendRaw(conn, { event, payload, id })) {
      result.status = 'failed'
      result.note = 'Not connected: connect first.'
      result.expecting = []
    } else {
      this.pending.set(id, result)
      this.recent = [result, ...this.recent].slice(0, 50)
    }
    const list = [result, ...(this.results.get(event) ?? [])]
    for (const dropped of list.splice(MAX_RESULTS)) this.forget(dropped)
    this.results.set(event, list)
    this.notify()
    return result
  }

  private forget (result: SendResult) {
    this.pending.delete(result.id)
    this.recent = this.recent.filter((r) => r !== result)
  }

  clearResults (event: string) {
    for (const r of this.results.get(event) ?? []) this.forget(r)
    this.results.delete(event)
    this.notify()
  }
}

/** Re-renders the calling component whenever the store changes. */
export function useStore (store: Store): Store {
  const [, setTick] = useState(0)
  useEffect(() => store.subscribe(() => setTick((n) => n + 1)), [store])
  return store
}
