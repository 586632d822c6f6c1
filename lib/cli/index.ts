#!/usr/bin/env node
import { main } from './main.js'

process.exitCode = await main(process.argv.slice(2))
// An app loaded by `socketspec asyncapi` may leave handles open (timers, Redis
// sockets) after close; the CLI must not hang on them. unref: a clean exit is not delayed.
setTimeout(() => process.exit(), 1000).unref()
