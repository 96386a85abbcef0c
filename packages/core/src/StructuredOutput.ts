/**
 * Typed answers: ask for JSON matching an `effect/Schema` and get the decoded
 * value (`generateObject`), or watch it grow (`streamObject`). The request's
 * `responseFormat` is set to `json_schema` with the Schema's JSON Schema, which
 * each adapter sends natively or emulates (Anthropic: a forced tool), so the
 * answer arrives as JSON text deltas whatever the provider.
 *
 * Output that is not JSON or does not match the Schema fails with
 * `InvalidOutput`, carrying the text and the Schema's message.
 *
 * @example
 * ```ts
 * import { Provider, StructuredOutput } from "@streamvisor/core"
 * import { Effect, Schema } from "effect"
 *
 * const City = Schema.Struct({ name: Schema.String, population: Schema.Number })
 * declare const gpt: Provider.Provider
 *
 * const city = StructuredOutput.generateObject(gpt, {
 *   model: "gpt-4.1",
 *   messages: [{ role: "user", content: "The largest city of Norway?" }]
 * }, City)
 * // Effect<{ name: string; population: number }, LlmError | InvalidOutput>
 * ```
 *
 * @since 0.2.0
 */
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { dual } from "effect/Function"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as SchemaAST from "effect/SchemaAST"
import * as Stream from "effect/Stream"
import type * as ChatRequest from "./ChatRequest.js"
import { fromSchema } from "./internal/JsonSchema.js"
import { PartialJson } from "./internal/PartialJson.js"
import { InvalidOutput } from "./InvalidOutput.js"
import type { LlmError } from "./LlmError.js"
import { Disconnected, InvalidRequest } from "./LlmError.js"
import type * as Provider from "./Provider.js"
import type * as StreamEvent from "./StreamEvent.js"

/**
 * A request for an object: any request but its `responseFormat`, which the
 * Schema sets.
 *
 * @since 0.2.0
 * @category models
 */
export type ObjectRequest = Omit<ChatRequest.Input, "responseFormat">

/**
 * @since 0.2.0
 * @category models
 */
export interface ObjectOptions {
  /** The format's name (1 to 64 of `[A-Za-z0-9_-]`); default: the Schema's identifier, else "output". */
  readonly name?: string | undefined
  readonly description?: string | undefined
  /** Ask providers that have it (OpenAI) to enforce the schema while generating. */
  readonly strict?: boolean | undefined
}

/**
 * A value as it grows: every property optional, all the way down.
 *
 * @since 0.2.0
 * @category models
 */
export type DeepPartial<T> = T extends ReadonlyArray<infer E> ? ReadonlyArray<DeepPartial<E>>
  : T extends object ? { readonly [K in keyof T]?: DeepPartial<T[K]> }
  : T

/**
 * What `streamObject` emits: the object so far, in its JSON (encoded) form,
 * whenever a batch of deltas changed it.
 *
 * @since 0.2.0
 * @category models
 */
export interface PartialObject<I> {
  readonly _tag: "PartialObject"
  readonly partial: DeepPartial<I>
}

/**
 * The last element of `streamObject`: the decoded, validated value.
 *
 * @since 0.2.0
 * @category models
 */
export interface Complete<A> {
  readonly _tag: "Object"
  readonly value: A
  readonly usage: Provider.Usage | undefined
  readonly finish: StreamEvent.Finish
}

/**
 * @since 0.2.0
 * @category models
 */
export type ObjectEvent<A, I> = PartialObject<I> | Complete<A>

const nameOf = (schema: Schema.Schema.All, options: ObjectOptions | undefined): string => {
  if (options?.name !== undefined) return options.name
  const identifier = Option.getOrUndefined(SchemaAST.getIdentifierAnnotation(schema.ast))
  const cleaned = identifier?.replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 64)
  return cleaned === undefined || cleaned === "" ? "output" : cleaned
}

/**
 * The `json_schema` response format for a Schema.
 *
 * @since 0.2.0
 * @category constructors
 */
export const responseFormat = (schema: Schema.Schema.All, options?: ObjectOptions): ChatRequest.ResponseFormat => ({
  type: "json_schema",
  name: nameOf(schema, options),
  schema: fromSchema(schema),
  ...(options?.description === undefined ? {} : { description: options.description }),
  ...(options?.strict === undefined ? {} : { strict: options.strict })
})

const withFormat = (request: ObjectRequest, schema: Schema.Schema.All, options: ObjectOptions | undefined) =>
  Effect.try({
    try: (): ChatRequest.Input => ({ ...request, responseFormat: responseFormat(schema, options) }),
    // A Schema with no JSON Schema form: the request is what is wrong.
    catch: (cause) => cause
  })

const cutNote = (finish: StreamEvent.Finish): string =>
  finish.reason === "length" ? "the answer stopped at the token limit (finish reason \"length\"); " : ""

const decodeValue = <A, I, R>(
  provider: string,
  schema: Schema.Schema<A, I, R>,
  text: string,
  finish: StreamEvent.Finish,
  value: unknown
): Effect.Effect<A, InvalidOutput, R> =>
  Effect.mapError(
    Schema.decodeUnknown(schema, { errors: "all" })(value),
    (error) =>
      new InvalidOutput({
        provider,
        text,
        message: `${provider}: ${cutNote(finish)}the answer does not match the schema:\n${
          ParseResult.TreeFormatter.formatErrorSync(error)
        }`
      })
  )

