/**
 * The agent loop over a scripted provider built from core's `acquire` (so
 * every step's stream is in the ledger): steps, tool results in call order,
 * failures, stop conditions, and cancellation at every point. The same turn
 * over the real SDKs of every wire format is test/agent/AgentTurn.wire.test.ts.
 */
import {
  acquire,
  AgentEvent,
  AgentTurn,
  type ChatRequest,
  Ledger,
  Provider,
  StreamEvent,
  Tool,
  ToolError,
  Toolkit,
  ToolMetrics
} from "@streamvisor/core"
import { Context, Deferred, Effect, Exit, Fiber, Layer, Metric, Schema, Stream } from "effect"
import { describe, expect, it } from "vitest"

type Step = ReadonlyArray<StreamEvent.StreamEvent> | "hang"

/** A provider that plays one scripted step per request, and records the requests. */
const scripted = (steps: ReadonlyArray<Step>) => {
  const requests: Array<ChatRequest.ChatRequest> = []
  let aborted = 0
  const provider = Provider.make({
    name: "scripted",
    stream: (request) => {
      const step = steps[requests.length] ?? [StreamEvent.textDelta("(no more steps)"), StreamEvent.finish("stop", null)]
      requests.push(request)
      return acquire<StreamEvent.StreamEvent>({
        provider: "scripted",
        model: request.model,
        open: (signal) => ({
          async *[Symbol.asyncIterator]() {
            if (step === "hang") {
              yield StreamEvent.textDelta("thinking…")
              await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }))
              aborted++
              return
            }
            yield* step
          }
        })
      })
    }
  })
  return { provider, requests, aborted: () => aborted }
}

const call = (id: string, name: string, args: unknown): StreamEvent.StreamEvent =>
  StreamEvent.toolCallEnd(id, name, args)
const toolStep = (...calls: Array<StreamEvent.StreamEvent>): Step => [
  StreamEvent.textDelta("let me check"),
  ...calls,
  StreamEvent.usage(10, 5),
  StreamEvent.finish("tool_calls", "tool_use")
]
const answer = (text: string): Step => [StreamEvent.textDelta(text), StreamEvent.usage(20, 3), StreamEvent.finish("stop", "end_turn")]

const request = { model: "m", messages: [{ role: "user" as const, content: "go" }] }

class Prices extends Context.Tag("Prices")<Prices, { readonly of: (sku: string) => number }>() {}

const Add = Tool.make("add", {
  description: "Add two numbers",
  parameters: { a: Schema.Number, b: Schema.Number },
  success: Schema.Number
})
const Price = Tool.make("price", {
  parameters: { sku: Schema.String },
  success: Schema.Struct({ sku: Schema.String, cents: Schema.Number }),
  failure: Schema.Struct({ reason: Schema.String })
})
const tools = Toolkit.make(Add, Price)

const run = <A, E>(
  effect: Effect.Effect<A, E, Toolkit.Handlers<typeof tools>>,
  handlers: Layer.Layer<Toolkit.Handlers<typeof tools>> = ToolsLive,
  ledger = Ledger.make()
) => Effect.runPromiseExit(effect.pipe(Effect.provide(handlers), Effect.provideService(Ledger.Ledger, ledger)))

const ToolsLive = Toolkit.toLayer(tools, {
  add: ({ a, b }) => Effect.succeed(a + b),
  price: ({ sku }) =>
    Effect.flatMap(Prices, (prices) =>
      sku === "none" ? Effect.fail({ reason: `no such sku: ${sku}` }) : Effect.succeed({ sku, cents: prices.of(sku) }))
}).pipe(Layer.provide(Layer.succeed(Prices, { of: (sku) => sku.length * 100 })))

const collect = (
  provider: Provider.Provider,
  options?: AgentTurn.Options,
  handlers?: Layer.Layer<Toolkit.Handlers<typeof tools>>,
  ledger = Ledger.make()
) => run(Stream.runCollect(AgentTurn.stream(provider, request, tools, options)).pipe(Effect.map((c) => [...c])), handlers, ledger)

const tags = (events: ReadonlyArray<AgentEvent.AgentEvent>) => events.map((e) => e._tag)

