import { plugin } from '../plugins/socketspec.js'

export default plugin
export { plugin as socketspec }
export { Type } from '@sinclair/typebox'
export type { Static, TSchema } from '@sinclair/typebox'
export { SocketError, ErrorCode, CloseCode, WIRE_ERRORS } from './errors.js'
export { SocketApp } from './socket-app.js'
export type { EventHandler, RoomsApi, BroadcastOptions } from './socket-app.js'
export { Connection } from './connection.js'
export type { SessionInfo, RoomTarget } from './connection.js'
export type { SocketspecOptions } from './options.js'
export type { ConnectHook, DisconnectHook, ErrorHook, Middleware } from './engine.js'
export { jwtAuth, apiKeyAuth } from './auth/index.js'
export type { JwtAuthOptions, ApiKeyAuthOptions } from './auth/index.js'
export { memoryBackend } from './backends/memory.js'
export { redisBackend } from './backends/redis.js'
export type { BackendAdapter, BackendContext, BackendStats } from './backends/types.js'
export type * from './types.js'
