import type { BackendAdapter } from './types.js'
import { memoryBackend } from './memory.js'
import { FST_SOCKETSPEC_INVALID_OPTION } from '../errors.js'

export type { BackendAdapter, BackendContext, BackendStats } from './types.js'
export { memoryBackend } from './memory.js'
export { redisBackend, type RedisBackendOptions } from './redis.js'

const METHODS = ['start', 'stop', 'addConnection', 'removeConnection', 'join', 'leave', 'members', 'exists', 'rooms', 'connections', 'publishRoom', 'publishAll', 'publishConnection', 'stats'] as const

/** Resolve the `backend` option: `'memory'` (the default) or an adapter object; throws FST_SOCKETSPEC_INVALID_OPTION otherwise. */
export function resolveBackend (option: unknown): BackendAdapter {
  if (option === undefined || option === 'memory') return memoryBackend()
  if (option === null || typeof option !== 'object') {
    throw new FST_SOCKETSPEC_INVALID_OPTION('backend', "must be 'memory' or a BackendAdapter such as redisBackend({ url })")
  }
  const adapter = option as Record<string, unknown>
  for (const method of METHODS) {
    if (typeof adapter[method] !== 'function') {
      throw new FST_SOCKETSPEC_INVALID_OPTION('backend', `a BackendAdapter needs a ${method}() method`)
    }
  }
  return option as BackendAdapter
}
