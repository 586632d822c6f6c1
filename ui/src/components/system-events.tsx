import { useState } from 'preact/hooks'
import type { ApiModel } from '../model.js'
import type { Store } from '../store.js'
import { EventCard } from './event-card.js'

/** Protocol events every socketspec server speaks, and the error codes. */
export function SystemEvents ({ model, store }: { model: ApiModel, store: Store }) {
  const [open, setOpen] = useState(false)
  if (model.systemEvents.length === 0) return null
  return (
    <section class='group system' data-testid='group-system'>
      <h2>
        <button type='button' class='group-head' aria-expanded={open} onClick={() => setOpen(!open)} data-testid='group-toggle-system'>
          <span>System events</span>
          <span class='muted group-desc'>protocol frames and error codes</span>
          <span class='chevron' aria-hidden='true'>{open ? '▾' : '▸'}</span>
        </button>
      </h2>
      {open && (
        <>
          {model.systemEvents.map((ev) => <EventCard key={ev.name} ev={ev} model={model} store={store} group='system' />)}
          {model.errorCodes.length > 0 && (
            <div class='table-scroll codes'>
              <table class='schema codes' data-testid='error-codes'>
                <caption>Error codes (<code>__error__</code> payload <code>code</code>)</caption>
                <thead><tr><th scope='col'>Code</th><th scope='col'>Closes</th><th scope='col'>When</th></tr></thead>
                <tbody>
                  {model.errorCodes.map((c) => (
                    <tr key={c.code}><td><code>{c.code}</code></td><td>{c.close ?? 'stays open'}</td><td>{c.description}</td></tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </>
      )}
    </section>
  )
}
