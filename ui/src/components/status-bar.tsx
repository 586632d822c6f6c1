import type { Store } from '../store.js'
import { RetryInfo, isLive, stateLabel } from './connections.js'

/** State and connection id of the selected connection. */
export function StatusBar ({ store }: { store: Store }) {
  const conn = store.active
  const state = conn?.state ?? 'disconnected'
  const live = isLive(conn)
  return (
    <div class='status-bar' role='status' aria-live='polite' data-testid='status-bar' data-state={state}>
      <span class={`dot ${state}`} aria-hidden='true' />
      <strong data-testid='status-state'>{stateLabel(conn)}</strong>
      <span class='muted'>{conn?.label}</span>
      {conn?.connectionId !== undefined && state === 'open' && (
        <span class='status-id'>connection id <code data-testid='status-connection-id'>{conn.connectionId}</code></span>
      )}
      {conn !== undefined && <RetryInfo conn={conn} testid='status-retry' />}
      {conn?.closeInfo !== undefined && (state === 'disconnected' || state === 'reconnecting') && <span class='muted' data-testid='status-close'>last close {conn.closeInfo}</span>}
      <span class='spacer' />
      {conn !== undefined && (live
        ? <button type='button' onClick={() => store.disconnect(conn.key)} data-testid='status-disconnect'>Disconnect</button>
        : <button type='button' class='primary' onClick={() => store.connect(conn.key)} data-testid='status-connect'>Connect</button>)}
    </div>
  )
}
