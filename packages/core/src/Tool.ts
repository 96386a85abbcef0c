/**
 * A tool the model may call, defined with `effect/Schema`, as in `@effect/ai`:
 * a name, a description, the `parameters` Schema (the JSON Schema sent to the
 * provider is derived from it), and the `success` and `failure` Schemas of its
 * handler. The handler itself is not part of the definition: it is an `Effect`
 * with its own requirements, given by a Layer (`Toolkit.toLayer`), so the same
 * tool runs against a real service in production and a fake one in tests.
 *
 * @example
 * ```ts
 * import { Tool } from "@streamvisor/core"
 * import { Schema } from "effect"
 *
 * const Calculator = Tool.make("calculator", {
 *   description: "Evaluate an arithmetic expression",
 *   parameters: { expression: Schema.String },
 *   success: Schema.Number,
 *   failure: Schema.Struct({ reason: Schema.String })
 * })
 * ```
 *
 * @since 0.3.0
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import { pipeArguments, type Pipeable } from "effect/Pipeable"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import type * as ChatRequest from "./ChatRequest.js"
import { fromSchema } from "./internal/JsonSchema.js"

/**
 * @since 0.3.0
 * @category type ids
 */
export const TypeId: unique symbol = Symbol.for("@streamvisor/core/Tool")

/**
 * @since 0.3.0
 * @category type ids
 */
export type TypeId = typeof TypeId

/**
 * What a handler's typed failure does: `"result"` (the default) sends it to
 * the model as an error result, which it can read and act on; `"error"` fails
 * the whole turn with `ToolError { reason: "failure" }`.
 *
 * @since 0.3.0
 * @category models
 */
export type FailureMode = "result" | "error"

/**
 * A tool definition. `Parameters` is the Schema of the arguments (an object),
 * `Success` and `Failure` those of what the handler returns and fails with;
 * both are encoded to JSON for the model.
 *
 * @since 0.3.0
 * @category models
 */
export interface Tool<
  out Name extends string,
  out Parameters extends Schema.Schema.Any = Schema.Struct<{}>,
  out Success extends Schema.Schema.Any = typeof Schema.Void,
  out Failure extends Schema.Schema.All = typeof Schema.Never
> extends Pipeable {
  readonly [TypeId]: TypeId
  readonly name: Name
  readonly description: string | undefined
  readonly parameters: Parameters
  readonly success: Success
  readonly failure: Failure
  readonly failureMode: FailureMode
  /** The tag under which the tool's handler is provided (see `Toolkit.toLayer`). */
  readonly key: string
  /** What the provider sees: name, description and the derived JSON Schema. */
  readonly definition: ChatRequest.Tool
}

/**
 * Any tool.
 *
 * @since 0.3.0
 * @category models
 */
export interface Any extends Pipeable {
  readonly [TypeId]: TypeId
  readonly name: string
  readonly description: string | undefined
  readonly parameters: Schema.Schema.Any
  readonly success: Schema.Schema.Any
  readonly failure: Schema.Schema.All
  readonly failureMode: FailureMode
  readonly key: string
  readonly definition: ChatRequest.Tool
}

/**
 * The decoded arguments a tool's handler receives.
 *
 * @since 0.3.0
 * @category type-level
 */
export type Parameters<T extends Any> = Schema.Schema.Type<T["parameters"]>

/**
 * What a tool's handler succeeds with.
 *
 * @since 0.3.0
 * @category type-level
 */
export type Success<T extends Any> = Schema.Schema.Type<T["success"]>

/**
 * What a tool's handler fails with.
 *
 * @since 0.3.0
 * @category type-level
 */
export type Failure<T extends Any> = Schema.Schema.Type<T["failure"]>

/**
 * A handler for a tool: an `Effect` of its decoded arguments, with whatever
 * requirements `R` the Layer providing it supplies.
 *
 * @since 0.3.0
 * @category models
 */
export type HandlerFunction<T extends Any, R = never> = (params: Parameters<T>) => Effect.Effect<Success<T>, Failure<T>, R>

/**
 * The service a tool's handler is provided as: one per tool name, so a turn
 * requires exactly the handlers of the tools it may call.
 *
 * @since 0.3.0
 * @category models
 */
export interface Handler<Name extends string> {
  readonly _: unique symbol
  readonly name: Name
}

/**
 * A handler once its requirements are provided (see `Toolkit.toLayer`).
 *
 * @since 0.3.0
 * @category models
 */
export interface HandlerService {
  readonly handle: (params: unknown) => Effect.Effect<unknown, unknown>
}

/**
 * The `Context.Tag` a tool's handler is provided under.
 *
 * @since 0.3.0
 * @category tags
 */
export const handlerTag = <T extends Any>(tool: T): Context.Tag<Handler<T["name"]>, HandlerService> =>
  Context.GenericTag<Handler<T["name"]>, HandlerService>(tool.key)

type ParametersOf<P> = P extends Schema.Schema.Any ? P : P extends Schema.Struct.Fields ? Schema.Struct<P> : never

const Proto = {
  [TypeId]: TypeId,
  pipe() {
    // eslint-disable-next-line prefer-rest-params -- pipeArguments takes the IArguments object, as in effect
    return pipeArguments(this, arguments)
  }
}

/**
 * Define a tool. `parameters` is a Schema of an object, or the fields of one
 * (`{ city: Schema.String }`); with none, the tool takes no arguments.
 * `success` defaults to `Schema.Void` and `failure` to `Schema.Never`.
 *
 * @since 0.3.0
 * @category constructors
 */
export const make = <
  const Name extends string,
  P extends Schema.Schema.Any | Schema.Struct.Fields = {},
  Success extends Schema.Schema.Any = typeof Schema.Void,
  Failure extends Schema.Schema.All = typeof Schema.Never
>(
  name: Name,
  options: {
    readonly description?: string | undefined
    readonly parameters?: P | undefined
    readonly success?: Success | undefined
    readonly failure?: Failure | undefined
    readonly failureMode?: FailureMode | undefined
  } = {}
): Tool<Name, ParametersOf<P>, Success, Failure> => {
  const given = options.parameters
  const parameters = (given === undefined
    ? Schema.Struct({})
    : Schema.isSchema(given)
    ? given
    : Schema.Struct(given as Schema.Struct.Fields)) as unknown as ParametersOf<P>
  const description = options.description
  // Derived once here, not per step: `JSONSchema.make` walks the whole AST.
  const json = fromSchema(parameters as Schema.Schema.All)
  const tool = Object.create(Proto)
  return Object.assign(tool, {
    name,
    description,
    parameters,
    success: options.success ?? Schema.Void,
    failure: options.failure ?? Schema.Never,
    failureMode: options.failureMode ?? "result",
    key: `@streamvisor/core/Tool/${name}`,
    definition: description === undefined ? { name, parameters: json } : { name, description, parameters: json }
  })
}

/**
 * @since 0.3.0
 * @category guards
 */
export const isTool = (u: unknown): u is Any => Predicate.hasProperty(u, TypeId)
