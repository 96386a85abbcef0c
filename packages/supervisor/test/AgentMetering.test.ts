/**
 * Agent sessions bill every token a provider reported, by step: a finished
 * step by its `StepFinish`, and a step cut midway (here: its stream fails
 * after reporting usage) by the last `Usage` it sent. The provider is an
 * in-memory `Provider.make` (what is tested is the session's metering, not a
 * wire); the streams are still recorded in the ledger, which must end at 0.
 */
import { describe, expect, it } from "@effect/vitest"
import { LlmError, Provider, StreamEvent, Tool, Toolkit } from "@streamvisor/core"
import { Effect, Exit, Metric, Schema, Stream } from "effect"
import { withSupervisor } from "./support/Harness.js"

const Lookup = Tool.make("lookup", { parameters: { key: Schema.String }, success: Schema.String })
const tools = Toolkit.make(Lookup)
const handlers = Toolkit.toLayer(tools, { lookup: ({ key }) => Effect.succeed(`RESULT-${key}`) })

/** Step 1 calls `lookup` (usage 10 in / 2 out); step 2 reports 40 in / 5 out, then its connection drops. */
const provider = Provider.make({
  name: "metered",
  stream: (request) =>
    request.messages.at(-1)?.role === "tool"
      ? Stream.concat(
        Stream.make(StreamEvent.textDelta("The answer"), StreamEvent.usage(40, 5)),
        Stream.fail(new LlmError.Disconnected({ provider: "metered", message: "metered: cut" }))
      )
      : Stream.make(
        StreamEvent.toolCallStart("call_1", "lookup"),
        StreamEvent.toolCallEnd("call_1", "lookup", { key: "alpha" }),
        StreamEvent.usage(10, 2),
        StreamEvent.finish("tool_calls", "tool_calls")
      )
})

describe("agent session metering", () => {
  it.live("a step cut midway is billed for the usage it reported; nothing is committed", () =>
    Effect.gen(function*() {
      const { value } = yield* withSupervisor({}, (supervisor) =>
        Effect.gen(function*() {
          const ref = yield* supervisor.spawn({ id: "m", provider, model: "m", tools }).pipe(Effect.provide(handlers))
          const exit = yield* Effect.exit(Stream.runDrain(ref.send("what is alpha?")))
          expect(Exit.isFailure(exit)).toBe(true)
          expect(yield* ref.history).toEqual([])
          return {
            input: (yield* Metric.value(supervisor.metrics.inputTokens)).count,
            output: (yield* Metric.value(supervisor.metrics.outputTokens)).count
          }
        }))
      expect(value).toEqual({ input: 50, output: 7 })
    }))
})
