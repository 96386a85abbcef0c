import { describe, expect, it } from "@effect/vitest"
import { ChatRequest, Provider, StreamEvent } from "@streamvisor/core"
import { Effect, Stream, Tracer } from "effect"

/** Runs `effect` with a tracer that keeps every span it creates. */
const capturingSpans = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const native = yield* Effect.tracer
    const spans: Array<Tracer.Span> = []
    const tracer = Tracer.make({
      span: (...args) => {
        const span = native.span(...args)
        spans.push(span)
        return span
      },
      context: (f) => f()
    })
    const result = yield* Effect.withTracer(effect, tracer)
    return { result, spans }
  })

describe("tracing", () => {
  it.effect("each stream runs in a client span with the GenAI attributes, usage and finish reason", () =>
    Effect.gen(function*() {
      const provider = Provider.make({
        name: "example",
        stream: () =>
          Stream.make(StreamEvent.textDelta("hi"), StreamEvent.usage(11, 3), StreamEvent.finish("stop", "end_turn"))
      })
      const { spans } = yield* capturingSpans(
        Stream.runDrain(provider.stream(ChatRequest.user("model-x", "hello", { maxTokens: 64, temperature: 0.2 })))
      )
      const span = spans.find((s) => s.name === "chat model-x")
      expect(span).toBeDefined()
      expect(span!.kind).toBe("client")
      expect(Object.fromEntries(span!.attributes)).toMatchObject({
        "gen_ai.system": "example",
        "gen_ai.operation.name": "chat",
        "gen_ai.request.model": "model-x",
        "gen_ai.request.max_tokens": 64,
        "gen_ai.request.temperature": 0.2,
        "gen_ai.usage.input_tokens": 11,
        "gen_ai.usage.output_tokens": 3,
        "gen_ai.response.finish_reasons": ["end_turn"]
      })
      expect(span!.status._tag).toBe("Ended")
    }))

  it.effect("under an exporting tracer, spans the adapter's stream opens are children of the chat span", () =>
    Effect.gen(function*() {
      const provider = Provider.make({
        name: "example",
        stream: () =>
          Stream.fromEffect(Effect.withSpan(Effect.succeed(StreamEvent.finish("stop", "end_turn")), "http.client POST"))
      })
      const { spans } = yield* capturingSpans(Stream.runDrain(provider.stream(ChatRequest.user("model-x", "hello"))))
      const chat = spans.find((s) => s.name === "chat model-x")
      const http = spans.find((s) => s.name === "http.client POST")
      expect(chat).toBeDefined()
      expect(http?.parent._tag === "Some" && http.parent.value).toBe(chat)
    }))

  it("a request that fails validation opens no span and no connection", async () => {
    let opened = 0
    const provider = Provider.make({
      name: "example",
      stream: () => {
        opened++
        return Stream.make(StreamEvent.finish("stop", "end_turn"))
      }
    })
    const { result, spans } = await Effect.runPromise(
      capturingSpans(Effect.either(Stream.runDrain(provider.stream({ model: "", messages: [] }))))
    )
    expect(result).toMatchObject({ _tag: "Left", left: { _tag: "InvalidRequest" } })
    expect(spans.filter((s) => s.name.startsWith("chat"))).toEqual([])
    expect(opened).toBe(0)
  })
})
