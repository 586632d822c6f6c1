import { useState } from 'preact/hooks'
import { clockTime, prettyText } from '../format.js'
import type { Frame, Store } from '../store.js'

const HEARTBEATS = new Set(['__ping__', '__pong__'])
const ARROW: Record<Frame['dir'], string> = { in: '↓', out: '↑', info: '•' }
const DIR_LABEL: Record<Frame['dir'], string> = { in: 'received', out: 'sent', info: 'info' }

function FrameRow ({ frame }: { frame: Frame }) {
  const [open, setOpen] = useState(false)
  return (
    <li class={`frame ${frame.dir}`} data-testid='log-frame' data-dir={frame.dir} data-event={frame.event ?? ''} data-conn={frame.connLabel}>
      <button type='button' class='frame-head' aria-expanded={open} onClick={() => setOpen(!open)}>
        <span class='ts'>{clockTime(frame.ts)}</span>
        <span class={`arrow ${frame.dir}`} title={DIR_LABEL[frame.dir]}>{ARROW[frame.dir]}<span class='sr-only'>{DIR_LABEL[frame.dir]}</span></span>
        <span class='who'>{frame.connLabel.replace('Connection ', '#')}</span>
        <span class='ev'>{frame.event ?? (frame.dir === 'info' ? frame.text : '')}</span>
        {frame.dir !== 'info' && <span class='preview'>{frame.text}</span>}
      </button>
      {open && frame.dir !== 'info' && <pre class='json'>{prettyText(frame.text)}</pre>}
    </li>
  )
}

/** Every frame of every connection, newest first, with time and direction. */
export function FrameLog ({ store }: { store: Store }) {
  const [hideHeartbeats, setHide] = useState(false)
  const [filter, setFilter] = useState('')
  const needle = filter.trim().toLowerCase()
  const frames = store.frames.filter((f) =>
    !(hideHeartbeats && f.event !== undefined && HEARTBEATS.has(f.event)) &&
    (needle === '' || f.text.toLowerCase().includes(needle) || (f.event ?? '').toLowerCase().includes(needle)))
  return (
    <section class='panel log' aria-labelledby='log-title'>
      <div class='panel-head'>
        <h2 id='log-title'>Live log <span class='muted count'>{store.frames.length}</span></h2>
        <button type='button' onClick={() => store.clearLog()} data-testid='log-clear'>Clear</button>
      </div>
      <div class='log-tools'>
        <label class='sr-only' for='log-filter'>Filter frames</label>
        <input id='log-filter' type='search' placeholder='Filter' value={filter} onInput={(e) => setFilter((e.target as HTMLInputElement).value)} data-testid='log-filter' />
        <label class='check'>
          <input type='checkbox' checked={hideHeartbeats} onChange={(e) => setHide((e.target as HTMLInputElement).checked)} data-testid='log-hide-heartbeats' />
          hide ping/pong
        </label>
      </div>
      <ol class='frames' data-testid='log'>
        {frames.length === 0 && <li class='muted empty'>No frames yet.</li>}
        {frames.map((f) => <FrameRow key={f.seq} frame={f} />)}
      </ol>
    </section>
  )
}
