import { describe, expect, it } from "@effect/vitest"
import { ChatRequest, Ledger, Provider, StreamEvent } from "@streamvisor/core"
import { Effect, Stream } from "effect"

const run = (events: ReadonlyArray<StreamEvent.StreamEvent>) =>
  Provider.make({ name: "p", stream: () => Stream.fromIterable(events) }).generate(ChatRequest.user("m", "hi"))

describe("Provider.collect", () => {
  it.effect("keeps reasoning blocks with their opaque data, text and tool calls in order, usage detail and metadata", () =>
    Effect.gen(function*() {
      const citation = StreamEvent.providerMetadata("anthropic", "citations", [{ url: "https://e.com" }])
      const generation = yield* run([
        StreamEvent.reasoningDelta("Let me "),
        StreamEvent.reasoningDelta("think."),
        StreamEvent.reasoningEnd("anthropic", { signature: "sig-1" }),
        StreamEvent.reasoningEnd("anthropic", { redactedData: "opaque" }),
        StreamEvent.textDelta("Calling "),
        StreamEvent.textDelta("f."),
        StreamEvent.toolCallStart("c1", "f"),
        StreamEvent.toolCallEnd("c1", "f", { a: 1 }, "gsig"),
        StreamEvent.reasoningDelta("more"),
        StreamEvent.textDelta(" Done."),
        citation,
        StreamEvent.usage(100, 40, { cachedInputTokens: 80, reasoningTokens: 12 }),
        StreamEvent.finish("tool_calls", "tool_use")
      ])
      expect(generation.text).toBe("Calling f. Done.")
      expect(generation.reasoning).toBe("Let me think.more")
      expect(generation.toolCalls).toEqual([{ id: "c1", name: "f", arguments: { a: 1 }, signature: "gsig" }])
      expect(generation.usage).toEqual({ inputTokens: 100, outputTokens: 40, cachedInputTokens: 80, reasoningTokens: 12 })
      expect(generation.metadata).toEqual([citation])
      expect(generation.parts).toEqual([
        { type: "reasoning", text: "Let me think.", signature: "sig-1", provider: "anthropic" },
        { type: "reasoning", text: "", redactedData: "opaque", provider: "anthropic" },
        { type: "text", text: "Calling f." },
        { type: "tool-call", id: "c1", name: "f", arguments: { a: 1 }, signature: "gsig" },
        { type: "reasoning", text: "more" },
        { type: "text", text: " Done." }
      ])
    }))

  it.effect("OpenAI Responses reasoning items keep their id and encrypted content", () =>
    Effect.gen(function*() {
      const generation = yield* run([
        StreamEvent.reasoningDelta("summary"),
        StreamEvent.reasoningEnd("openai", { id: "rs_1", encryptedContent: "enc" }),
        StreamEvent.toolCallEnd("call_1", "f", {}),
        StreamEvent.finish("tool_calls", "completed")
      ])
      expect(generation.parts).toEqual([
        { type: "reasoning", text: "summary", id: "rs_1", encryptedContent: "enc", provider: "openai" },
        { type: "tool-call", id: "call_1", name: "f", arguments: {} }
      ])
    }))

  it.effect("the old event shapes fold as before", () =>
    Effect.gen(function*() {
      const generation = yield* run([StreamEvent.textDelta("a"), StreamEvent.usage(1, 2), StreamEvent.finish("stop", null)])
      expect(generation.usage).toEqual({ inputTokens: 1, outputTokens: 2 })
      expect(StreamEvent.usage(1, 2)).toEqual({ _tag: "Usage", inputTokens: 1, outputTokens: 2 })
      expect(StreamEvent.toolCallEnd("c", "f", {})).toEqual({ _tag: "ToolCallEnd", id: "c", name: "f", arguments: {} })
    }))
})

describe("Provider.toMessages", () => {
  it.effect("turns a generation into the assistant message that goes back in history, and it decodes as a request", () =>
    Effect.gen(function*() {
      const generation = yield* run([
        StreamEvent.reasoningDelta("hmm"),
        StreamEvent.reasoningEnd("google", { signature: "ts" }),
        StreamEvent.toolCallEnd("c1", "f", { a: 1 }, "fsig"),
        StreamEvent.finish("tool_calls", "STOP")
      ])
      const messages = Provider.toMessages(generation)
      expect(messages).toEqual([{
        role: "assistant",
        content: [
          { type: "reasoning", text: "hmm", signature: "ts", provider: "google" },
          { type: "tool-call", id: "c1", name: "f", arguments: { a: 1 }, signature: "fsig" }
        ]
      }])
      const next = yield* ChatRequest.decode("p", {
        model: "m",
        messages: [
          { role: "user", content: "hi" },
          ...messages,
          { role: "tool", toolCallId: "c1", name: "f", content: "42" }
        ]
      })
      expect(ChatRequest.toolCalls(next.messages[1] as ChatRequest.AssistantMessage)).toEqual([{ id: "c1", name: "f", arguments: { a: 1 } }])
    }))

  it.effect("a text-only answer is a string content; an empty one is no message", () =>
    Effect.gen(function*() {
      expect(Provider.toMessages(yield* run([StreamEvent.textDelta("hi"), StreamEvent.finish("stop", null)]))).toEqual([
        { role: "assistant", content: "hi" }
      ])
      expect(Provider.toMessages(yield* run([StreamEvent.finish("stop", null)]))).toEqual([])
    }))
})

describe("usage detail in the ledger", () => {
  it("is counted like tokens, for live and released streams, and absent until recorded", () => {
    const ledger = Ledger.make()
    const a = ledger.open("p", "m")
    a.recordUsage(10, 1)
    expect(ledger.snapshot().usage).toEqual({ inputTokens: 10, outputTokens: 1 })
    a.recordUsage(100, 20, { cachedInputTokens: 60, reasoningTokens: 5 })
    a.recordUsage(100, 30, { cachedInputTokens: 60, reasoningTokens: 9 })
    const b = ledger.open("p", "m")
    b.recordUsage(50, 5, { cacheWriteTokens: 40 })
    a.release("completed")
    expect(ledger.snapshot().usage).toEqual({
      inputTokens: 150,
      outputTokens: 35,
      cachedInputTokens: 60,
      cacheWriteTokens: 40,
      reasoningTokens: 9
    })
    expect(ledger.snapshot().live[0]!.usage).toEqual({ inputTokens: 50, outputTokens: 5, cacheWriteTokens: 40 })
    b.release("cancelled")
  })
})
