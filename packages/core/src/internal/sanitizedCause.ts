/**
 * The wire form of `LlmError.Unknown.cause`. In memory the cause is what an
 * adapter kept — a `Redaction.sanitizeCause` copy: an `Error` with only the
 * SDK's distinguishing fields, or scrubbed text, or a small record such as
 * `{ status }`. On the wire it must be plain JSON and must not grow anything
 * back: an `Error` keeps its `name`, `message`, the same field list the
 * sanitiser copies and its `cause` chain (three levels, like the sanitiser),
 * never its stack (the same choice as `Schema.Defect`).
 *
 * @internal
 */
import * as Schema from "effect/Schema"

const FIELDS = ["status", "statusText", "type", "code", "requestID", "errorDetails"] as const
const MAX_DEPTH = 3

/** Plain JSON for a value that is not an `Error`: primitives as they are, records through JSON, the rest as text. */
const plain = (value: unknown): unknown => {
  if (value === undefined || value === null) return null
  if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") return value
  if (typeof value === "bigint") return value.toString()
  try {
    const json = JSON.stringify(value)
    if (json !== undefined) return JSON.parse(json)
  } catch {
    // a cycle or a BigInt inside: fall back to text
  }
  return String(value)
}

const encode = (cause: unknown, depth: number): unknown => {
  if (!(cause instanceof Error)) return plain(cause)
  const out: Record<string, unknown> = { _tag: "Error", name: cause.name, message: cause.message }
  const source = cause as Error & Record<string, unknown>
  for (const key of FIELDS) {
    if (source[key] !== undefined && source[key] !== null) out[key] = encode(source[key], depth + 1)
  }
  if (source.cause !== undefined && depth < MAX_DEPTH) out.cause = encode(source.cause, depth + 1)
  return out
}

const isEncodedError = (u: unknown): u is Record<string, unknown> & { name: string; message: string } =>
  typeof u === "object" && u !== null && (u as { _tag?: unknown })._tag === "Error" &&
  typeof (u as { message?: unknown }).message === "string"

const decode = (encoded: unknown): unknown => {
  if (!isEncodedError(encoded)) return encoded
  const error = new Error(encoded.message) as Error & Record<string, unknown>
  if (typeof encoded.name === "string") error.name = encoded.name
  error.stack = `${error.name}: ${error.message}`
  for (const key of FIELDS) if (key in encoded) error[key] = decode(encoded[key])
  if ("cause" in encoded) error.cause = decode(encoded.cause)
  return error
}

/** @internal */
export const SanitizedCause: Schema.Schema<unknown, unknown> = Schema.transform(Schema.Unknown, Schema.Unknown, {
  strict: true,
  decode: (encoded) => decode(encoded),
  encode: (cause) => encode(cause, 0)
}).annotations({ identifier: "SanitizedCause" })
