// Tracing (SPEC §14): with @opentelemetry/api and a tracer provider registered
// before ready, every handled event is a span `ws <event>`; real app, real
// WebSocket traffic, the OpenTelemetry SDK's in-memory exporter.
import t, { type Test } from 'tap'
import { AsyncLocalStorage } from 'node:async_hooks'
import { context, trace, ROOT_CONTEXT, SpanKind, SpanStatusCode, type Context, type ContextManager } from '@opentelemetry/api'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base'
import type { FastifyInstance } from 'fastify'
import { SocketError, Type, type SocketspecOptions } from '../lib/index.js'
import { kEngine } from '../lib/symbols.js'
import { build } from './helpers/build.js'
import { connectedClient, listen, requestReply } from './helpers/ws-client.js'

/** The smallest AsyncLocalStorage context manager (what @opentelemetry/context-async-hooks does), so a handler's own spans find their parent across awaits. */
class AlsContextManager implements ContextManager {
  readonly #als = new AsyncLocalStorage<Context>()
  active (): Context { return this.#als.getStore() ?? ROOT_CONTEXT }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>> (ctx: Context, fn: F, thisArg?: ThisParameterType<F>, ...args: A): ReturnType<F> {
    return this.#als.run(ctx, () => fn.apply(thisArg, args))
  }

