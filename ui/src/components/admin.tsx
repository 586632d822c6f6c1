import { useEffect, useMemo, useState } from 'preact/hooks'
import { AdminStore, useAdminStore, type AdminConnection, type AdminState } from '../admin-store.js'
import { clockTime } from '../format.js'
import type { ApiModel } from '../model.js'
import { exampleFor } from '../schema.js'

const short = (id: string): string => id.slice(0, 8)
const since = (ts: number): string => {
  const s = Math.max(0, Math.round((Date.now() - ts) / 1000))
  return s < 60 ? `${s} s` : s < 3600 ? `${Math.floor(s / 60)} min` : `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`
}
const rate = (n: number): string => n === 0 ? '0' : n < 10 ? n.toFixed(2) : n.toFixed(1)

function TokenPrompt ({ store }: { store: AdminStore }) {
  const [token, setToken] = useState('')
  return (
    <form class='panel admin-login' onSubmit={(e) => { e.preventDefault(); store.unlock(token) }} data-testid='admin-login'>
      <h2>Admin view</h2>
      <p class='muted'>Enter the admin token (the <code>admin.token</code> option). It is kept in this tab's session storage only.</p>
      <div class='admin-login-row'>
        <label class='sr-only' for='admin-token'>Admin token</label>
        <input id='admin-token' type='password' autocomplete='off' placeholder='Admin token' value={token} onInput={(e) => setToken((e.target as HTMLInputElement).value)} data-testid='admin-token' />
        <button type='submit' class='primary' data-testid='admin-unlock'>Open</button>
      </div>
      {store.error !== undefined && <p class='error-text' role='alert' data-testid='admin-error'>{store.error}</p>}
    </form>
  )
}

function ConnectionItem ({ conn, store, self }: { conn: AdminConnection, store: AdminStore, self: string }) {
  const busy = store.pending.has(conn.id)
  return (
    <li class='admin-conn' data-testid={`admin-conn-${conn.id}`} data-user={conn.userId ?? ''}>
      <div class='admin-conn-top'>
        <code class='admin-id' title={conn.id}>{conn.id}</code>
        <button type='button' disabled={busy} onClick={() => { void store.disconnect(conn.id) }} data-testid={`admin-disconnect-${conn.id}`}>{busy ? 'Disconnecting…' : 'Disconnect'}</button>
      </div>
      <div class='admin-conn-meta'>
        <span>user <strong data-testid='admin-conn-user'>{conn.userId ?? 'anonymous'}</strong>{conn.role !== null && <span class='muted'> ({conn.role})</span>}</span>
        <span title={conn.node}>node <code>{short(conn.node)}</code>{conn.node === self && <span class='muted'> (this one)</span>}</span>
        <span title={new Date(conn.connectedAt).toISOString()}>since {clockTime(conn.connectedAt).slice(0, 8)} <span class='muted'>({since(conn.connectedAt)})</span></span>
        <span data-testid='admin-conn-events'>events in {conn.eventsIn} · out {conn.eventsOut}</span>
      </div>
      {conn.rooms.length > 0 && (
        <div class='admin-chips'>{conn.rooms.map((r) => <span class='chip' key={r}>{r}</span>)}</div>
      )}
    </li>
  )
}

