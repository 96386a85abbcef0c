/**
 * The one error for a provider built with bad options: a missing key, a
 * negative limit, an unknown API name. Every adapter raises it the same way
 * (the bad-configuration policy, README "Adapter kit"):
 *
 * - `make` validates its options with an `effect/Schema` and **throws**
 *   `InvalidOptions` synchronously: a programmer error at start-up, like
 *   Effect's own constructors. Nothing has connected yet.
 * - `layer` and `layerConfig` catch it and fail the layer with it, typed, so
 *   an application can report it like a `ConfigError` instead of dying.
 * - The message names the provider and the option, never the value of a key.
 *
 * @example
 * ```ts
 * import { Anthropic } from "@streamvisor/anthropic"
 * import { InvalidOptions } from "@streamvisor/core"
 *
 * try {
 *   Anthropic.make({ apiKey: "sk-ant-…", defaultMaxTokens: -1 })
 * } catch (error) {
 *   if (InvalidOptions.isInvalidOptions(error)) console.error(error.option, error.message)
 * }
 * ```
 *
 * @since 0.2.0
 */
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"

/**
 * @since 0.2.0
 * @category type ids
 */
export const TypeId: unique symbol = Symbol.for("@streamvisor/core/InvalidOptions")

/**
 * @since 0.2.0
 * @category type ids
 */
export type TypeId = typeof TypeId

/**
 * A provider was made with an option it cannot work with. `option` is the
 * option's path (`"apiKey"`, `"defaultMaxTokens"`).
 *
 * @since 0.2.0
 * @category errors
 */
export class InvalidOptions extends Schema.TaggedError<InvalidOptions>("@streamvisor/core/InvalidOptions")(
  "InvalidOptions",
  { provider: Schema.String, option: Schema.String, message: Schema.String }
) {
  /** @since 0.2.0 */
  readonly [TypeId]: TypeId = TypeId
}

/**
 * @since 0.2.0
 * @category guards
 */
export const isInvalidOptions = (u: unknown): u is InvalidOptions => Predicate.hasProperty(u, TypeId)
