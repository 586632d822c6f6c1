import { Type, type Static, type TObject } from '@sinclair/typebox'

// The wire protocol (SPEC §2) as one table: the envelopes, the error payload and
// every reserved system event. The AsyncAPI builder, the typed `emitSystem` and
// the docs read it; nothing else re-types these payloads.

const EPOCH_MS = 'Unix epoch milliseconds'
const EventName = (description: string) => Type.String({ minLength: 1, description })
const RequestId = (description: string) => Type.String({ maxLength: 64, description })
const Ms = (description: string) => Type.Number({ description: `${description}, ${EPOCH_MS}.` })
const NullableMs = (description: string) => Type.Union([Type.Number(), Type.Null()], { description })
const Seconds = (description: string) => Type.Number({ description })

/** Client → server frame. */
export const InboundEnvelope = Type.Object({
  event: EventName('Event name.'),
  payload: Type.Optional(Type.Unknown({ description: 'Event payload; {} when omitted.' })),
  id: Type.Optional(RequestId('Optional client-chosen id (at most 64 characters); the reply and any __error__ carry it back.'))
}, { title: 'InboundEnvelope', description: 'Client → server frame.' })
export type InboundEnvelope = Static<typeof InboundEnvelope>

/** Server → client frame. */
export const OutboundEnvelope = Type.Object({
  event: EventName('Event name.'),
  payload: Type.Unknown({ description: 'Event payload.' }),
  id: Type.Optional(RequestId('The id of the client message this answers, when it had one.'))
}, { title: 'OutboundEnvelope', description: 'Server → client frame.' })
export type OutboundEnvelope = Static<typeof OutboundEnvelope>

/** Payload of `__error__`. `code` is a wire code (lib/errors.ts WIRE_ERRORS) or a SocketError's own code. */
export const ErrorPayload = Type.Object({
  code: Type.String({ description: 'A wire error code (VALIDATION_ERROR, RATE_LIMIT_ERROR, …), or an application code raised with SocketError, unchanged.' }),
  message: Type.String({ description: 'Human-readable message; generic for HANDLER_ERROR (no stack or exception text leaks unless the error is a SocketError).' }),
  request_id: Type.String({ description: 'The id of the client message that caused the error when it had one, else a server-generated uuid.' }),
  details: Type.Unsafe<Record<string, unknown>>({
    type: 'object',
    additionalProperties: true,
    description: 'Extra data: errors [{path, message, keyword}] for VALIDATION_ERROR, retry_after_ms for RATE_LIMIT_ERROR, event for UNKNOWN_EVENT, a SocketError\'s details; {} otherwise.'
  })
}, { title: 'ErrorPayload', description: 'What went wrong, and for which client message.' })
export type ErrorPayload = Static<typeof ErrorPayload>

/** One row of the system event table. */
export interface SystemEventSpec {
  /** 'out': server → client; 'in': client → server. */
  readonly direction: 'in' | 'out'
  readonly summary: string
  readonly description: string
  /** TypeBox object with a unique `title`, e.g. `ConnectPayload`. */
  readonly payload: TObject
  /** The frame carries an `id` tying it to a client message (its own, or the one it answers). */
  readonly correlated?: boolean
  /** Inbound events only: the system event a success is answered with (errors are `__error__`). */
  readonly reply?: string
}

