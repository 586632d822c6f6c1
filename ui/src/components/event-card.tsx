import { useState } from 'preact/hooks'
import type { ApiModel, EventInfo, OutboundInfo } from '../model.js'
import { domId, serverCardId } from '../format.js'
import { exampleFor } from '../schema.js'
import type { SendResult, Store } from '../store.js'
import { ReceivedFrames, type Declared } from './received-frames.js'
import { SchemaTable } from './schema-table.js'

interface Props {
  ev: EventInfo
  model: ApiModel
  store: Store
  /** Distinguishes the same event shown under several tags. */
  group: string
}

const OUTBOUND_KIND = { reply: 'reply', emits: 'emit', broadcasts: 'broadcast' } as const

function Outbound ({ kind, out, model, ev }: { kind: 'reply' | 'emits' | 'broadcasts', out: OutboundInfo, model: ApiModel, ev: EventInfo }) {
  return (
    <div class='outbound' data-testid={`${kind}-${ev.name}-${out.event}`}>
      <div class='outbound-head'>
        <span class={`badge ${OUTBOUND_KIND[kind]}`}>{OUTBOUND_KIND[kind].toUpperCase()}</span>
        <code class='event-name'>{out.event}</code>
        {out.room !== undefined && <span class='room'>to room <code>{out.room}</code></span>}
        <a class='see-card' href={`#${serverCardId(out.event)}`} title={`The card of ${out.event}, with the frames each connection received`}>card ↓</a>
      </div>
      {out.description !== undefined && <p class='description'>{out.description}</p>}
      <SchemaTable schema={out.schema} resolve={model.resolve} testid={`schema-${ev.name}-${kind}-${out.event}`} />
    </div>
  )
}

function waitingText (ev: EventInfo, result: SendResult): string {
  if (result.status === 'queued') return 'queued: sent once connected'
  if (result.awaitsReply && ev.reply !== undefined) return `waiting for ${ev.reply.event}…`
  if (ev.reply !== undefined) return 'no reply yet'
  return 'sent (no reply declared)'
}

/** The emits and broadcasts an event declares, as ReceivedFrames labels them. */
export const declaredOutbound = (ev: EventInfo): Declared[] => [
  ...ev.emits.map((o) => ({ event: o.event, kind: 'emit', room: o.room })),
  ...ev.broadcasts.map((o) => ({ event: o.event, kind: 'broadcast', room: o.room }))
]

function ResultView ({ result, ev }: { result: SendResult, ev: EventInfo }) {
  return (
    <li class={`result ${result.status}`} data-testid={`result-${ev.name}`} data-request-id={result.id ?? ''} data-conn={result.connLabel} data-status={result.status}>
      <div class='result-head'>
        <span class='muted'>{new Date(result.sentAt).toLocaleTimeString()}</span>
        <span>via {result.connLabel || '–'}</span>
        {result.id !== undefined && <code class='muted request-id'>id {result.id}</code>}
        {(result.status === 'sent' || result.status === 'queued') && result.note === undefined && <span class='muted'>{waitingText(ev, result)}</span>}
      </div>
      {result.note !== undefined && <p class='error-text' data-testid={`note-${ev.name}`}>{result.note}</p>}
      {result.answers.map((a, i) => (
        <div key={i} class={`answer ${a.kind}`} data-testid={`${a.kind}-${ev.name}`} data-kind={a.kind} data-event={a.event}>
          <div class='answer-head'>
            <span class={`badge ${a.kind}`} title='matched by id'>{a.kind.toUpperCase()}</span>
            <code>{a.event}</code>
            {a.kind === 'error' && <code class='error-code'>{(a.payload as any)?.code}</code>}
            <span class='muted'>{a.ts - result.sentAt} ms</span>
          </div>
          <pre class='json'>{JSON.stringify(a.payload, null, 2)}</pre>
        </div>
      ))}
    </li>
  )
}

function TryItOut ({ ev, model, store }: { ev: EventInfo, model: ApiModel, store: Store }) {
  const example = () => JSON.stringify(exampleFor(ev.payload, model.resolve), null, 2)
  const [text, setText] = useState(example)
  const [jsonError, setJsonError] = useState<string | undefined>(undefined)
  const results = store.results.get(ev.name) ?? []
  const active = store.active
  const via = active === undefined || active.state === 'disconnected'
    ? 'not connected'
    : active.state === 'open' ? `via ${active.label}` : `${active.label} is ${active.state}: sends wait for it`

  const send = (e: Event) => {
    e.preventDefault()
    let payload: unknown
    try {
      payload = text.trim() === '' ? {} : JSON.parse(text)
    } catch (err) {
      setJsonError(`Invalid JSON: ${(err as Error).message}`)
      return
    }
    setJsonError(undefined)
    store.send(ev.name, payload, ev.reply !== undefined)
  }

  const editorId = `editor-${domId(ev.name)}`
  return (
    <form class='tryit' onSubmit={send} data-testid={`tryit-panel-${ev.name}`}>
      <label for={editorId}>Payload (JSON)</label>
      <textarea
        id={editorId}
        data-testid={`editor-${ev.name}`}
        spellcheck={false}
        rows={Math.min(16, Math.max(3, text.split('\n').length))}
        value={text}
        onInput={(e) => setText((e.target as HTMLTextAreaElement).value)}
        onKeyDown={(e) => { if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) send(e) }}
      />
      {jsonError !== undefined && <p class='error-text' role='alert' data-testid={`editor-error-${ev.name}`}>{jsonError}</p>}
      <div class='actions'>
        <button type='submit' class='primary' data-testid={`send-${ev.name}`}>Send</button>
        <button type='button' onClick={() => { setText(example()); setJsonError(undefined) }} data-testid={`reset-${ev.name}`}>Reset example</button>
        {results.length > 0 && <button type='button' onClick={() => store.clearResults(ev.name)} data-testid={`clear-${ev.name}`}>Clear responses</button>}
        <span class='muted'>
          {via} · Ctrl+Enter sends
        </span>
      </div>
      {results.length > 0 && (
        <div class='responses'>
          <h4>Responses</h4>
          <ul aria-live='polite' data-testid={`responses-${ev.name}`}>
            {results.map((r) => <ResultView key={r.key} result={r} ev={ev} />)}
          </ul>
        </div>
      )}
    </form>
  )
}

