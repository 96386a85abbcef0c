/**
 * A toolkit groups tools; its handlers are provided by a Layer, the way Effect
 * programs provide services (as in `@effect/ai`). A turn that may call the
 * toolkit's tools requires their handlers, so a missing one is a type error,
 * not a runtime surprise.
 *
 * @example
 * ```ts
 * import { Tool, Toolkit } from "@streamvisor/core"
 * import { Effect, Schema } from "effect"
 *
 * const Add = Tool.make("add", {
 *   parameters: { a: Schema.Number, b: Schema.Number },
 *   success: Schema.Number
 * })
 * const Now = Tool.make("now", { success: Schema.Number })
 *
 * const tools = Toolkit.make(Add, Now)
 * const ToolsLive = Toolkit.toLayer(tools, {
 *   add: ({ a, b }) => Effect.succeed(a + b),
 *   now: () => Effect.clockWith((clock) => clock.currentTimeMillis)
 * })
 * ```
 *
 * @since 0.3.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import * as Layer from "effect/Layer"
import { pipeArguments, type Pipeable } from "effect/Pipeable"
import type * as Scope from "effect/Scope"
import type * as ChatRequest from "./ChatRequest.js"
import { fromTool, type RunnableTool } from "./internal/toolCall.js"
import * as Tool from "./Tool.js"

/**
 * @since 0.3.0
 * @category type ids
 */
export const TypeId: unique symbol = Symbol.for("@streamvisor/core/Toolkit")

/**
 * @since 0.3.0
 * @category type ids
 */
export type TypeId = typeof TypeId

/**
 * A set of tools, by name.
 *
 * @since 0.3.0
 * @category models
 */
export interface Toolkit<in out Tools extends Record<string, Tool.Any>> extends Pipeable {
  readonly [TypeId]: TypeId
  readonly tools: Tools
  /** What the provider sees, in the order the tools were given. */
  readonly definitions: ReadonlyArray<ChatRequest.Tool>
}

/**
 * Any toolkit.
 *
 * @since 0.3.0
 * @category models
 */
export type Any = Toolkit<any>

/**
 * The tools of a list, by name.
 *
 * @since 0.3.0
 * @category type-level
 */
export type ToolsByName<Tools extends ReadonlyArray<Tool.Any>> = {
  readonly [T in Tools[number] as T["name"]]: T
}

/**
 * What `toLayer` takes: one handler per tool, each an `Effect` with any
 * requirements (the Layer requires them in turn).
 *
 * @since 0.3.0
 * @category type-level
 */
export type HandlersFrom<Tools extends Record<string, Tool.Any>> = {
  readonly [Name in keyof Tools]: (params: Tool.Parameters<Tools[Name]>) => Effect.Effect<
    Tool.Success<Tools[Name]>,
    Tool.Failure<Tools[Name]>,
    any
  >
}

/**
 * The requirements of a set of handlers.
 *
 * @since 0.3.0
 * @category type-level
 */
export type HandlerRequirements<Handlers> = {
  [K in keyof Handlers]: Handlers[K] extends (...args: any) => Effect.Effect<any, any, infer R> ? R : never
}[keyof Handlers]

/**
 * The services a toolkit's handlers are provided as: what a turn over the
 * toolkit requires.
 *
 * @since 0.3.0
 * @category type-level
 */
export type Handlers<T> = T extends Toolkit<infer Tools> ? { [Name in keyof Tools]: Tool.Handler<Name & string> }[keyof Tools]
  : never

const Proto = {
  [TypeId]: TypeId,
  pipe() {
    // eslint-disable-next-line prefer-rest-params -- pipeArguments takes the IArguments object, as in effect
    return pipeArguments(this, arguments)
  }
}

/**
 * Group tools. Names must be unique.
 *
 * @since 0.3.0
 * @category constructors
 */
export const make = <const Tools extends ReadonlyArray<Tool.Any>>(...tools: Tools): Toolkit<ToolsByName<Tools>> => {
  const byName: Record<string, Tool.Any> = {}
  for (const tool of tools) {
    if (byName[tool.name] !== undefined) throw new Error(`Toolkit.make: tool "${tool.name}" is given twice`)
    byName[tool.name] = tool
  }
  return Object.assign(Object.create(Proto), {
    tools: byName,
    definitions: tools.map((tool) => tool.definition)
  })
}

/**
 * The Layer that provides a toolkit's handlers: given directly, or built by an
 * `Effect` (which may use the `Scope` of the Layer, e.g. to open a pool). Each
 * handler keeps the requirements it had when the Layer was built.
 *
 * @example
 * ```ts
 * import { Tool, Toolkit } from "@streamvisor/core"
 * import { Context, Effect, Schema } from "effect"
 *
 * class Prices extends Context.Tag("Prices")<Prices, { readonly of: (sku: string) => number }>() {}
 * const Price = Tool.make("price", { parameters: { sku: Schema.String }, success: Schema.Number })
 * const tools = Toolkit.make(Price)
 * // Layer<Tool.Handler<"price">, never, Prices>
 * const ToolsLive = Toolkit.toLayer(tools, {
 *   price: ({ sku }) => Effect.map(Prices, (prices) => prices.of(sku))
 * })
 * ```
 *
 * @since 0.3.0
 * @category layers
 */
export const toLayer: {
  <Tools extends Record<string, Tool.Any>, H extends HandlersFrom<Tools>, EX = never, RX = never>(
    build: H | Effect.Effect<H, EX, RX>
  ): (self: Toolkit<Tools>) => Layer.Layer<Handlers<Toolkit<Tools>>, EX, Exclude<RX, Scope.Scope> | HandlerRequirements<H>>
  <Tools extends Record<string, Tool.Any>, H extends HandlersFrom<Tools>, EX = never, RX = never>(
    self: Toolkit<Tools>,
    build: H | Effect.Effect<H, EX, RX>
  ): Layer.Layer<Handlers<Toolkit<Tools>>, EX, Exclude<RX, Scope.Scope> | HandlerRequirements<H>>
} = dual(2, (self: Any, build: unknown) =>
  Layer.scopedContext(Effect.gen(function*() {
    const handlers = (Effect.isEffect(build) ? yield* build : build) as Record<
      string,
      (params: unknown) => Effect.Effect<unknown, unknown, unknown>
    >
    const context = yield* Effect.context<unknown>()
    let out = Context.empty() as Context.Context<unknown>
    for (const name of Object.keys(self.tools)) {
      const handler = handlers[name]
      if (handler === undefined) return yield* Effect.dieMessage(`Toolkit.toLayer: no handler for tool "${name}"`)
      const service: Tool.HandlerService = {
        handle: (params) => Effect.provide(handler(params), context as Context.Context<unknown>) as Effect.Effect<unknown, unknown>
      }
      out = Context.add(out, Tool.handlerTag(self.tools[name] as Tool.Any), service)
    }
    return out
  })))

/**
 * The toolkit's tools with their handlers, read from the context: what the
 * agent loop runs.
 *
 * @internal
 */
export const runnable = <T extends Any>(self: T): Effect.Effect<ReadonlyArray<RunnableTool>, never, Handlers<T>> =>
  Effect.forEach(Object.values(self.tools as Record<string, Tool.Any>), (tool) =>
    Effect.map(Tool.handlerTag(tool), (service) => fromTool(tool, service.handle))) as unknown as Effect.Effect<ReadonlyArray<RunnableTool>, never, Handlers<T>>