const notJson = (provider: string, text: string, finish: StreamEvent.Finish, cause: unknown) =>
  new InvalidOutput({
    provider,
    text,
    message: `${provider}: ${cutNote(finish)}the answer is not JSON: ${cause instanceof Error ? cause.message : String(cause)}`
  })

const isProvider = (u: unknown): u is Provider.Provider =>
  typeof u === "object" && u !== null && typeof (u as Provider.Provider).stream === "function" &&
  typeof (u as Provider.Provider).generate === "function"

const invalidSchema = (provider: string, cause: unknown) =>
  Effect.fail(
    new InvalidRequest({
      provider,
      message: `${provider}: the output Schema has no JSON Schema form: ${
        cause instanceof Error ? cause.message : String(cause)
      }`
    })
  )

/**
 * Generate a value matching `schema`: the request goes out with a
 * `json_schema` response format derived from it, and the answer's text is
 * parsed and decoded. A mismatch is `InvalidOutput`.
 *
 * @since 0.2.0
 * @category running
 */
export const generateObject: {
  <A, I, R>(
    request: ObjectRequest,
    schema: Schema.Schema<A, I, R>,
    options?: ObjectOptions
  ): (provider: Provider.Provider) => Effect.Effect<A, LlmError | InvalidOutput, R>
  <A, I, R>(
    provider: Provider.Provider,
    request: ObjectRequest,
    schema: Schema.Schema<A, I, R>,
    options?: ObjectOptions
  ): Effect.Effect<A, LlmError | InvalidOutput, R>
} = dual(
  (args) => isProvider(args[0]),
  <A, I, R>(
    provider: Provider.Provider,
    request: ObjectRequest,
    schema: Schema.Schema<A, I, R>,
    options?: ObjectOptions
  ): Effect.Effect<A, LlmError | InvalidOutput, R> =>
    withFormat(request, schema, options).pipe(
      Effect.catchAll((cause) => invalidSchema(provider.name, cause)),
      Effect.flatMap((full) => provider.generate(full)),
      Effect.flatMap((generation) => {
        const parsed = Either.try(() => JSON.parse(generation.text) as unknown)
        return Either.isLeft(parsed)
          ? Effect.fail(notJson(provider.name, generation.text, generation.finish, parsed.left))
          : decodeValue(provider.name, schema, generation.text, generation.finish, parsed.right)
      })
    )
)

/**
 * Stream a value matching `schema` as it is written: a `PartialObject` (the
 * JSON parsed so far) after each batch of deltas that changed it, then one
 * `Object` with the decoded, validated value. The text is parsed
 * incrementally, each character once. A mismatch is `InvalidOutput`.
 *
 * @since 0.2.0
 * @category running
 */
export const streamObject: {
  <A, I, R>(
    request: ObjectRequest,
    schema: Schema.Schema<A, I, R>,
    options?: ObjectOptions
  ): (provider: Provider.Provider) => Stream.Stream<ObjectEvent<A, I>, LlmError | InvalidOutput, R>
  <A, I, R>(
    provider: Provider.Provider,
    request: ObjectRequest,
    schema: Schema.Schema<A, I, R>,
    options?: ObjectOptions
  ): Stream.Stream<ObjectEvent<A, I>, LlmError | InvalidOutput, R>
} = dual(
  (args) => isProvider(args[0]),
  <A, I, R>(
    provider: Provider.Provider,
    request: ObjectRequest,
    schema: Schema.Schema<A, I, R>,
    options?: ObjectOptions
  ): Stream.Stream<ObjectEvent<A, I>, LlmError | InvalidOutput, R> =>
    Stream.unwrap(Effect.map(
      Effect.catchAll(withFormat(request, schema, options), (cause) => invalidSchema(provider.name, cause)),
      (full) => {
        const parser = new PartialJson()
        let text = ""
        let syntax: unknown = undefined
        let usage: Provider.Usage | undefined = undefined
        let finish: StreamEvent.Finish | undefined = undefined
        const partials = Stream.mapChunks(provider.stream(full), (chunk): Chunk.Chunk<ObjectEvent<A, I>> => {
          for (const event of chunk) {
            if (event._tag === "TextDelta") {
              text += event.text
              if (syntax === undefined) {
                try {
                  parser.push(event.text)
                } catch (cause) {
                  syntax = cause
                }
              }
            } else if (event._tag === "Usage") {
              const { _tag: _, ...rest } = event
              usage = rest
            } else if (event._tag === "Finish") {
              finish = event
            }
          }
          if (syntax !== undefined || !parser.hasChanged) return Chunk.empty()
          const partial = parser.snapshot()
          return partial === undefined ? Chunk.empty() : Chunk.of({ _tag: "PartialObject", partial: partial as DeepPartial<I> })
        })
        const last = Effect.suspend((): Effect.Effect<ObjectEvent<A, I>, LlmError | InvalidOutput, R> => {
          const end = finish
          if (end === undefined) {
            return Effect.fail(
              new Disconnected({ provider: provider.name, message: `${provider.name}: stream ended without a finish` })
            )
          }
          if (syntax === undefined) {
            try {
              const value = parser.end()
              return Effect.map(
                decodeValue(provider.name, schema, text, end, value),
                (decoded): Complete<A> => ({ _tag: "Object", value: decoded, usage, finish: end })
              )
            } catch (cause) {
              syntax = cause
            }
          }
          return Effect.fail(notJson(provider.name, text, end, syntax))
        })
        return Stream.concat(partials, Stream.fromEffect(last))
      }
    ))
)
