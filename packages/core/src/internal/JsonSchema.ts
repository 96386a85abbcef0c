/**
 * A JSON Schema given either as a plain object or as an `effect/Schema`, from
 * which the JSON Schema is derived while the request is decoded — so an
 * adapter only ever sees the plain object.
 *
 * @internal
 */
import * as JSONSchema from "effect/JSONSchema"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"

/** A JSON Schema object, kept opaque. @internal */
export const JsonObject = Schema.Record({ key: Schema.String, value: Schema.Unknown })

/** @internal */
export type JsonObject = typeof JsonObject.Type

const AnySchema = Schema.declare(
  (u: unknown): u is Schema.Schema<any, any, never> => Schema.isSchema(u),
  { identifier: "Schema", description: "an effect/Schema" }
)

/**
 * Derive the JSON Schema of an `effect/Schema`, as `@effect/ai` does: no
 * `$schema` key (Gemini refuses it) and no top-level `$ref` for a Schema with
 * an identifier (OpenAI's strict mode and Gemini want the object itself);
 * nested definitions stay under `$defs`.
 *
 * @internal
 */
export const fromSchema = (schema: Schema.Schema.All): JsonObject => {
  const definitions: Record<string, JSONSchema.JsonSchema7> = {}
  const root = JSONSchema.fromAST(schema.ast, { definitions, topLevelReferenceStrategy: "skip" })
  const out = { ...(root as unknown as Record<string, unknown>) }
  if (Object.keys(definitions).length > 0) out.$defs = definitions
  return out
}

const FromSchema = Schema.transformOrFail(AnySchema, JsonObject, {
  strict: true,
  decode: (schema, _, ast) => {
    try {
      return ParseResult.succeed(fromSchema(schema))
    } catch (cause) {
      // JSONSchema.make throws for a Schema with no JSON Schema form (a bare
      // `declare`, a `Symbol`…): that is bad input, not a defect.
      return ParseResult.fail(
        new ParseResult.Type(ast, schema, `this Schema has no JSON Schema form: ${String((cause as Error)?.message ?? cause)}`)
      )
    }
  },
  encode: (json, _, ast) => ParseResult.fail(new ParseResult.Forbidden(ast, json, "a derived JSON Schema is not encoded back"))
})

/**
 * A JSON Schema object, or an `effect/Schema` decoded into its JSON Schema.
 *
 * @internal
 */
export const JsonSchemaInput = Schema.Union(FromSchema, JsonObject)
