import { describe, expect, it } from "@effect/vitest"
import { ChatRequest, Provider, StreamEvent } from "@streamvisor/core"
import { Effect, Exit, Stream } from "effect"

describe("ChatRequest", () => {
  it.effect("accepts a full request", () =>
    Effect.gen(function*() {
      const request = yield* ChatRequest.decode("p", {
        model: "m",
        system: "be brief",
        maxTokens: 10,
        temperature: 0.5,
        stop: ["\n\n"],
        tools: [{ name: "get_weather", description: "weather", parameters: { type: "object" } }],
        messages: [
          { role: "user", content: "hi" },
          { role: "assistant", content: "", toolCalls: [{ id: "c1", name: "get_weather", arguments: { city: "Oslo" } }] },
          { role: "tool", toolCallId: "c1", name: "get_weather", content: "{\"t\":3}" }
        ]
      })
      expect(request.messages).toHaveLength(3)
    }))

  it.effect("rejects bad input with a readable InvalidRequest listing every problem", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        ChatRequest.decode("p", { model: "", messages: [], temperature: 7, maxTokens: -1 })
      )
      expect(error._tag).toBe("InvalidRequest")
      expect(error.retryable).toBe(false)
      expect(error.message).toContain("model must not be empty")
      expect(error.message).toContain("messages must hold at least one message")
      expect(error.message).toContain("temperature must be between 0 and 2")
      expect(error.message).toContain("maxTokens must be a positive integer")
    }))

  it.effect("Provider.make validates before calling the adapter", () =>
    Effect.gen(function*() {
      let opened = 0
      const provider = Provider.make({
        name: "p",
        stream: () => {
          opened++
          return Stream.make(StreamEvent.finish("stop", "stop"))
        }
      })
      const exit = yield* Stream.runDrain(provider.stream({ model: "m", messages: [{ role: "robot", content: "x" }] } as never)).pipe(Effect.exit)
      expect(Exit.isFailure(exit)).toBe(true)
      expect(opened).toBe(0)
      const ok = yield* provider.generate(ChatRequest.user("m", "hi"))
      expect(ok.finish).toEqual(StreamEvent.finish("stop", "stop"))
      expect(opened).toBe(1)
    }))

  it.effect("generate folds text, reasoning, tool calls and usage; no Finish is Disconnected", () =>
    Effect.gen(function*() {
      const events = [
        StreamEvent.reasoningDelta("think"),
        StreamEvent.textDelta("Hel"),
        StreamEvent.textDelta("lo"),
        StreamEvent.toolCallStart("c", "f"),
        StreamEvent.toolCallDelta("c", "{}"),
        StreamEvent.toolCallEnd("c", "f", {}),
        StreamEvent.usage(3, 4),
        StreamEvent.finish("tool_calls", "tool_use")
      ]
      const provider = Provider.make({ name: "p", stream: () => Stream.fromIterable(events) })
      const generation = yield* Provider.generate(provider, ChatRequest.user("m", "hi"))
      expect(generation).toEqual({
        text: "Hello",
        reasoning: "think",
        toolCalls: [{ id: "c", name: "f", arguments: {} }],
        usage: { inputTokens: 3, outputTokens: 4 },
        finish: StreamEvent.finish("tool_calls", "tool_use")
      })
      const cut = Provider.make({ name: "p", stream: () => Stream.fromIterable(events.slice(0, 3)) })
      const error = yield* Effect.flip(cut.generate(ChatRequest.user("m", "hi")))
      expect(error._tag).toBe("Disconnected")
    }))
})

describe("Provider.withModel", () => {
  it.effect("pins the model of every request, data-first and pipeable", () =>
    Effect.gen(function*() {
      const seen: Array<string> = []
      const provider = Provider.make({
        name: "p",
        stream: (request) => {
          seen.push(request.model)
          return Stream.make(StreamEvent.finish("stop", "stop"))
        }
      })
      yield* Provider.withModel(provider, "pinned-a").generate(ChatRequest.user("asked", "hi"))
      yield* Stream.runDrain(Provider.withModel("pinned-b")(provider).stream(ChatRequest.user("asked", "hi")))
      expect(seen).toEqual(["pinned-a", "pinned-b"])
    }))
})
