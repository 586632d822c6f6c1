import type { Static, TSchema } from '@sinclair/typebox'

/**
 * A payload schema: a `@sinclair/typebox` 0.34 schema, a `typebox` 1.x
 * schema, or a plain JSON Schema object. At run time all three are JSON
 * Schema for Ajv and fast-json-stringify; at compile time `StaticOf` infers
 * the payload type from each.
 */
export type SchemaLike = object

type Prettify<T> = { [K in keyof T]: T[K] } & {}
type Elem<T> = T extends readonly unknown[] ? T[number] : never

/**
 * The TypeScript type a schema describes:
 * - `@sinclair/typebox` 0.34: its own `Static`;
 * - `typebox` 1.x: read from the schema's `'~kind'` tags (String, Number,
 *   Integer, Boolean, Null, Literal, Union, Intersect, Array, Tuple, Object
 *   with Optional properties, Record, Enum, Unknown, Any);
 * - a plain JSON Schema written `as const`: read from `type`, `properties`,
 *   `required`, `items`, `enum`, `const`, `anyOf`/`oneOf`, `allOf`;
 * - anything else: `unknown`.
 *
 * @example
 * const S = { type: 'object', properties: { n: { type: 'number' } }, required: ['n'] } as const
 * type P = StaticOf<typeof S> // { n: number }
 */
export type StaticOf<S> =
  S extends TSchema ? Static<S>
    : S extends { '~kind': string } ? Static1<S>
      : S extends object ? JsonStatic<S>
        : unknown

// ---- typebox 1.x ---------------------------------------------------------------

type Static1<S> =
  S extends { '~kind': 'String' } ? string
    : S extends { '~kind': 'Number' | 'Integer' } ? number
      : S extends { '~kind': 'Boolean' } ? boolean
        : S extends { '~kind': 'Null' } ? null
          : S extends { '~kind': 'Undefined' } ? undefined
            : S extends { '~kind': 'Literal', const: infer C } ? C
              : S extends { '~kind': 'Enum', enum: infer E } ? Elem<E>
                : S extends { '~kind': 'Union', anyOf: infer A } ? Static1Each<Elem<A>>
                  : S extends { '~kind': 'Intersect', allOf: infer A } ? Intersect1<A>
                    : S extends { '~kind': 'Array', items: infer I } ? Array<Static1<I>>
                      : S extends { '~kind': 'Tuple', items: infer I } ? { [K in keyof I]: Static1<I[K]> }
                        : S extends { '~kind': 'Record', patternProperties: infer P } ? Record<string, Static1<P[keyof P]>>
                          : S extends { '~kind': 'Object', properties: infer P } ? Object1<P>
                            : S extends { '~kind': 'Any' } ? any
                              : unknown

type Static1Each<U> = U extends unknown ? Static1<U> : never
type Intersect1<A> = A extends readonly [infer H, ...infer R] ? Static1<H> & Intersect1<R> : unknown
type OptionalKeys1<P> = { [K in keyof P]: P[K] extends { '~optional': true } ? K : never }[keyof P]
type Object1<P> = Prettify<
  { [K in Exclude<keyof P, OptionalKeys1<P>>]: Static1<P[K]> } &
  { [K in OptionalKeys1<P>]?: Static1<P[K]> }
>

// ---- plain JSON Schema (as const) ---------------------------------------------

type JsonStatic<S> =
  S extends { const: infer C } ? C
    : S extends { enum: infer E } ? Elem<E>
      : S extends { anyOf: infer A } ? JsonEach<Elem<A>>
        : S extends { oneOf: infer A } ? JsonEach<Elem<A>>
          : S extends { allOf: infer A } ? JsonIntersect<A>
            : S extends { type: infer T } ? JsonByType<S, T>
              : unknown

type JsonEach<U> = U extends unknown ? JsonStatic<U> : never
type JsonIntersect<A> = A extends readonly [infer H, ...infer R] ? JsonStatic<H> & JsonIntersect<R> : unknown
type JsonByType<S, T> =
  T extends readonly unknown[] ? JsonByTypeEach<S, T[number]> : JsonByTypeEach<S, T>
type JsonByTypeEach<S, T> = T extends unknown ? JsonTypeName<S, T> : never
type JsonTypeName<S, T> =
  T extends 'string' ? string
    : T extends 'number' | 'integer' ? number
      : T extends 'boolean' ? boolean
        : T extends 'null' ? null
          : T extends 'array' ? (S extends { items: infer I } ? Array<JsonStatic<I>> : unknown[])
            : T extends 'object' ? JsonObject<S>
              : unknown
type JsonObject<S> =
  S extends { properties: infer P }
    ? Prettify<
      { [K in keyof P as K extends JsonRequired<S> ? K : never]: JsonStatic<P[K]> } &
      { [K in keyof P as K extends JsonRequired<S> ? never : K]?: JsonStatic<P[K]> }
    >
    : S extends { additionalProperties: infer A extends object } ? Record<string, JsonStatic<A>>
      : Record<string, unknown>
type JsonRequired<S> = S extends { required: infer R } ? Elem<R> : never
