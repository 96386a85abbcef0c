/**
 * The JSON Schema subset Gemini's `responseJsonSchema` takes (documented
 * November 2025: `anyOf`, `$ref`, `minimum` / `maximum`,
 * `additionalProperties`, `type: "null"`, `prefixItems` and the basics).
 * Checked before connecting, so a keyword Gemini would ignore or refuse is an
 * `InvalidRequest` naming it and where it is, never a silent drop.
 *
 * @internal
 */
import { LlmError } from "@streamvisor/core"

type Json = Record<string, unknown>

const isRecord = (value: unknown): value is Json =>
  typeof value === "object" && value !== null && !Array.isArray(value)

const invalid = (message: string): LlmError.InvalidRequest =>
  new LlmError.InvalidRequest({ provider: "google", message: `google: ${message}` })

/**
 * The JSON Schema keywords Gemini's `responseJsonSchema` documents. `$schema`
 * is metadata and is removed; any other keyword is refused.
 *
 * @internal
 */
export const jsonSchemaKeywords: ReadonlySet<string> = new Set([
  "$id",
  "$defs",
  "$ref",
  "$anchor",
  "type",
  "format",
  "title",
  "description",
  "enum",
  "items",
  "prefixItems",
  "minItems",
  "maxItems",
  "minimum",
  "maximum",
  "anyOf",
  "properties",
  "required",
  "additionalProperties",
  "propertyOrdering"
])

/**
 * Check a JSON Schema against {@link jsonSchemaKeywords} and return it without
 * `$schema`. Throws `InvalidRequest` naming the first keyword Gemini does not
 * take and where it is.
 *
 * @internal
 */
export const toResponseJsonSchema = (schema: Json, path = "responseFormat.schema"): Json => {
  const out: Json = {}
  for (const key of Object.keys(schema)) {
    const value = schema[key]
    if (key === "$schema") continue
    if (!jsonSchemaKeywords.has(key)) {
      throw invalid(
        `${path}: the JSON Schema keyword "${key}" is not supported by Gemini's responseJsonSchema (it takes ${
          [...jsonSchemaKeywords].join(", ")
        })`
      )
    }
    if ((key === "properties" || key === "$defs") && isRecord(value)) {
      const children: Json = {}
      for (const name of Object.keys(value)) {
        const child = value[name]
        children[name] = isRecord(child) ? toResponseJsonSchema(child, `${path}.${key}.${name}`) : child
      }
      out[key] = children
    } else if ((key === "items" || key === "additionalProperties") && isRecord(value)) {
      out[key] = toResponseJsonSchema(value, `${path}.${key}`)
    } else if ((key === "anyOf" || key === "prefixItems") && Array.isArray(value)) {
      out[key] = value.map((child, i) => (isRecord(child) ? toResponseJsonSchema(child, `${path}.${key}[${i}]`) : child))
    } else {
      out[key] = value
    }
  }
  return out
}
