import { Ajv } from 'ajv'

let checker: Ajv | null = null

/**
 * Throw when `schema` is not a valid JSON Schema (draft-07, or its own
 * `$schema`), with Ajv's own message (`schema is invalid: …`). One checker per
 * process: Ajv compiles the meta-schema once per instance on its first
 * compile (~13 ms), which the apps' own Ajv instances (made with
 * `validateSchema: false`) would otherwise each pay at ready.
 */
export function checkSchema (schema: object): void {
  checker ??= new Ajv({ strict: false, validateSchema: true })
  checker.validateSchema(schema, true)
}
