import { useState } from 'preact/hooks'
import type { ApiModel, OutboundKind, ServerEventInfo } from '../model.js'
import { serverCardId } from '../format.js'
import type { Store } from '../store.js'
import { ReceivedFrames } from './received-frames.js'
import { SchemaTable } from './schema-table.js'

const CAUSE: Record<OutboundKind, string> = { emit: 'emitted by', broadcast: 'broadcast by', reply: 'reply to' }

const KIND_TEXT: Record<OutboundKind, string> = {
  emit: 'emit',
  broadcast: 'broadcast',
  reply: 'reply (carries the id of the request it answers)'
}

/** One server → client event of the app: its schema, how it is sent, and the frames each connection received. */
export function ServerEventCard ({ ev, model, store }: { ev: ServerEventInfo, model: ApiModel, store: Store }) {
  const [open, setOpen] = useState(false)
  const bodyId = `body-${serverCardId(ev.name)}`
  let total = 0
  for (const n of store.receivedCounts.get(ev.name)?.values() ?? []) total += n
  const summary = ev.summary ?? ev.description ?? ev.kinds.map((k) => `${CAUSE[k]} ${ev.triggeredBy.join(', ')}`).join('; ')
  // Frames without an id are labelled with the declared emit/broadcast kinds; with a matching id they are replies.
  const declaredKinds = ev.kinds.filter((k) => k !== 'reply')
  const declared = (declaredKinds.length > 0 ? declaredKinds : ev.kinds).map((kind) => ({
    event: ev.name,
    kind,
    room: kind === 'broadcast' && ev.rooms.length > 0 ? ev.rooms.join(', ') : undefined
  }))
  return (
    <section id={serverCardId(ev.name)} class={`card out server ${open ? 'open' : ''}`} data-testid={`server-event-${ev.name}`}>
      <h3 class='card-title'>
        <button
          type='button'
          class='card-head'
          aria-expanded={open}
          aria-controls={bodyId}
          onClick={() => setOpen(!open)}
          data-testid={`server-event-toggle-${ev.name}`}
        >
          <span class='badge dir out' title='server → client'>RECEIVE</span>
          <code class='event-name'>{ev.name}</code>
          <span class='summary'>{summary}</span>
          <span class='flags'>
            {ev.kinds.map((k) => <span key={k} class={`chip kind-${k}`}>{k}</span>)}
            {total > 0 && <span class='chip' data-testid={`server-event-count-${ev.name}`}>{total} received</span>}
          </span>
          <span class='chevron' aria-hidden='true'>{open ? '▾' : '▸'}</span>
        </button>
      </h3>
      {open && (
        <div class='card-body' id={bodyId} data-testid={`server-event-body-${ev.name}`}>
          {ev.description !== undefined && ev.description !== summary && <p class='description'>{ev.description}</p>}
          <dl class='meta'>
            {ev.kinds.length > 0 && <><dt>Sent as</dt><dd data-testid={`server-event-kind-${ev.name}`}>{ev.kinds.map((k) => KIND_TEXT[k]).join(', ')}</dd></>}
            {ev.rooms.length > 0 && <><dt>Room</dt><dd data-testid={`server-event-room-${ev.name}`}>{ev.rooms.map((r) => <code key={r} class='chip'>{r}</code>)}</dd></>}
            {ev.triggeredBy.length > 0 && <><dt>Caused by</dt><dd data-testid={`server-event-caused-${ev.name}`}>{ev.triggeredBy.map((t) => <code key={t} class='chip'>{t}</code>)}</dd></>}
          </dl>
          <h4>Payload</h4>
          <SchemaTable schema={ev.schema} resolve={model.resolve} testid={`server-schema-${ev.name}`} />
          <ReceivedFrames
            store={store}
            declared={declared}
            title='Received'
            hint='Every frame of this event, on each connection. Only a frame carrying the id of a request sent from this page is that request’s reply.'
            testid={`server-frames-${ev.name}`}
          />
        </div>
      )}
    </section>
  )
}