  bind<T> (_ctx: Context, target: T): T { return target }
  enable (): this { return this }
  disable (): this { this.#als.disable(); return this }
}

/** Register an SDK tracer provider with an in-memory exporter globally, undone at the end of the test. */
function sdk (t: Test): InMemorySpanExporter {
  const exporter = new InMemorySpanExporter()
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
  t.ok(trace.setGlobalTracerProvider(provider), 'provider registered')
  t.ok(context.setGlobalContextManager(new AlsContextManager()), 'context manager registered')
  t.teardown(async () => {
    trace.disable()
    context.disable()
    await provider.shutdown()
  })
  return exporter
}

async function app (t: Test, options: SocketspecOptions = {}): Promise<FastifyInstance> {
  const a = await build(t, options)
  const appTracer = trace.getTracer('the-app')
  a.socket.on('echo', {
    payload: Type.Object({ echo: Type.String() }),
    emits: [{ event: 'echo_response', schema: Type.Object({ echo: Type.String() }) }]
  }, async (conn, p) => {
    // the app's own span, started inside the handler after an await: a child of `ws echo`
    await Promise.resolve()
    appTracer.startSpan('db.query').end()
    conn.emit('echo_response', { echo: p.echo })
  })
  a.socket.on('add', {
    payload: Type.Object({ a: Type.Number(), b: Type.Number() }),
    reply: { event: 'sum', schema: Type.Object({ sum: Type.Number() }) }
  }, (_conn, p) => ({ sum: p.a + p.b }))
  a.socket.on('fail', {}, async () => { throw new SocketError('OUT_OF_STOCK', 'none left') })
  a.socket.on('crash', {}, () => { throw new Error('bug') })
  a.socket.on('bad_reply', { reply: { event: 'r', schema: Type.Object({ n: Type.Number() }) } }, () => ({ n: 'not a number' }) as any)
  a.socket.on('with_deps', {
    payload: Type.Object({ n: Type.Number() }),
    deps: { user: async () => { appTracer.startSpan('load.user').end(); return 'u1' } },
    reply: { event: 'deps_ok' }
  }, () => ({}))
  return a
}

function byName (spans: ReadableSpan[], name: string): ReadableSpan[] {
  return spans.filter(s => s.name === name)
}

t.test('a span per handled event: name, attributes, status, and the handler\'s own spans as children', async (t) => {
  const exporter = sdk(t)
  const a = await app(t)
  const c = await connectedClient(t, await listen(t, a))
  c.send('echo', { echo: 'x' })
  await c.next('echo_response')
  t.same(await requestReply(c, 'add', { a: 1, b: 2 }, 'sum'), { sum: 3 })
  await t.rejects(requestReply(c, 'add', { a: 'x', b: 2 }, 'sum'), { code: 'VALIDATION_ERROR' })
  await t.rejects(requestReply(c, 'fail', {}, 'never'), { code: 'OUT_OF_STOCK' })
  await t.rejects(requestReply(c, 'crash', {}, 'never'), { code: 'HANDLER_ERROR' })
  await t.rejects(requestReply(c, 'bad_reply', {}, 'r'), { code: 'HANDLER_ERROR' })
  await t.rejects(requestReply(c, 'no_such_event', {}, 'never'), { code: 'UNKNOWN_EVENT' })
  c.send('__pong__', {})
  await requestReply(c, 'add', { a: 0, b: 0 }, 'sum')

  const spans = exporter.getFinishedSpans()
  t.same(spans.filter(s => s.name.startsWith('ws ')).map(s => s.name), ['ws echo', 'ws add', 'ws add', 'ws fail', 'ws crash', 'ws bad_reply', 'ws add'], 'handled events only: no span for an unknown event or __pong__')

  const echo = byName(spans, 'ws echo')[0]
  t.equal(echo.kind, SpanKind.SERVER)
  t.same(echo.attributes, { 'socketspec.connection_id': c.id, 'socketspec.event': 'echo', 'socketspec.namespace': '/' })
  t.equal(echo.status.code, SpanStatusCode.UNSET)
  t.equal(echo.parentSpanContext, undefined, 'each event is the root of its own trace')
  const db = byName(spans, 'db.query')[0]
  t.equal(db.parentSpanContext?.spanId, echo.spanContext().spanId, "the handler's span is a child of ws echo")
  t.equal(db.spanContext().traceId, echo.spanContext().traceId)

  const [ok, invalid] = byName(spans, 'ws add')
  t.equal(ok.status.code, SpanStatusCode.UNSET)
  t.equal(ok.attributes['socketspec.error_code'], undefined)
  t.same(invalid.status, { code: SpanStatusCode.ERROR, message: 'VALIDATION_ERROR' })
  t.equal(invalid.attributes['socketspec.error_code'], 'VALIDATION_ERROR')
  t.same(byName(spans, 'ws fail')[0].status, { code: SpanStatusCode.ERROR, message: 'OUT_OF_STOCK' }, "the app's own code")
  t.same(byName(spans, 'ws crash')[0].status, { code: SpanStatusCode.ERROR, message: 'HANDLER_ERROR' })
  t.same(byName(spans, 'ws bad_reply')[0].status, { code: SpanStatusCode.ERROR, message: 'HANDLER_ERROR' }, 'a reply that breaks its schema')
  t.not(byName(spans, 'ws add')[0].spanContext().traceId, byName(spans, 'ws add')[2].spanContext().traceId, 'one trace per event')
})

t.test('the middleware and dependency path: middleware, deps and handler run inside the span', async (t) => {
  const exporter = sdk(t)
  const a = await app(t)
  const seen: Array<string | undefined> = []
  a.socket.middleware(async (_conn, _event, _payload, next) => {
    seen.push(trace.getActiveSpan() === undefined ? undefined : 'active')
    await next()
  })
  const c = await connectedClient(t, await listen(t, a))
  t.same(await requestReply(c, 'with_deps', { n: 1 }, 'deps_ok'), {})
  await t.rejects(requestReply(c, 'with_deps', { n: 'x' }, 'deps_ok'), { code: 'VALIDATION_ERROR' })
  await t.rejects(requestReply(c, 'fail', {}, 'never'), { code: 'OUT_OF_STOCK' })

  const spans = exporter.getFinishedSpans()
  const [good, bad] = byName(spans, 'ws with_deps')
  t.equal(good.status.code, SpanStatusCode.UNSET)
  t.equal(byName(spans, 'load.user')[0].parentSpanContext?.spanId, good.spanContext().spanId, 'a dependency\'s span is a child')
  t.same(bad.status, { code: SpanStatusCode.ERROR, message: 'VALIDATION_ERROR' }, 'validation after middleware')
  t.same(byName(spans, 'ws fail')[0].status, { code: SpanStatusCode.ERROR, message: 'OUT_OF_STOCK' })
  t.same(seen, ['active', 'active', 'active'], 'middleware sees the span')
})

t.test('without a tracer provider nothing is traced, and the check is made once, at ready', async (t) => {
  const a = await app(t)
  await a.ready()
  t.equal((a.socket as any)[kEngine].tracer, null, 'no tracer: the pipeline creates no span, no context, no closure')
  // a provider registered after ready is not picked up by this app
  const exporter = sdk(t)
  const c = await connectedClient(t, await listen(t, a))
  t.same(await requestReply(c, 'add', { a: 1, b: 1 }, 'sum'), { sum: 2 })
  await t.rejects(requestReply(c, 'fail', {}, 'never'), { code: 'OUT_OF_STOCK' })
  t.same(exporter.getFinishedSpans(), [], 'no span')
  // an app made ready now does trace
  const b = await app(t)
  await b.ready()
  t.not((b.socket as any)[kEngine].tracer, null)
})

t.test('metrics and tracing together', async (t) => {
  const exporter = sdk(t)
  const { Registry } = await import('prom-client')
  const registry = new Registry()
  const a = await app(t, { metrics: { registry } })
  const c = await connectedClient(t, await listen(t, a))
  await t.rejects(requestReply(c, 'fail', {}, 'never'), { code: 'OUT_OF_STOCK' })
  t.same(exporter.getFinishedSpans().map(s => s.name), ['ws fail'])
  t.match(await registry.metrics(), /socketspec_handler_duration_seconds_count\{namespace="\/",event="fail"\} 1/)
})