function Broadcast ({ store, state, model }: { store: AdminStore, state: AdminState, model: ApiModel }) {
  const events = useMemo(() => {
    const all = model.serverEvents
    const broadcasts = all.filter((e) => e.kinds.includes('broadcast'))
    return broadcasts.length > 0 ? broadcasts : all
  }, [model])
  const rooms = state.rooms.items.map((r) => r.name)
  const [room, setRoom] = useState(rooms[0] ?? '')
  const [event, setEvent] = useState(events[0]?.name ?? '')
  const example = (name: string) => JSON.stringify(exampleFor(model.serverEvents.find((e) => e.name === name)?.schema, model.resolve) ?? {}, null, 2)
  const [payload, setPayload] = useState(() => example(event))
  const [sending, setSending] = useState(false)
  useEffect(() => { if (room === '' && rooms.length > 0) setRoom(rooms[0]) }, [rooms.join('\n')])
  const send = async () => {
    setSending(true)
    await store.broadcast(room, event, payload)
    setSending(false)
  }
  return (
    <section class='panel' aria-labelledby='admin-broadcast-title' data-testid='admin-broadcast'>
      <h2 id='admin-broadcast-title'>Broadcast to a room</h2>
      <div class='admin-form'>
        <label for='admin-room'>Room</label>
        <input id='admin-room' type='text' list='admin-room-list' value={room} onInput={(e) => setRoom((e.target as HTMLInputElement).value)} data-testid='admin-broadcast-room' />
        <datalist id='admin-room-list'>{rooms.map((r) => <option key={r} value={r} />)}</datalist>
        <label for='admin-event'>Event</label>
        <select id='admin-event' value={event} onChange={(e) => { const v = (e.target as HTMLSelectElement).value; setEvent(v); setPayload(example(v)) }} data-testid='admin-broadcast-event'>
          {events.map((e) => <option key={e.name} value={e.name}>{e.name}</option>)}
        </select>
        <label for='admin-payload'>Payload (JSON, checked against the event's schema)</label>
        <textarea id='admin-payload' rows={5} spellcheck={false} value={payload} onInput={(e) => setPayload((e.target as HTMLTextAreaElement).value)} data-testid='admin-broadcast-payload' />
        <div class='actions'>
          <button type='button' class='primary' disabled={sending || room === '' || event === ''} onClick={() => { void send() }} data-testid='admin-broadcast-send'>Broadcast</button>
        </div>
      </div>
    </section>
  )
}

function Rates ({ state }: { state: AdminState }) {
  return (
    <section class='panel' aria-labelledby='admin-rates-title'>
      <h2 id='admin-rates-title'>Events per second <span class='muted count'>last second, every node</span></h2>
      {state.rates.length === 0
        ? <p class='muted empty'>No events yet.</p>
        : (
          <div class='table-scroll'>
            <table class='schema admin-rates' data-testid='admin-rates'>
              <thead><tr><th>event</th><th>in/s</th><th>out/s</th><th>total in</th><th>total out</th></tr></thead>
              <tbody>
                {state.rates.map((r) => (
                  <tr key={r.event} data-testid={`admin-rate-${r.event}`}>
                    <td class='name'><code>{r.event}</code></td><td>{rate(r.inPerSec)}</td><td>{rate(r.outPerSec)}</td><td>{r.totalIn}</td><td>{r.totalOut}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          )}
    </section>
  )
}

function Dashboard ({ store, state, model }: { store: AdminStore, state: AdminState, model: ApiModel }) {
  return (
    <>
      <div class='admin-bar'>
        <span data-testid='admin-summary'>
          <strong>{state.nodes.length}</strong> node{state.nodes.length === 1 ? '' : 's'} · <strong>{state.connections.total}</strong> connection{state.connections.total === 1 ? '' : 's'} · <strong>{state.rooms.total}</strong> room{state.rooms.total === 1 ? '' : 's'}
        </span>
        {store.updatedAt !== undefined && <span class='muted'>updated {clockTime(store.updatedAt).slice(0, 8)}</span>}
        <span class='spacer' />
        <button type='button' onClick={() => { void store.refresh() }} data-testid='admin-refresh'>Refresh</button>
        <button type='button' onClick={() => store.lock()} data-testid='admin-lock'>Forget token</button>
      </div>
      {store.error !== undefined && <p class='error-text' role='alert' data-testid='admin-error'>{store.error}</p>}
      {store.notice !== undefined && <p class={store.notice.kind === 'ok' ? 'admin-notice' : 'error-text'} role='status' data-testid='admin-notice' data-kind={store.notice.kind}>{store.notice.text}</p>}
      <div class='admin-grid'>
        <section class='panel' aria-labelledby='admin-conns-title'>
          <h2 id='admin-conns-title'>Connections <span class='muted count'>{state.connections.truncated ? `first ${state.connections.items.length} of ${state.connections.total}` : state.connections.total}</span></h2>
          {state.connections.items.length === 0
            ? <p class='muted empty'>No connection.</p>
            : <ul class='admin-list' data-testid='admin-connections'>{state.connections.items.map((c) => <ConnectionItem key={c.id} conn={c} store={store} self={state.node} />)}</ul>}
        </section>
        <div class='admin-side'>
          <section class='panel' aria-labelledby='admin-rooms-title'>
            <h2 id='admin-rooms-title'>Rooms <span class='muted count'>{state.rooms.truncated ? `first ${state.rooms.items.length} of ${state.rooms.total}` : state.rooms.total}</span></h2>
            {state.rooms.items.length === 0
              ? <p class='muted empty'>No room.</p>
              : (
                <ul class='admin-list' data-testid='admin-rooms'>
                  {state.rooms.items.map((r) => (
                    <li key={r.name} class='admin-room' data-testid={`admin-room-${r.name}`} data-members={r.memberCount}>
                      <div class='admin-conn-top'>
                        <code class='admin-id'>{r.name}</code>
                        {r.static && <span class='badge'>static</span>}
                        <span class='muted'>{r.memberCount} member{r.memberCount === 1 ? '' : 's'}</span>
                      </div>
                      {r.members.length > 0 && <div class='admin-chips'>{r.members.map((m) => <span class='chip' key={m} title={m}>{short(m)}</span>)}</div>}
                    </li>
                  ))}
                </ul>
                )}
          </section>
          <Broadcast store={store} state={state} model={model} />
          <Rates state={state} />
        </div>
      </div>
    </>
  )
}

/** The Admin tab (SPEC §14): asks for the admin token, then shows and refreshes every node's connections, rooms and rates. */
export function AdminTab ({ store, model, shown }: { store: AdminStore, model: ApiModel, shown: boolean }) {
  useAdminStore(store)
  useEffect(() => {
    if (!shown || store.token === null) return
    store.start()
    return () => store.stop()
  }, [shown, store.token])
  return (
    <div class='admin' data-testid='admin-view'>
      {store.token === null
        ? <TokenPrompt store={store} />
        : store.state === undefined
          ? (store.error !== undefined ? <p class='error-text' role='alert' data-testid='admin-error'>{store.error}</p> : <p class='muted'>Loading…</p>)
          : <Dashboard store={store} state={store.state} model={model} />}
    </div>
  )
}

/** Tabs of the docs page: the API, and Admin when the server has the admin view on. */
export function Tabs ({ tab, onTab }: { tab: 'api' | 'admin', onTab: (tab: 'api' | 'admin') => void }) {
  return (
    <nav class='tabs' role='tablist' aria-label='Views'>
      <button type='button' role='tab' aria-selected={tab === 'api'} class={tab === 'api' ? 'active' : ''} onClick={() => onTab('api')} data-testid='tab-api'>API</button>
      <button type='button' role='tab' aria-selected={tab === 'admin'} class={tab === 'admin' ? 'active' : ''} onClick={() => onTab('admin')} data-testid='tab-admin'>Admin</button>
    </nav>
  )
}
