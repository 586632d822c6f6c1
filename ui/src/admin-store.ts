import { useEffect, useState } from 'preact/hooks'
import type { AdminConnection, AdminRoom, EventRate } from '../../lib/admin/wire.js'

/** sessionStorage key of the admin token (gone when the tab closes). */
export const ADMIN_TOKEN_KEY = 'socketspec.adminToken'
/** The Admin tab refreshes this often while it is shown. */
export const POLL_MS = 2000

export type { AdminConnection, AdminRoom, EventRate }
export interface AdminState {
  namespace: string
  node: string
  at: number
  nodes: Array<{ nodeId: string, at: number, connections: number, self: boolean }>
  connections: { total: number, truncated: boolean, items: AdminConnection[] }
  rooms: { total: number, truncated: boolean, items: AdminRoom[] }
  rates: EventRate[]
}
export interface Notice { kind: 'ok' | 'error', text: string }

function readToken (): string | null {
  try { return sessionStorage.getItem(ADMIN_TOKEN_KEY) } catch { return null }
}
function writeToken (token: string | null): void {
  try {
    if (token === null) sessionStorage.removeItem(ADMIN_TOKEN_KEY)
    else sessionStorage.setItem(ADMIN_TOKEN_KEY, token)
  } catch {}
}

/** True when the server has the admin view on: its routes answer 401 with the admin realm to a request without the token. */
export async function adminAvailable (): Promise<boolean> {
  try {
    const res = await fetch('./admin/state', { credentials: 'same-origin', cache: 'no-store' })
    return res.status === 401 && (res.headers.get('www-authenticate') ?? '').includes('socketspec-admin')
  } catch {
    return false
  }
}

function describe (status: number, body: any): string {
  const code = typeof body?.code === 'string' ? `${body.code}: ` : ''
  const message = typeof body?.message === 'string' ? body.message : `HTTP ${status}`
  return `${code}${message}`
}

/**
 * State of the Admin tab: the token (kept in sessionStorage), the last state
 * the server answered, and the actions. Polls every POLL_MS while shown, one
 * request at a time; a 401 forgets the token and asks for it again.
 */
export class AdminStore {
  token: string | null = readToken()
  state: AdminState | undefined
  error: string | undefined
  updatedAt: number | undefined
  notice: Notice | undefined
  /** Connection ids whose disconnect is under way. */
  pending = new Set<string>()
  private listeners = new Set<() => void>()
  private timer: ReturnType<typeof setTimeout> | undefined
  private active = false
  private inflight = false

  subscribe (fn: () => void): () => void {
    this.listeners.add(fn)
    return () => { this.listeners.delete(fn) }
  }

  private notify (): void {
    for (const fn of this.listeners) fn()
  }

  private async call (method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number, body: any } | undefined> {
    const token = this.token
    if (token === null) return undefined
    const headers: Record<string, string> = { authorization: `Bearer ${token}` }
    if (body !== undefined) headers['content-type'] = 'application/json'
    const res = await fetch(`./admin/${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin', cache: 'no-store' })
    let json: any
    try { json = await res.json() } catch { json = undefined }
    if (res.status === 401) {
      this.lock('The admin token was refused.')
      return undefined
    }
    return { status: res.status, body: json }
  }

  unlock (token: string): void {
    const t = token.trim()
    if (t === '') return
    this.token = t
    writeToken(t)
    this.error = undefined
    this.notify()
    void this.refresh()
  }

  lock (error?: string): void {
    this.token = null
    writeToken(null)
    this.state = undefined
    this.error = error
    this.notice = undefined
    this.notify()
  }

  /** Start polling (the tab is shown). */
  start (): void {
    if (this.active) return
    this.active = true
    void this.refresh()
  }

  /** Stop polling (the tab is hidden). */
  stop (): void {
    this.active = false
    clearTimeout(this.timer)
  }

  async refresh (): Promise<void> {
    clearTimeout(this.timer)
    if (this.token === null || this.inflight) return
    this.inflight = true
    try {
      const res = await this.call('GET', 'state')
      if (res !== undefined) {
        if (res.status === 200) {
          this.state = res.body as AdminState
          this.updatedAt = Date.now()
          this.error = undefined
        } else {
          this.error = describe(res.status, res.body)
        }
      }
    } catch (err) {
      this.error = `Cannot reach the server: ${(err as Error).message}`
    } finally {
      this.inflight = false
    }
    this.notify()
    if (this.active && this.token !== null) this.timer = setTimeout(() => { void this.refresh() }, POLL_MS)
  }

  async disconnect (id: string): Promise<void> {
    this.pending.add(id)
    this.notify()
    try {
      const res = await this.call('POST', `connections/${encodeURIComponent(id)}/disconnect`, {})
      if (res !== undefined) {
        this.notice = res.status === 200 || res.status === 202
          ? { kind: 'ok', text: `Disconnected ${id}` + (res.status === 202 ? ' (on another node)' : '') }
          : { kind: 'error', text: describe(res.status, res.body) }
      }
    } catch (err) {
      this.notice = { kind: 'error', text: (err as Error).message }
    } finally {
      this.pending.delete(id)
    }
    this.notify()
    await this.refresh()
  }

  /** Broadcast `event` to `room`; `payloadText` is JSON. Resolves with the notice shown. */
  async broadcast (room: string, event: string, payloadText: string): Promise<Notice> {
    let payload: unknown
    try {
      payload = payloadText.trim() === '' ? {} : JSON.parse(payloadText)
    } catch (err) {
      return this.show({ kind: 'error', text: `The payload is not JSON: ${(err as Error).message}` })
    }
    try {
      const res = await this.call('POST', 'broadcast', { room, event, payload })
      if (res === undefined) return this.show({ kind: 'error', text: 'Not authorized.' })
      if (res.status === 202) return this.show({ kind: 'ok', text: `Broadcast '${event}' to room '${room}'.` })
      const errors = Array.isArray(res.body?.details?.errors)
        ? ' ' + res.body.details.errors.map((e: any) => `${String(e.path)} ${String(e.message)}`).join('; ')
        : ''
      return this.show({ kind: 'error', text: describe(res.status, res.body) + errors })
    } catch (err) {
      return this.show({ kind: 'error', text: (err as Error).message })
    }
  }

  private show (notice: Notice): Notice {
    this.notice = notice
    this.notify()
    return notice
  }
}

/** Re-renders the calling component whenever the admin store changes. */
export function useAdminStore (store: AdminStore): AdminStore {
  const [, setTick] = useState(0)
  useEffect(() => store.subscribe(() => setTick((n) => n + 1)), [store])
  return store
}
