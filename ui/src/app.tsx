import { useEffect, useMemo, useState } from 'preact/hooks'
import { AdminTab, Tabs } from './components/admin.js'
import { AdminStore, adminAvailable } from './admin-store.js'
import { Connections } from './components/connections.js'
import { EventCard } from './components/event-card.js'
import { FrameLog } from './components/frame-log.js'
import { ServerEventCard } from './components/server-event-card.js'
import { StatusBar } from './components/status-bar.js'
import { SystemEvents } from './components/system-events.js'
import { buildModel, groupByTag, wsUrlFor, type ApiModel } from './model.js'
import { Store, useStore } from './store.js'

/** Fetches ./asyncapi.json, passing the page's ?token= (docsAccessToken) as a bearer header. */
async function loadDocument (): Promise<ApiModel> {
  const token = new URLSearchParams(location.search).get('token')
  const res = await fetch('./asyncapi.json', {
    headers: token === null ? {} : { authorization: `Bearer ${token}` },
    credentials: 'same-origin'
  })
  if (!res.ok) throw new Error(`GET asyncapi.json: HTTP ${res.status}`)
  return buildModel(await res.json())
}

function Docs ({ model }: { model: ApiModel }) {
  const store = useMemo(() => new Store(wsUrlFor(model.address, location)), [model])
  useEffect(() => { document.title = `${model.title} · WebSocket API docs` }, [model])
  useStore(store)
  // The Admin tab exists when the server's admin routes answer (401 without the admin token).
  const [adminOn, setAdminOn] = useState(false)
  const [tab, setTab] = useState<'api' | 'admin'>('api')
  const admin = useMemo(() => new AdminStore(), [])
  useEffect(() => { adminAvailable().then(setAdminOn, () => {}) }, [])
  // styles.css hides the API view (status bar and layout) while the Admin tab is shown
  useEffect(() => { document.body.dataset.view = tab }, [tab])
  const groups = groupByTag(model.events)
  return (
    <>
      <header class='top'>
        <div class='title-row'>
          <h1 data-testid='app-title'>{model.title}</h1>
          {model.version !== '' && <span class='version'>v{model.version}</span>}
          <span class='badge asyncapi'>AsyncAPI 3.0</span>
          <a class='doc-link' href='./asyncapi.json' target='_blank' rel='noreferrer'>asyncapi.json</a>
        </div>
        {model.description !== undefined && <p class='description'>{model.description}</p>}
        <div class='server-row'>
          <label for='ws-url'>WebSocket URL</label>
          <input id='ws-url' type='text' value={store.url} onInput={(e) => store.setUrl((e.target as HTMLInputElement).value)} data-testid='ws-url' />
          {model.namespace !== undefined && <span class='muted'>namespace <code>{model.namespace}</code></span>}
          {model.auth !== undefined && <span class='muted'>auth <code>{model.auth}</code></span>}
          {model.rateLimit !== undefined && <span class='muted'>{model.rateLimit.rate} events/s per connection</span>}
        </div>
      </header>
      {adminOn && <Tabs tab={tab} onTab={setTab} />}
      {adminOn && <div hidden={tab !== 'admin'}><AdminTab store={admin} model={model} shown={tab === 'admin'} /></div>}
      <StatusBar store={store} />
      <div class='layout'>
        <main class='events' aria-label='Events'>
          {groups.length === 0 && <p class='muted'>No events are declared.</p>}
          {groups.map((g) => (
            <section class='group' key={g.tag} data-testid={`group-${g.tag}`}>
              <h2 class='group-title'>
                {g.tag}
                {model.tagDescriptions[g.tag] !== undefined && <span class='muted group-desc'>{model.tagDescriptions[g.tag]}</span>}
              </h2>
              {g.events.map((ev) => <EventCard key={ev.name} ev={ev} model={model} store={store} group={g.tag} />)}
            </section>
          ))}
          {model.serverEvents.length > 0 && (
            <section class='group server-events' data-testid='group-server'>
              <h2 class='group-title'>
                Server → client
                <span class='muted group-desc'>declared emits, broadcasts and replies, with the frames each connection received</span>
              </h2>
              {model.serverEvents.map((ev) => <ServerEventCard key={ev.name} ev={ev} model={model} store={store} />)}
            </section>
          )}
          <SystemEvents model={model} store={store} />
        </main>
        <aside class='side' aria-label='Connections and log'>
          <Connections store={store} />
          <FrameLog store={store} />
        </aside>
      </div>
    </>
  )
}

/** The docs SPA: everything it shows comes from ./asyncapi.json. */
export function App () {
  const [model, setModel] = useState<ApiModel | undefined>(undefined)
  const [error, setError] = useState<string | undefined>(undefined)
  useEffect(() => {
    loadDocument().then(setModel, (err: Error) => setError(err.message))
  }, [])
  if (error !== undefined) return <div class='load-error' role='alert' data-testid='load-error'>Cannot load the AsyncAPI document: {error}</div>
  if (model === undefined) return <div class='loading muted' data-testid='loading'>Loading…</div>
  return <Docs model={model} />
}