/** One event: a header that expands to its schemas, its outbound events and "Try it out". */
export function EventCard ({ ev, model, store, group }: Props) {
  const [open, setOpen] = useState(false)
  const [trying, setTrying] = useState(false)
  const bodyId = `body-${domId(group)}-${domId(ev.name)}`
  const canSend = ev.direction === 'in'
  return (
    <section class={`card ${ev.direction} ${ev.deprecated ? 'deprecated' : ''} ${open ? 'open' : ''}`} data-testid={`event-${ev.name}`}>
      <h3 class='card-title'>
        <button
          type='button'
          class='card-head'
          aria-expanded={open}
          aria-controls={bodyId}
          onClick={() => setOpen(!open)}
          data-testid={`event-toggle-${ev.name}`}
        >
          <span class={`badge dir ${ev.direction}`} title={ev.direction === 'in' ? 'client → server' : 'server → client'}>
            {ev.direction === 'in' ? 'SEND' : 'RECEIVE'}
          </span>
          <code class='event-name'>{ev.name}</code>
          {ev.deprecated && <span class='badge deprecated' data-testid={`deprecated-${ev.name}`}>DEPRECATED</span>}
          <span class='summary'>{ev.summary}</span>
          <span class='flags'>
            {ev.reply !== undefined && <span class='chip' title={`replies with ${ev.reply.event}`}>reply</span>}
            {ev.ordered && <span class='chip'>ordered</span>}
            {ev.rateLimit !== undefined && <span class='chip'>{ev.rateLimit.rate}/s</span>}
          </span>
          <span class='chevron' aria-hidden='true'>{open ? '▾' : '▸'}</span>
        </button>
      </h3>
      {open && (
        <div class='card-body' id={bodyId} data-testid={`event-body-${ev.name}`}>
          {ev.description !== undefined && ev.description !== ev.summary && <p class='description'>{ev.description}</p>}
          <dl class='meta'>
            {ev.tags.length > 0 && <><dt>Tags</dt><dd>{ev.tags.map((t) => <span key={t} class='chip'>{t}</span>)}</dd></>}
            {ev.ordered && <><dt>Ordering</dt><dd>processed one at a time per connection, in arrival order</dd></>}
            {ev.rateLimit !== undefined && <><dt>Rate limit</dt><dd>{ev.rateLimit.rate} events/s, burst {ev.rateLimit.capacity}</dd></>}
            {ev.deps.length > 0 && <><dt>Dependencies</dt><dd>{ev.deps.map((d) => <code key={d} class='chip'>{d}</code>)}</dd></>}
          </dl>
          <h4>Payload</h4>
          <SchemaTable schema={ev.payload} resolve={model.resolve} testid={`schema-${ev.name}`} />
          {ev.reply !== undefined && (
            <>
              <h4>Reply</h4>
              <Outbound kind='reply' out={ev.reply} model={model} ev={ev} />
            </>
          )}
          {ev.emits.length > 0 && (
            <>
              <h4>Emits</h4>
              {ev.emits.map((o) => <Outbound key={o.event} kind='emits' out={o} model={model} ev={ev} />)}
            </>
          )}
          {ev.broadcasts.length > 0 && (
            <>
              <h4>Broadcasts</h4>
              {ev.broadcasts.map((o) => <Outbound key={`${o.event}@${o.room ?? ''}`} kind='broadcasts' out={o} model={model} ev={ev} />)}
            </>
          )}
          {canSend && (
            <div class='tryit-wrap'>
              <div class='tryit-bar'>
                <h4>Try it out</h4>
                <button type='button' aria-expanded={trying} onClick={() => setTrying(!trying)} data-testid={`tryit-${ev.name}`}>
                  {trying ? 'Cancel' : 'Try it out'}
                </button>
              </div>
              {trying && <TryItOut ev={ev} model={model} store={store} />}
            </div>
          )}
          {canSend && ev.emits.length + ev.broadcasts.length > 0 && (
            <ReceivedFrames
              store={store}
              declared={declaredOutbound(ev)}
              title='Emits and broadcasts received'
              hint='They carry no id, so they are not matched to a request: each shows the connection that received it.'
              testid={`related-${ev.name}`}
            />
          )}
          {!canSend && (
            <ReceivedFrames store={store} declared={[{ event: ev.name, kind: 'received' }]} title='Received' testid={`received-${ev.name}`} />
          )}
        </div>
      )}
    </section>
  )
}
