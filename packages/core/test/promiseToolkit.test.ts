/**
 * `promiseToolkit`: PromiseTools as a Toolkit and the Context of its handlers
 * (what `streamAgent` and the supervisor's promise face run). The provider
 * sees a JSON Schema as given, a Schema's derived one, or an empty object;
 * a handler runs `execute` with a signal that aborts when it is interrupted,
 * and a throw is its failure (the message).
 */
import { describe, expect, it } from "vitest"
import { Tool } from "@streamvisor/core"
import { promiseToolkit } from "@streamvisor/core/promise"
import { Cause, Effect, Exit, Fiber, Option, Schema } from "effect"

const handler = (handlers: ReturnType<typeof promiseToolkit>["handlers"], tool: Tool.Any) =>
  Effect.runSync(Effect.provide(Tool.handlerTag(tool), handlers))

describe("promiseToolkit", () => {
  it("definitions: a JSON Schema as given, a Schema's derived one, none as an empty object", () => {
    const json = { type: "object", properties: { a: { type: "number" } }, required: ["a"] }
    const { toolkit } = promiseToolkit({
      raw: { description: "raw", parameters: json, execute: () => 1 },
      typed: { parameters: Schema.Struct({ city: Schema.String }), execute: () => 2 },
      bare: { execute: () => 3, failureMode: "error" }
    })
    expect(toolkit.definitions).toEqual([
      { name: "raw", description: "raw", parameters: json },
      { name: "typed", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"], additionalProperties: false } },
      { name: "bare", parameters: { type: "object", properties: {} } }
    ])
    expect(toolkit.tools.bare.failureMode).toBe("error")
    expect(toolkit.tools.raw.failureMode).toBe("result")
    expect(Tool.isTool(toolkit.tools.raw)).toBe(true)
    // arguments: passed on as sent without a Schema, decoded with one
    expect(Schema.decodeUnknownSync(toolkit.tools.raw.parameters as Schema.Schema<unknown>)({ anything: true })).toEqual({ anything: true })
    expect(() => Schema.decodeUnknownSync(toolkit.tools.typed.parameters as Schema.Schema<unknown>)({ city: 1 })).toThrow()
  })

  it("a handler runs execute: its value is the success, a throw the failure's message, an interruption aborts its signal", async () => {
    let seen: AbortSignal | undefined
    const { handlers, toolkit } = promiseToolkit({
      ok: { execute: async ({ n }: { n: number }) => n * 2 },
      bad: {
        execute: () => {
          throw new Error("nope")
        }
      },
      wait: {
        execute: (_: unknown, { signal }) => {
          seen = signal
          return new Promise(() => {})
        }
      }
    })
    expect(await Effect.runPromise(handler(handlers, toolkit.tools.ok).handle({ n: 21 }))).toBe(42)
    const failed = await Effect.runPromiseExit(handler(handlers, toolkit.tools.bad).handle({}))
    expect(Exit.isFailure(failed) && Cause.failureOption(failed.cause)).toEqual(Option.some("nope"))
    // the fiber runs `execute` synchronously, up to its first await
    const fiber = Effect.runFork(handler(handlers, toolkit.tools.wait).handle({}))
    expect(seen?.aborted).toBe(false)
    await Effect.runPromise(Fiber.interrupt(fiber))
    expect(seen!.aborted).toBe(true)
  })
})
