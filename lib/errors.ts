import createError from '@fastify/error'

export * from './wire-errors.js'

// Configuration and programming errors, thrown at register or ready time.
export const FST_SOCKETSPEC_INVALID_OPTION = createError<[string, string]>('FST_SOCKETSPEC_INVALID_OPTION', "Invalid socketspec option '%s': %s", 500, TypeError)
export const FST_SOCKETSPEC_RESERVED_EVENT = createError<[string]>('FST_SOCKETSPEC_RESERVED_EVENT', "Event name '%s' is reserved (names of the form __x__ belong to the protocol)", 500, TypeError)
export const FST_SOCKETSPEC_DUPLICATE_EVENT = createError<[string, string]>('FST_SOCKETSPEC_DUPLICATE_EVENT', "Event '%s' is already declared in namespace '%s'", 500, TypeError)
export const FST_SOCKETSPEC_INVALID_EVENT = createError<[string, string]>('FST_SOCKETSPEC_INVALID_EVENT', "Invalid declaration of event '%s': %s", 500, TypeError)
export const FST_SOCKETSPEC_INVALID_SCHEMA = createError<[string, string]>('FST_SOCKETSPEC_INVALID_SCHEMA', "Invalid schema for event '%s': %s", 500, TypeError)
export const FST_SOCKETSPEC_CONFLICTING_SCHEMA = createError<[string]>('FST_SOCKETSPEC_CONFLICTING_SCHEMA', "Outbound event '%s' is declared with two different schemas", 500, TypeError)
export const FST_SOCKETSPEC_INVALID_HOOK = createError<[string]>('FST_SOCKETSPEC_INVALID_HOOK', "Hook '%s' must be a function", 500, TypeError)
export const FST_SOCKETSPEC_ALREADY_STARTED = createError<[string]>('FST_SOCKETSPEC_ALREADY_STARTED', "Cannot call '%s' after the Fastify instance is ready", 500, Error)
export const FST_SOCKETSPEC_INVALID_ROOM_PATTERN = createError<[string, string]>('FST_SOCKETSPEC_INVALID_ROOM_PATTERN', "Invalid room pattern '%s': %s", 500, TypeError)
export const FST_SOCKETSPEC_NOT_READY = createError<[string]>('FST_SOCKETSPEC_NOT_READY', "'%s' is only available after the Fastify instance is ready", 500, Error)
export const FST_SOCKETSPEC_NO_SOCKETSPEC = createError<[string]>('FST_SOCKETSPEC_NO_SOCKETSPEC', '%s', 500, Error)
export const FST_SOCKETSPEC_MISSING_DEPENDENCY = createError<[string, string]>('FST_SOCKETSPEC_MISSING_DEPENDENCY', "Option '%s' needs the package '%s', which is not installed (it is an optional peer dependency: npm install it)", 500, Error)