describe("AgentTurn", () => {
  it("a 3-step turn: tools run between steps, results go back in order, TurnEnd carries the appended messages", async () => {
    const { provider, requests } = scripted([
      toolStep(call("c1", "add", { a: 2, b: 40 })),
      toolStep(call("c2", "price", { sku: "abc" })),
      answer("42 and 300")
    ])
    const exit = await collect(provider)
    expect(Exit.isSuccess(exit)).toBe(true)
    const events = Exit.isSuccess(exit) ? exit.value : []
    expect(tags(events).filter((t) => t !== "TextDelta" && t !== "ToolCallEnd" && t !== "Usage")).toEqual([
      "StepStart", "Finish", "ToolResult", "StepFinish",
      "StepStart", "Finish", "ToolResult", "StepFinish",
      "StepStart", "Finish", "StepFinish", "TurnEnd"
    ])
    const results = events.filter(AgentEvent.isToolResult)
    expect(results.map((r) => [r.step, r.name, r.outcome, r.result])).toEqual([
      [1, "add", "success", 42],
      [2, "price", "success", { sku: "abc", cents: 300 }]
    ])
    const end = events.at(-1) as AgentEvent.TurnEnd
    expect(end.reason).toBe("finished")
    expect(end.steps).toBe(3)
    expect(end.text).toBe("42 and 300")
    expect(end.usage).toEqual({ inputTokens: 40, outputTokens: 13 })
    expect(end.messages.map((m) => m.role)).toEqual(["assistant", "tool", "assistant", "tool", "assistant"])
    expect(end.messages[1]).toEqual({ role: "tool", toolCallId: "c1", name: "add", content: "42" })
    // Each step's request carried everything before it, and the tools.
    expect(requests.map((r) => r.messages.length)).toEqual([1, 3, 5])
    expect(requests[2]!.messages.slice(1)).toEqual(end.messages.slice(0, 4))
    expect(requests[0]!.tools?.map((t) => t.name)).toEqual(["add", "price"])
    expect(requests[0]!.tools?.[0]?.parameters).toMatchObject({ type: "object", required: ["a", "b"] })
  })

  it("releases each step's stream before the handlers start", async () => {
    const ledger = Ledger.make()
    const liveAtStart: Array<number> = []
    const handlers = Toolkit.toLayer(tools, {
      add: ({ a, b }) => Effect.sync(() => liveAtStart.push(ledger.snapshot().live.length)).pipe(Effect.as(a + b)),
      price: ({ sku }) => Effect.sync(() => liveAtStart.push(ledger.snapshot().live.length)).pipe(Effect.as({ sku, cents: 1 }))
    })
    const { provider } = scripted([
      toolStep(call("c1", "add", { a: 1, b: 1 }), call("c2", "price", { sku: "x" })),
      answer("ok")
    ])
    const exit = await collect(provider, {}, handlers, ledger)
    expect(Exit.isSuccess(exit)).toBe(true)
    expect(liveAtStart).toEqual([0, 0])
    expect(ledger.snapshot()).toMatchObject({ opened: 2, released: 2, live: [] })
  })

  it("parallel calls run concurrently, bounded, and their results keep the order of the calls", async () => {
    let running = 0
    let most = 0
    const gate = Effect.runSync(Deferred.make<void>())
    const handlers = Toolkit.toLayer(tools, {
      add: ({ a, b }) =>
        Effect.gen(function*() {
          running++
          most = Math.max(most, running)
          if (running === 2) yield* Deferred.succeed(gate, undefined)
          yield* Deferred.await(gate)
          // The first call ends last.
          if (a === 1) yield* Effect.sleep(20)
          running--
          return a + b
        }),
      price: ({ sku }) => Effect.succeed({ sku, cents: 0 })
    })
    const { provider, requests } = scripted([
      toolStep(call("c1", "add", { a: 1, b: 0 }), call("c2", "add", { a: 2, b: 0 }), call("c3", "add", { a: 3, b: 0 })),
      answer("done")
    ])
    const exit = await collect(provider, { concurrency: 2 }, handlers)
    expect(Exit.isSuccess(exit)).toBe(true)
    expect(most).toBe(2)
    const events = Exit.isSuccess(exit) ? exit.value : []
    // Events in completion order; messages in call order.
    expect(events.filter(AgentEvent.isToolResult).map((r) => r.id).at(-1)).toBe("c1")
    expect(requests[1]!.messages.slice(2).map((m) => (m as ChatRequest.ToolResultMessage).toolCallId)).toEqual([
      "c1", "c2", "c3"
    ])
  })

  it("a typed failure and arguments that do not decode are error results the model sees, counted", async () => {
    const counter = (tool: string, outcome: string) =>
      Effect.runSync(Metric.value(ToolMetrics.toolCalls.pipe(Metric.tagged("tool", tool), Metric.tagged("outcome", outcome)))).count
    const before = [counter("price", "failure"), counter("add", "invalid_arguments"), counter("nope", "unknown_tool")]
    const { provider, requests } = scripted([
      toolStep(call("c1", "price", { sku: "none" }), call("c2", "add", { a: "two" }), call("c3", "nope", {})),
      answer("sorry")
    ])
    const exit = await collect(provider)
    expect(Exit.isSuccess(exit)).toBe(true)
    const results = (Exit.isSuccess(exit) ? exit.value : []).filter(AgentEvent.isToolResult)
    expect(results.map((r) => r.outcome).sort()).toEqual(["failure", "invalid_arguments", "unknown_tool"])
    const sent = requests[1]!.messages.slice(2) as Array<ChatRequest.ToolResultMessage>
    expect(sent.every((m) => m.isError === true)).toBe(true)
    expect(sent[0]!.content).toBe(JSON.stringify({ reason: "no such sku: none" }))
    expect(sent[1]!.content).toContain(`Invalid arguments for tool "add"`)
    expect(sent[1]!.content).toContain("b")
    expect(sent[2]!.content).toContain(`Unknown tool "nope"`)
    expect([counter("price", "failure"), counter("add", "invalid_arguments"), counter("nope", "unknown_tool")]).toEqual(
      before.map((n) => n + 1)
    )
  })

  it("failureMode \"error\" fails the turn with ToolError { reason: \"failure\" }", async () => {
    const Strict = Tool.make("strict", { failure: Schema.String, failureMode: "error" })
    const strict = Toolkit.make(Strict)
    const { provider } = scripted([toolStep(call("c1", "strict", {})), answer("never")])
    const exit = await Effect.runPromiseExit(
      Stream.runDrain(AgentTurn.stream(provider, request, strict)).pipe(
        Effect.provide(Toolkit.toLayer(strict, { strict: () => Effect.fail("nope") }))
      )
    )
    expect(exit).toMatchObject({ _tag: "Failure", cause: { _tag: "Fail", error: { _tag: "ToolError", reason: "failure", failure: "nope" } } })
  })

  it("a defect in a handler fails the turn with ToolError { reason: \"defect\" }; nothing stays live", async () => {
    const ledger = Ledger.make()
    const handlers = Toolkit.toLayer(tools, { add: () => Effect.die(new Error("boom")), price: () => Effect.never })
    const { provider } = scripted([toolStep(call("c1", "add", { a: 1, b: 2 })), answer("never")])
    const exit = await collect(provider, {}, handlers, ledger)
    expect(Exit.isFailure(exit)).toBe(true)
    const error = Exit.isFailure(exit) ? exit.cause : undefined
    expect(error).toMatchObject({ _tag: "Fail", error: { _tag: "ToolError", tool: "add", callId: "c1", reason: "defect" } })
    expect(ToolError.isToolError((error as { error: unknown }).error)).toBe(true)
    expect(ledger.snapshot()).toMatchObject({ opened: 1, released: 1, live: [] })
  })

  it("a handler past toolTimeout is interrupted (its finalizer runs) and the turn fails with ToolTimeout", async () => {
    let finalized = 0
    const handlers = Toolkit.toLayer(tools, {
      add: () => Effect.never.pipe(Effect.ensuring(Effect.sync(() => finalized++))),
      price: () => Effect.never
    })
    const { provider } = scripted([toolStep(call("c1", "add", { a: 1, b: 2 })), answer("never")])
    const exit = await collect(provider, { toolTimeout: 30 }, handlers)
    expect(exit).toMatchObject({ _tag: "Failure", cause: { _tag: "Fail", error: { _tag: "ToolTimeout", tool: "add", timeoutMs: 30 } } })
    expect(finalized).toBe(1)
  })

  it("maxSteps: the last step's tools still run, every call is answered", async () => {
    const { provider, requests } = scripted([toolStep(call("c1", "add", { a: 1, b: 1 })), toolStep(call("c2", "add", { a: 2, b: 2 }))])
    const exit = await collect(provider, { maxSteps: 2 })
    const end = (Exit.isSuccess(exit) ? exit.value : []).at(-1) as AgentEvent.TurnEnd
    expect(end).toMatchObject({ _tag: "TurnEnd", reason: "max_steps", steps: 2 })
    expect(end.messages.map((m) => m.role)).toEqual(["assistant", "tool", "assistant", "tool"])
    expect(requests).toHaveLength(2)
  })

  it("stopWhen: hasToolCall ends the turn after that tool's step", async () => {
    const { provider, requests } = scripted([
      toolStep(call("c1", "add", { a: 1, b: 1 })),
      toolStep(call("c2", "price", { sku: "a" })),
      answer("never")
    ])
    const exit = await collect(provider, { stopWhen: [AgentTurn.hasToolCall("price")] })
    const end = (Exit.isSuccess(exit) ? exit.value : []).at(-1) as AgentEvent.TurnEnd
    expect(end).toMatchObject({ reason: "stop_condition", steps: 2 })
    expect(requests).toHaveLength(2)
  })

  it("AgentTurn.run returns the TurnEnd; bad maxSteps is InvalidRequest", async () => {
    const { provider } = scripted([toolStep(call("c1", "add", { a: 1, b: 1 })), answer("two")])
    const exit = await run(AgentTurn.run(provider, request, tools))
    expect(exit).toMatchObject({ _tag: "Success", value: { _tag: "TurnEnd", text: "two", steps: 2 } })
    const bad = await run(AgentTurn.run(provider, request, tools, { maxSteps: 0 }))
    expect(bad).toMatchObject({ _tag: "Failure", cause: { error: { _tag: "InvalidRequest" } } })
  })

  describe("cancellation", () => {
    it("during a step's stream: the stream is released, no handler ran", async () => {
      const ledger = Ledger.make()
      const { provider, aborted } = scripted(["hang"])
      const exit = await run(
        Effect.gen(function*() {
          const fiber = yield* Effect.fork(Stream.runDrain(AgentTurn.stream(provider, request, tools)))
          yield* Effect.promise(() => until(() => ledger.snapshot().live.length === 1))
          yield* Fiber.interrupt(fiber)
        }),
        ToolsLive,
        ledger
      )
      expect(Exit.isSuccess(exit)).toBe(true)
      expect(ledger.snapshot()).toMatchObject({ opened: 1, released: 1, live: [] })
      expect(aborted()).toBe(1)
    })

    it("during a tool: the running handlers are interrupted and their finalizers ran", async () => {
      const ledger = Ledger.make()
      let finalized = 0
      const started = Effect.runSync(Deferred.make<void>())
      const handlers = Toolkit.toLayer(tools, {
        add: () =>
          Effect.acquireRelease(Deferred.succeed(started, undefined), () => Effect.sync(() => finalized++)).pipe(
            Effect.zipRight(Effect.never),
            Effect.scoped
          ),
        price: () => Effect.never.pipe(Effect.ensuring(Effect.sync(() => finalized++)))
      })
      const { provider, requests } = scripted([toolStep(call("c1", "add", { a: 1, b: 1 }), call("c2", "price", { sku: "a" }))])
      const exit = await run(
        Effect.gen(function*() {
          const fiber = yield* Effect.fork(Stream.runDrain(AgentTurn.stream(provider, request, tools)))
          yield* Deferred.await(started)
          yield* Fiber.interrupt(fiber)
        }),
        handlers,
        ledger
      )
      expect(Exit.isSuccess(exit)).toBe(true)
      expect(finalized).toBe(2)
      expect(requests).toHaveLength(1)
      expect(ledger.snapshot()).toMatchObject({ opened: 1, released: 1, live: [] })
    })

    it("between steps: taking events up to a StepFinish ends the turn with nothing open", async () => {
      const ledger = Ledger.make()
      const { provider, requests } = scripted([toolStep(call("c1", "add", { a: 1, b: 1 })), answer("never")])
      const exit = await run(
        Stream.runCollect(
          AgentTurn.stream(provider, request, tools).pipe(Stream.takeUntil((e) => e._tag === "StepFinish"))
        ),
        ToolsLive,
        ledger
      )
      expect(Exit.isSuccess(exit)).toBe(true)
      expect(requests).toHaveLength(1)
      expect(ledger.snapshot()).toMatchObject({ opened: 1, released: 1, live: [] })
    })
  })
})

const until = async (predicate: () => boolean, timeoutMs = 2_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error("condition not met in time")
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}
