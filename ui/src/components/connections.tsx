import { useEffect, useState } from 'preact/hooks'
import type { Conn, Store } from '../store.js'

const STATE_LABEL: Record<Conn['state'], string> = {
  disconnected: 'Disconnected',
  connecting: 'Connecting…',
  open: 'Connected',
  reconnecting: 'Reconnecting…'
}

export const stateLabel = (conn: Conn | undefined): string => conn === undefined ? 'No connection' : STATE_LABEL[conn.state]

/** The client is connecting, connected or retrying by itself: Disconnect stops it. */
export const isLive = (conn: Conn | undefined): boolean => conn !== undefined && conn.state !== 'disconnected'

/** While reconnecting: the attempt and a countdown to it. */
export function RetryInfo ({ conn, testid }: { conn: Conn, testid: string }) {
  const [, setTick] = useState(0)
  const waiting = conn.state === 'reconnecting'
  useEffect(() => {
    if (!waiting) return
    const timer = setInterval(() => setTick((n) => n + 1), 250)
    return () => clearInterval(timer)
  }, [waiting])
  if (!waiting) return null
  const left = Math.max(0, (conn.retryAt ?? 0) - Date.now())
  return (
    <span class='muted retry' data-testid={testid} data-attempt={conn.attempt}>
      attempt {conn.attempt} · {left > 0 ? `next try in ${(left / 1000).toFixed(1)} s` : 'trying…'}
    </span>
  )
}

function ConnectionRow ({ conn, index, store }: { conn: Conn, index: number, store: Store }) {
  const active = store.active?.key === conn.key
  const live = isLive(conn)
  const tokenId = `conn-token-input-${conn.key}`
  return (
    <li class={`conn ${active ? 'active' : ''}`} data-testid={`conn-${index}`} data-state={conn.state}>
      <div class='conn-top'>
        <label class='conn-pick'>
          <input
            type='radio'
            name='active-connection'
            checked={active}
            onChange={() => store.setActive(conn.key)}
            data-testid={`conn-select-${index}`}
          />
          <span class='conn-label'>{conn.label}</span>
        </label>
        <span class={`dot ${conn.state}`} aria-hidden='true' />
        <span class='conn-state' data-testid={`conn-state-${index}`}>{STATE_LABEL[conn.state]}</span>
        {store.conns.length > 1 && (
          <button type='button' class='icon' aria-label={`Remove ${conn.label}`} onClick={() => store.removeConnection(conn.key)} data-testid={`conn-remove-${index}`}>×</button>
        )}
      </div>
      <div class='conn-controls'>
        <label class='sr-only' for={tokenId}>Token for {conn.label}</label>
        <input
          id={tokenId}
          type='password'
          autocomplete='off'
          placeholder='Token (optional)'
          value={conn.token}
          disabled={live}
          onInput={(e) => store.setToken(conn.key, (e.target as HTMLInputElement).value)}
          onKeyDown={(e) => { if (e.key === 'Enter') store.connect(conn.key) }}
          data-testid={`conn-token-${index}`}
        />
        {live
          ? <button type='button' onClick={() => store.disconnect(conn.key)} data-testid={`disconnect-${index}`}>Disconnect</button>
          : <button type='button' class='primary' onClick={() => store.connect(conn.key)} data-testid={`connect-${index}`}>Connect</button>}
      </div>
      <div class='conn-info'>
        {conn.connectionId !== undefined && conn.state === 'open' && (
          <span>id <code data-testid={`conn-id-${index}`}>{conn.connectionId}</code></span>
        )}
        <RetryInfo conn={conn} testid={`conn-retry-${index}`} />
        {conn.closeInfo !== undefined && (conn.state === 'disconnected' || conn.state === 'reconnecting') && (
          <span class='muted' data-testid={`conn-close-${index}`}>last close: {conn.closeInfo}</span>
        )}
      </div>
    </li>
  )
}

/** Several simultaneous connections, each with its own token; the selected one is used by "Try it out". */
export function Connections ({ store }: { store: Store }) {
  return (
    <section class='panel' aria-labelledby='connections-title'>
      <div class='panel-head'>
        <h2 id='connections-title'>Connections</h2>
        <button type='button' onClick={() => store.addConnection()} data-testid='add-connection'>+ Add connection</button>
      </div>
      <ul class='conns'>
        {store.conns.map((c, i) => <ConnectionRow key={c.key} conn={c} index={i} store={store} />)}
      </ul>
      <p class='hint muted'>The selected connection sends "Try it out" messages. Open two connections (with different tokens) to watch broadcasts. A dropped connection reconnects by itself until you disconnect it.</p>
    </section>
  )
}
