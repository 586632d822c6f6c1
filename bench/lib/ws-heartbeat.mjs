// The raw ws peers' heartbeat, as the ws README does it: a ping every
// interval; a socket that did not answer the previous one is terminated.
// (Used by bench/servers/raw.mjs and bench/idle-profile.mjs.)

/** Mark a new socket alive whenever it answers a ping. */
export function trackPongs (socket) {
  socket.on('pong', () => { socket.missedPong = false })
}

/**
 * Every `ms` milliseconds (an unref'd timer), ping each socket of `clients()`
 * (read at each tick: the server may not exist yet when this is called),
 * terminating those that missed the last ping.
 */
export function pingEvery (clients, ms) {
  return setInterval(() => {
    for (const socket of clients()) {
      if (socket.missedPong === true) {
        socket.terminate()
        continue
      }
      socket.missedPong = true
      socket.ping()
    }
  }, ms).unref()
}
