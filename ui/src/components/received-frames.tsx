import { clockTime } from '../format.js'
import type { Received, Store } from '../store.js'

/** How the document declares one event received here: `emit`, `broadcast`, `reply`… */
export interface Declared {
  event: string
  kind: string
  room?: string
}

interface Props {
  store: Store
  declared: Declared[]
  title: string
  hint?: string
  /** testid of the list; each frame is `${testid}-frame`. */
  testid: string
  /** At most this many frames, newest first. */
  limit?: number
}

/** The label of one frame: a frame carrying the id of a request from this page is its reply. */
function kindOf (frame: Received, declared: Declared[]): { kind: string, room?: string } {
  if (frame.answers !== undefined) return { kind: frame.event === '__error__' ? 'error' : 'reply' }
  const own = declared.filter((d) => d.event === frame.event)
  const kinds = [...new Set(own.map((d) => d.kind))]
  const rooms = [...new Set(own.map((d) => d.room).filter((r): r is string => r !== undefined))]
  return { kind: kinds.join(' / ') || 'event', room: rooms.length === 0 ? undefined : rooms.join(', ') }
}

/**
 * Frames of the declared events received on every connection, each labelled with how the
 * document declares it and the connection that received it. Never credited to a request:
 * emits and broadcasts carry no id.
 */
export function ReceivedFrames ({ store, declared, title, hint, testid, limit = 10 }: Props) {
  const events = [...new Set(declared.map((d) => d.event))]
  const frames = events.flatMap((e) => store.received.get(e) ?? []).sort((a, b) => b.seq - a.seq).slice(0, limit)
  const counts = new Map<string, number>()
  for (const e of events) for (const [label, n] of store.receivedCounts.get(e) ?? []) counts.set(label, (counts.get(label) ?? 0) + n)
  return (
    <div class='received' data-testid={testid}>
      <div class='received-head'>
        <h4>{title}</h4>
        {counts.size > 0 && (
          <span class='received-counts muted' data-testid={`${testid}-counts`}>
            {[...counts].map(([label, n]) => `${label}: ${n}`).join(' · ')}
          </span>
        )}
        {frames.length > 0 && (
          <button type='button' onClick={() => { for (const e of events) store.clearReceived(e) }} data-testid={`${testid}-clear`}>Clear</button>
        )}
      </div>
      {hint !== undefined && <p class='hint muted'>{hint}</p>}
      {frames.length === 0
        ? <p class='muted empty'>None received yet.</p>
        : (
          <ul class='received-list'>
            {frames.map((f) => {
              const { kind, room } = kindOf(f, declared)
              return (
                <li key={f.seq} class={`answer ${kind.split(' ')[0]}`} data-testid={`${testid}-frame`} data-kind={kind} data-event={f.event} data-conn={f.connLabel} data-id={f.id ?? ''}>
                  <div class='answer-head'>
                    <span class={`badge ${kind.split(' ')[0]}`}>{kind.toUpperCase()}</span>
                    <code>{f.event}</code>
                    <span class='conn-name'>on {f.connLabel}</span>
                    {room !== undefined && <span class='muted'>room <code>{room}</code></span>}
                    <span class='muted'>{clockTime(f.ts)}</span>
                    {f.answers !== undefined && <span class='muted'>answers <code>{f.answers}</code> id <code>{f.id}</code></span>}
                  </div>
                  <pre class='json'>{JSON.stringify(f.payload, null, 2)}</pre>
                </li>
              )
            })}
          </ul>
          )}
    </div>
  )
}
