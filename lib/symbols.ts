/** Private state of public objects lives behind these symbols. */
export const kEngine = Symbol('socketspec.engine')
export const kSocket = Symbol('socketspec.socket')
export const kState = Symbol('socketspec.state')
export const kQueue = Symbol('socketspec.queue')
export const kOrdered = Symbol('socketspec.ordered')
export const kBuckets = Symbol('socketspec.buckets')
export const kTimers = Symbol('socketspec.timers')
export const kInflight = Symbol('socketspec.inflight')
export const kCloseInfo = Symbol('socketspec.closeInfo')
export const kRegistered = Symbol('socketspec.registered')
export const kCorked = Symbol('socketspec.corked')
/** On the http server: SocketApps by path (for TestClient), and whether socketspec registered @fastify/websocket's upgrade listener. */
export const kSocketApps = Symbol.for('socketspec.apps')
export const kWsOwner = Symbol.for('socketspec.wsOwner')
export const kInject = Symbol('socketspec.inject')
export const kLog = Symbol('socketspec.log')
/** Bytes of the frames queued while authentication runs. */
export const kQueueBytes = Symbol('socketspec.queueBytes')
/** Set by any inbound frame or pong control frame; cleared at each heartbeat ping. */
export const kSeen = Symbol('socketspec.seen')
/** Times of the last `__refresh_auth__` attempts (at most 5 per minute). */
export const kRefreshes = Symbol('socketspec.refreshes')
/** Plugin option (tests): the Clock timers and rate limiters read. */
export const kClock = Symbol.for('socketspec.clock')
/** Unsent bytes when the connection was last seen over maxBufferedBytes (0: under it). */
export const kOverCap = Symbol('socketspec.overCap')
/** With recovery: the connection's resume token (sent in `__connect__`). */
export const kResumeToken = Symbol('socketspec.resumeToken')
/** With recovery: room frames held back while a `__resume__` replays history (null otherwise). */
export const kReplay = Symbol('socketspec.replay')
/** Server requests (`conn.request`) waiting for their `__ack__`, by id. */
export const kAcks = Symbol('socketspec.acks')
/** On a WebSocket: its Connection (the socket's listeners are shared by every connection). */
export const kConn = Symbol('socketspec.conn')
