// The error table (lib/errors.ts) is the single source of every wire code: each
// one unique, documented in the README's table, in the SPEC's order.
import t from 'tap'
import { existsSync, readFileSync } from 'node:fs'
import * as errors from '../lib/errors.js'
import { CloseCode, ErrorCode, SocketError, WIRE_ERRORS, isSocketError, issueDetails, outboundValidationError, wireMessage } from '../lib/errors.js'

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
const specPath = new URL('../../shared/SPEC.md', import.meta.url)

/** Codes of the first markdown table whose header starts with `| code |`, in order. */
function tableCodes (md: string): string[] {
  const start = md.indexOf('| code |')
  const rows = md.slice(start).split('\n').slice(2)
  const out: string[] = []
  for (const row of rows) {
    const m = /^\| `?([A-Z_]+)`? \|/.exec(row)
    if (m === null) break
    out.push(m[1])
  }
  return out
}

t.test('every wire code is unique, has a message and a description, and ErrorCode mirrors WIRE_ERRORS', async (t) => {
  const codes = Object.keys(WIRE_ERRORS)
  t.same(codes, Object.values(ErrorCode), 'same codes, same order')
  t.equal(new Set(codes).size, codes.length)
  for (const [code, e] of Object.entries(WIRE_ERRORS)) {
    t.match(code, /^[A-Z][A-Z_]+$/)
    t.ok(e.message.length > 0 && e.description.length > 0, `${code} documented`)
    if (e.close !== undefined) t.ok(Object.values(CloseCode).includes(e.close as never), `${code} closes with a known code`)
  }
  t.equal(new Set(Object.values(CloseCode)).size, Object.values(CloseCode).length, 'close codes unique')
})

t.test("the README's error table lists every wire code, in the table's order", async (t) => {
  t.same(tableCodes(readme), Object.keys(WIRE_ERRORS))
  for (const code of Object.values(CloseCode)) t.ok(readme.includes(String(code)), `close code ${code} in the README`)
})

t.test("the SPEC's error table has the same codes in the same order", { skip: existsSync(specPath) ? false : 'the SPEC lives beside the repository (../shared/SPEC.md), not in a clone' }, async (t) => {
  t.same(tableCodes(readFileSync(specPath, 'utf8')), Object.keys(WIRE_ERRORS))
})

t.test('every FST_SOCKETSPEC_* error is unique and documented in the README', async (t) => {
  const fst = Object.keys(errors).filter(k => k.startsWith('FST_SOCKETSPEC_'))
  t.ok(fst.length >= 10)
  for (const name of fst) {
    const E = (errors as Record<string, any>)[name]
    t.equal(new E('a', 'b').code, name, `${name} has its own code`)
    t.ok(readme.includes(name), `${name} in the README`)
  }
})

t.test('helpers: wireMessage, issueDetails, outboundValidationError, isSocketError', async (t) => {
  t.equal(wireMessage('AUTH_ERROR'), WIRE_ERRORS.AUTH_ERROR.message)
  t.equal(wireMessage('MY_CODE'), 'MY_CODE', 'application codes are their own message')
  t.same(issueDetails('/id', 'bad', 'type'), { errors: [{ path: '/id', message: 'bad', keyword: 'type' }] })
  const e = outboundValidationError('said', [{ path: '/text', message: 'must be string', keyword: 'type' }])
  t.equal(e.code, 'OUTBOUND_VALIDATION_ERROR')
  t.same(e.details, { event: 'said', errors: [{ path: '/text', message: 'must be string', keyword: 'type' }] })
  t.ok(isSocketError(e))
  t.ok(isSocketError(Object.assign(new Error('x'), { name: 'SocketError', code: 'X' })), 'duck-typed (another copy of the package)')
  t.notOk(isSocketError(new Error('x')))
  t.notOk(isSocketError(null))
  t.equal(new SocketError('ACK_TIMEOUT').message, WIRE_ERRORS.ACK_TIMEOUT.message)
})
