import { Type, type Static } from '@sinclair/typebox'

/** Client → server frame. */
export const InboundEnvelope = Type.Object({
  event: Type.String({ minLength: 1, description: 'Event name.' }),
  payload: Type.Optional(Type.Unknown({ description: 'Event payload; {} when omitted.' })),
  id: Type.Optional(Type.String({ maxLength: 64, description: 'Correlation id, echoed on the reply and on errors.' }))
})
export type InboundEnvelope = Static<typeof InboundEnvelope>

/** Payload of `__error__`. */
export const ErrorPayload = Type.Object({
  code: Type.String(),
  message: Type.String(),
  request_id: Type.String(),
  details: Type.Record(Type.String(), Type.Unknown())
})
export type ErrorPayload = Static<typeof ErrorPayload>

const Ms = (description: string) => Type.Number({ description: description + ' (Unix epoch milliseconds).' })
const NullableMs = (description: string) => Type.Union([Ms(description), Type.Null()])

/** Payload schemas of the reserved system events (SPEC §2). */
export const SystemEvents = {
  __connect__: {
    direction: 'send',
    description: 'Sent once authentication succeeded, before onConnect hooks run.',
    payload: Type.Object({
      connection_id: Type.String(),
      namespace: Type.String(),
      heartbeat_interval: Type.Number({ description: 'Seconds between __ping__ frames.' }),
      session_expires_at: NullableMs('When maxDuration closes the session, or null')
    })
  },
  __disconnect__: {
    direction: 'send',
    description: 'Sent just before any server-initiated close.',
    payload: Type.Object({ code: Type.Integer(), reason: Type.String() })
  },
  __ping__: {
    direction: 'send',
    description: 'Heartbeat, every heartbeatInterval seconds; answer with __pong__.',
    payload: Type.Object({ ts: Ms('Server time') })
  },
  __pong__: {
    direction: 'receive',
    description: 'Answers __ping__. Not routed; does not count as activity.',
    payload: Type.Object({})
  },
  __auth_expiring__: {
    direction: 'send',
    description: 'Sent once, tokenRefreshWindow seconds before the token expires.',
    payload: Type.Object({ expires_at: Ms('Token expiry'), seconds_left: Type.Number() })
  },
  __refresh_auth__: {
    direction: 'receive',
    description: 'Replaces the identity with the one of a fresh token.',
    payload: Type.Object({ token: Type.String() })
  },
  __auth_refreshed__: {
    direction: 'send',
    description: 'The refresh succeeded.',
    payload: Type.Object({ expires_at: NullableMs('New token expiry') })
  },
  __session_expiring__: {
    direction: 'send',
    description: 'Sent once, min(60 s, 10 % of maxDuration) before maxDuration.',
    payload: Type.Object({ expires_at: Ms('Session end'), seconds_left: Type.Number() })
  },
  __idle_warning__: {
    direction: 'send',
    description: 'Sent once, min(30 s, 10 % of idleTimeout) before the idle close.',
    payload: Type.Object({ seconds_left: Type.Number() })
  },
  __server_shutdown__: {
    direction: 'send',
    description: 'The server is closing; reconnect after retry_after_ms.',
    payload: Type.Object({ retry_after_ms: Type.Integer() })
  },
  __error__: {
    direction: 'send',
    description: 'Every error.',
    payload: ErrorPayload
  }
} as const

export type SystemEventName = keyof typeof SystemEvents

/** True for names of the form `__x__`, which belong to the protocol. */
export function isReservedName (name: string): boolean {
  return name.length > 4 && name.startsWith('__') && name.endsWith('__')
}