/** Every reserved system event (SPEC §2), in the order the docs list them. */
export const SystemEvents = {
  __connect__: {
    direction: 'out',
    summary: 'Connection accepted.',
    description: 'Sent once, after authentication succeeded and before the onConnect hooks run; frames the client sent while auth ran are processed after it.',
    payload: Type.Object({
      connection_id: Type.String({ format: 'uuid', description: 'Id of this connection.' }),
      namespace: Type.String({ description: 'Namespace of the connection.' }),
      heartbeat_interval: Seconds('Seconds between two __ping__ frames (heartbeatInterval; fractions allowed).'),
      session_expires_at: NullableMs(`When the session ends (maxDuration), ${EPOCH_MS}; null without maxDuration.`),
      contract: Type.String({ description: 'Hash of the server\'s AsyncAPI document: a client generated from another document can tell that the API changed.' }),
      resume_token: Type.Optional(Type.String({ description: 'With recovery on: the secret, single-use token a new connection sends in __resume__ to take this session over after a drop.' }))
    }, { title: 'ConnectPayload', description: 'The connection id and the session settings a client needs.' })
  },
  __disconnect__: {
    direction: 'out',
    summary: 'The server is about to close the connection.',
    description: 'Sent just before any server-initiated close, with the close code and reason.',
    payload: Type.Object({
      code: Type.Integer({ description: 'WebSocket close code: 1000 normal (conn.disconnect()), 1001 server shutdown, 4001 auth failed, 4002 token expired, 4004 session expired, 4005 idle, 4006 heartbeat timeout, 4009 slow consumer, 1008 too many frames before auth.' }),
      reason: Type.String({ description: 'Close reason, as in the close frame.' })
    }, { title: 'DisconnectPayload', description: 'Why the connection is being closed.' })
  },
  __ping__: {
    direction: 'out',
    summary: 'Heartbeat.',
    description: 'Sent every heartbeatInterval seconds together with a WebSocket ping control frame; the client is alive when it answers with __pong__, a pong control frame, or any other frame within heartbeatTimeout seconds, else the connection is closed 4006.',
    payload: Type.Object({
      ts: Ms('Server time')
    }, { title: 'PingPayload', description: 'When the server sent the heartbeat.' })
  },
  __pong__: {
    direction: 'in',
    summary: 'Heartbeat answer.',
    description: 'Answers __ping__ (a pong control frame or any other frame answers it too). Not routed to handlers and does not count as activity for the idle timeout.',
    payload: Type.Object({}, { title: 'PongPayload', description: 'No fields.' })
  },
  __error__: {
    direction: 'out',
    summary: 'An error.',
    description: 'Every error, with the id of the client message that caused it when it had one. Errors that close the connection (AUTH_ERROR at connect, AUTH_EXPIRED, IDLE_TIMEOUT, SESSION_EXPIRED) are followed by the close.',
    payload: ErrorPayload,
    correlated: true
  },
  __auth_expiring__: {
    direction: 'out',
    summary: 'The token expires soon.',
    description: 'Sent once, tokenRefreshWindow seconds before the token\'s exp; send __refresh_auth__ with a fresh token to keep the connection, else it is closed 4002 (AUTH_EXPIRED) when the token expires.',
    payload: Type.Object({
      expires_at: Ms('Token expiry'),
      seconds_left: Seconds('Seconds until the token expires.')
    }, { title: 'AuthExpiringPayload', description: 'When the token of this connection expires.' })
  },
  __refresh_auth__: {
    direction: 'in',
    summary: 'Replace the token of this connection.',
    description: 'Verified by the auth backend; the new token must carry the same userId (another user\'s token is an AUTH_ERROR and the identity stays unchanged). On success the identity is replaced and __auth_refreshed__ is sent; on failure an AUTH_ERROR is sent and the connection stays open. At most 5 refreshes per connection per minute, whatever rateLimit says (RATE_LIMIT_ERROR beyond). Not routed to handlers.',
    payload: Type.Object({
      token: Type.String({ description: 'The new token.' })
    }, { title: 'RefreshAuthPayload', description: 'A fresh token for the same user.' }),
    correlated: true,
    reply: '__auth_refreshed__'
  },
  __auth_refreshed__: {
    direction: 'out',
    summary: 'The token was replaced.',
    description: 'Answers a successful __refresh_auth__, with its id.',
    payload: Type.Object({
      expires_at: NullableMs(`New token expiry, ${EPOCH_MS}; null when the new token does not expire.`)
    }, { title: 'AuthRefreshedPayload', description: 'When the new token expires.' }),
    correlated: true
  },
  __session_expiring__: {
    direction: 'out',
    summary: 'The session ends soon.',
    description: 'Sent once, min(60 s, 10 % of maxDuration) before maxDuration; the connection is then closed 4004 (SESSION_EXPIRED).',
    payload: Type.Object({
      expires_at: Ms('Session end'),
      seconds_left: Seconds('Seconds until the session ends.')
    }, { title: 'SessionExpiringPayload', description: 'When the session ends.' })
  },
  __idle_warning__: {
    direction: 'out',
    summary: 'The connection is about to be closed for inactivity.',
    description: 'Sent once, min(30 s, 10 % of idleTimeout) before the idle close (IDLE_TIMEOUT, 4005). Any application event resets the timer; __pong__ does not.',
    payload: Type.Object({
      seconds_left: Seconds('Seconds until the idle close.')
    }, { title: 'IdleWarningPayload', description: 'Time left before the idle close.' })
  },
  __server_shutdown__: {
    direction: 'out',
    summary: 'The server is shutting down.',
    description: 'Sent when the server starts closing; the connection is then closed 1001. Reconnect after retry_after_ms.',
    payload: Type.Object({
      retry_after_ms: Type.Integer({ description: 'Milliseconds to wait before reconnecting.' })
    }, { title: 'ServerShutdownPayload', description: 'When to reconnect.' })
  },
  __ack__: {
    direction: 'in',
    summary: 'Answer to a server request.',
    description: 'Answers a server request (conn.request(event, payload)), carrying that request\'s id; its payload is what conn.request() resolves with. {"event":"__ack__","id":"…","error":{"code","message"}} refuses the request instead: conn.request() rejects with that code. Not routed to handlers.',
    payload: Type.Object({}, { additionalProperties: true, title: 'AckPayload', description: 'Whatever the request asked for.' }),
    correlated: true
  },
  __joined__: {
    direction: 'out',
    summary: 'This connection joined a room (recovery on).',
    description: 'Sent when the connection joined a room, with the room\'s position: its next broadcast carries offset + 1. Keep it (and the offset of every room broadcast received) to resume after a drop.',
    payload: Type.Object({
      room: Type.String({ description: 'The room.' }),
      offset: Type.Integer({ minimum: 0, description: 'The room\'s last offset at the time of the join; 0 for a room that never had a broadcast.' }),
      epoch: Type.String({ description: 'The room history\'s epoch; it changes whenever history was lost or reset.' })
    }, { title: 'JoinedPayload', description: 'A room and its position.' })
  },
  __left__: {
    direction: 'out',
    summary: 'This connection left a room (recovery on).',
    description: 'Sent when the connection left a room.',
    payload: Type.Object({
      room: Type.String({ description: 'The room.' })
    }, { title: 'LeftPayload', description: 'The room left.' })
  },
  __resume__: {
    direction: 'in',
    summary: 'Take over a dropped session.',
    description: 'Sent after __connect__ of a new connection, with the resume_token of the connection that dropped and the last offset received in each of its rooms. The server re-joins the old rooms (guards run again), replays every missed broadcast of each room in offset order as its original frame, then answers __resumed__. Refused for an unknown, expired or used token, a session closed on purpose (4001, 4002, 4004, 4005, 1008, conn.disconnect(), a client 1000 close) or another user.',
    payload: Type.Object({
      token: Type.String({ description: 'The resume_token of the dropped connection\'s __connect__.' }),
      rooms: Type.Optional(Type.Record(Type.String(), Type.Object({
        offset: Type.Integer({ minimum: 0, description: 'The last offset received in the room (or the one __joined__ gave).' }),
        epoch: Type.String({ description: 'The epoch that offset belongs to.' })
      }, { title: 'ResumeRoomPosition', description: 'Where the client is in one room.' }), { description: 'Room → the last position received.' }))
    }, { title: 'ResumePayload', description: 'The old session and where the client stopped.' }),
    correlated: true,
    reply: '__resumed__'
  },
  __resumed__: {
    direction: 'out',
    summary: 'The outcome of a __resume__.',
    description: 'Sent after the replayed broadcasts. recovered is true only when every room was recovered with nothing missing; a room whose missed broadcasts are not all available (history overflowed, epoch changed) is re-joined but reported recovered: false, and the client should reload its state. A refused resume has a reason and restores nothing.',
    payload: Type.Object({
      recovered: Type.Boolean({ description: 'Every room recovered, nothing missing.' }),
      previous_id: Type.Optional(Type.String({ description: 'The id of the connection whose session was taken over.' })),
      reason: Type.Optional(Type.String({ description: 'Why the resume was refused: unknown_token (unknown, expired or already used), user_mismatch, recovery_off, already_resuming (a resume is running on this connection), unavailable (the backend holding sessions cannot be reached; try again later).' })),
      rooms: Type.Record(Type.String(), Type.Object({
        recovered: Type.Boolean({ description: 'Every missed broadcast of the room was replayed.' }),
        missed: Type.Integer({ minimum: 0, description: 'Broadcasts replayed for the room.' })
      }, { title: 'ResumedRoom', description: 'The outcome for one room.' }), { description: 'Room → outcome.' })
    }, { title: 'ResumedPayload', description: 'What was recovered.' }),
    correlated: true
  }
} as const satisfies Record<string, SystemEventSpec>

export type SystemEventName = keyof typeof SystemEvents

/** The payload type of a system event, e.g. `SystemPayload<'__connect__'>`. */
export type SystemPayload<N extends SystemEventName> = Static<(typeof SystemEvents)[N]['payload']>

/** System events the server sends. */
export type OutboundSystemEventName = {
  [K in SystemEventName]: (typeof SystemEvents)[K]['direction'] extends 'out' ? K : never
}[SystemEventName]

/** System events the client sends. */
export type InboundSystemEventName = Exclude<SystemEventName, OutboundSystemEventName>

/** True for names of the form `__x__`, which belong to the protocol. */
export function isReservedName (name: string): boolean {
  return name.length > 4 && name.startsWith('__') && name.endsWith('__')
}
