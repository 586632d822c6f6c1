import type { Conn, Store } from '../store.js'

const STATE_LABEL: Record<Conn['state'], string> = {
  disconnected: 'Disconnected',
  connecting: 'Connecting…',
  open: 'Connected',
  closing: 'Closing…'
}

export const stateLabel = (conn: Conn | undefined): string => conn === undefined ? 'No connection' : STATE_LABEL[conn.state]

function ConnectionRow ({ conn, index, store }: { conn: Conn, index: number, store: Store }) {
  const active = store.active?.key === conn.key
  const live = conn.state === 'open' || conn.state === 'connecting'
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
        {conn.closeInfo !== undefined && conn.state === 'disconnected' && (
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
      <p class='hint muted'>The selected connection sends "Try it out" messages. Open two connections (with different tokens) to watch broadcasts.</p>
    </section>
  )
}
