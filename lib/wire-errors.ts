// The wire's error table, shared by the server and the client SDK: no
// dependencies, so the browser build of `socketspec/client` can include it.
// lib/errors.ts re-exports all of it next to the configuration errors.

/** Error codes sent to clients in the `code` field of an `__error__` payload. */
export const ErrorCode = {
  AUTH_ERROR: 'AUTH_ERROR',
  AUTH_EXPIRED: 'AUTH_EXPIRED',
  HANDLER_ERROR: 'HANDLER_ERROR',
  IDLE_TIMEOUT: 'IDLE_TIMEOUT',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  PERMISSION_ERROR: 'PERMISSION_ERROR',
  RATE_LIMIT_ERROR: 'RATE_LIMIT_ERROR',
  ROOM_NOT_FOUND: 'ROOM_NOT_FOUND',
  SESSION_EXPIRED: 'SESSION_EXPIRED',
  UNKNOWN_EVENT: 'UNKNOWN_EVENT',
  VALIDATION_ERROR: 'VALIDATION_ERROR',
  OUTBOUND_VALIDATION_ERROR: 'OUTBOUND_VALIDATION_ERROR',
  ACK_TIMEOUT: 'ACK_TIMEOUT'
} as const
export type ErrorCode = typeof ErrorCode[keyof typeof ErrorCode]

/** WebSocket close codes used by socketspec. */
export const CloseCode = {
  NORMAL: 1000,
  SERVER_SHUTDOWN: 1001,
  PROTOCOL_ERROR: 1002,
  INVALID_PAYLOAD: 1007,
  POLICY_VIOLATION: 1008,
  MESSAGE_TOO_BIG: 1009,
  AUTH_ERROR: 4001,
  AUTH_EXPIRED: 4002,
  SESSION_EXPIRED: 4004,
  IDLE_TIMEOUT: 4005,
  HEARTBEAT_TIMEOUT: 4006,
  SLOW_CONSUMER: 4009
} as const
export type CloseCode = typeof CloseCode[keyof typeof CloseCode]

/** Every wire error code, its default message and the close code it causes (if any). */
export const WIRE_ERRORS: Readonly<Record<ErrorCode, { message: string, close?: number, description: string }>> = {
  AUTH_ERROR: { message: 'Authentication failed', close: CloseCode.AUTH_ERROR, description: 'Authentication failed at connect (connection closed 4001), or a __refresh_auth__ token is invalid (connection stays open).' },
  AUTH_EXPIRED: { message: 'Authentication expired', close: CloseCode.AUTH_EXPIRED, description: 'The token expired mid-session; connection closed 4002.' },
  HANDLER_ERROR: { message: 'Internal error while handling the event', description: 'A handler, dependency or middleware threw; the message is generic.' },
  IDLE_TIMEOUT: { message: 'Connection idle for too long', close: CloseCode.IDLE_TIMEOUT, description: 'No application event for idleTimeout seconds; connection closed 4005.' },
  PAYLOAD_TOO_LARGE: { message: 'Frame larger than maxPayloadSize', description: 'The frame is larger than maxPayloadSize bytes.' },
  PERMISSION_ERROR: { message: 'Permission denied', description: 'A room guard refused, or a handler raised it.' },
  RATE_LIMIT_ERROR: { message: 'Rate limit exceeded', description: 'Token bucket empty; details.retry_after_ms says when to retry.' },
  ROOM_NOT_FOUND: { message: 'Room not found', description: 'Broadcast to a room that does not exist.' },
  SESSION_EXPIRED: { message: 'Session expired', close: CloseCode.SESSION_EXPIRED, description: 'maxDuration reached; connection closed 4004.' },
  UNKNOWN_EVENT: { message: 'Unknown event', description: 'No handler for the event; details.event names it.' },
  VALIDATION_ERROR: { message: 'Invalid message', description: 'Bad JSON, not an object, missing or non-string event, binary frame, prototype-poisoning keys, or schema failure; details.errors lists {path, message, keyword}.' },
  OUTBOUND_VALIDATION_ERROR: { message: 'Outbound payload does not match its declared schema', description: 'Server side only: conn.emit, a broadcast or a reply whose payload breaks its declared schema; thrown to the caller with details {event, errors}, nothing is sent (a handler\'s client gets HANDLER_ERROR).' },
  ACK_TIMEOUT: { message: 'No acknowledgement in time', description: 'Server side only: conn.request() got no __ack__ before its timeout.' }
}

/**
 * Codes the client SDK raises by itself: they never travel on the wire. A
 * request answered by the server rejects with the server's own code instead.
 */
export const CLIENT_ERRORS = {
  TIMEOUT: { message: 'No reply in time', description: 'client.request() got no answer within requestTimeout milliseconds.' },
  DISCONNECTED: { message: 'Connection lost', description: 'The connection dropped (or client.close() was called) before the request was answered; a request that was not sent yet waits for the next connection instead.' },
  QUEUE_FULL: { message: 'Send queue full', description: 'maxQueue frames are already waiting for the connection; send() throws and request() rejects.' }
} as const
export type ClientErrorCode = keyof typeof CLIENT_ERRORS

/** One entry of `details.errors` of a VALIDATION_ERROR / OUTBOUND_VALIDATION_ERROR. */
export interface ValidationIssue { path: string, message: string, keyword: string }

/** `details` of a VALIDATION_ERROR found before schema validation (envelope, JSON, binary...). */
export function issueDetails (path: string, message: string, keyword: string): { errors: ValidationIssue[] } {
  return { errors: [{ path, message, keyword }] }
}

/** The default message of a wire code (the code itself for application codes). */
export function wireMessage (code: string): string {
  return ((WIRE_ERRORS as Record<string, { message: string } | undefined>)[code] ?? (CLIENT_ERRORS as Record<string, { message: string } | undefined>)[code])?.message ?? code
}

/**
 * An error that reaches the client unchanged: its `code`, `message` and `details`
 * become the `__error__` payload. Throw it from handlers, middleware, deps or guards.
 *
 * @example
 * throw new SocketError('NOT_ENOUGH_CREDIT', 'Top up first', { balance: 0 })
 */
export class SocketError extends Error {
  readonly code: string
  readonly details: Record<string, unknown>
  /** Set by the TestClient when the error closed the connection. */
  closeCode?: number

  constructor (code: string, message?: string, details: Record<string, unknown> = {}) {
    super(message ?? wireMessage(code))
    this.name = 'SocketError'
    this.code = code
    this.details = details
  }
}

/** Duck-typed so errors from another copy of the package are still recognised. */
export function isSocketError (err: unknown): err is SocketError {
  return err instanceof SocketError || (err !== null && typeof err === 'object' && (err as Error).name === 'SocketError' && typeof (err as SocketError).code === 'string')
}

/** The error `conn.emit`, broadcasts and replies throw when a payload breaks its declared schema. */
export function outboundValidationError (event: string, errors: ValidationIssue[]): SocketError {
  return new SocketError(ErrorCode.OUTBOUND_VALIDATION_ERROR, `Outbound payload of '${event}' does not match its declared schema`, { event, errors })
}
