/**
 * Agent turns over the real SDKs of every wire format (Anthropic, OpenAI Chat
 * Completions, OpenAI Responses, Gemini, Ollama) against the FakeLlmServer:
 * a 3-step turn, parallel calls, error results, cancellation during a step's
 * stream, during a tool and between steps, a stop condition and maxSteps.
 * Every test ends with the ledger (live 0, as many released as opened) and the
 * server (no response in flight); the recorded requests show that each step
 * carried the previous steps' tool results in the provider's own form.
 */
import { Anthropic } from "@streamvisor/anthropic"
import { AgentEvent, AgentTurn, Ledger, type Provider, Tool, Toolkit } from "@streamvisor/core"
import { streamAgent } from "@streamvisor/core/promise"
import { Google } from "@streamvisor/google"
import { Ollama } from "@streamvisor/ollama"
import { OpenAI } from "@streamvisor/openai"
import { FakeLlmServer, Script } from "@streamvisor/testkit"
import { Deferred, Effect, Exit, Fiber, Layer, Schema, Stream } from "effect"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"

type Wire = "anthropic" | "openai-chat" | "openai-responses" | "gemini" | "ollama"

let server: FakeLlmServer.Server
const providers = new Map<Wire, Provider.Provider>()

beforeAll(async () => {
  server = await FakeLlmServer.start()
  providers.set("anthropic", Anthropic.make({ apiKey: "k", baseURL: server.baseUrls.anthropic }))
  providers.set("openai-chat", OpenAI.make({ apiKey: "k", baseURL: server.baseUrls.openai }))
  providers.set("openai-responses", OpenAI.make({ apiKey: "k", baseURL: server.baseUrls.openai, api: "responses" }))
  providers.set("gemini", Google.make({ apiKey: "k", baseURL: server.baseUrls.gemini }))
  providers.set("ollama", Ollama.make({ host: server.baseUrls.ollama }))
})
afterAll(async () => {
  await server.close()
})
afterEach(async () => {
  await server.waitForIdle({ timeoutMs: 2_000 })
  server.reset()
})

/** Whether a recorded request body carries a tool result containing `marker`, in the wire's own form. */
const carriesToolResult: Record<Wire, (body: any, marker: string) => boolean> = {
  anthropic: (body, marker) =>
    body.messages.some((m: any) =>
      m.role === "user" && Array.isArray(m.content) &&
      m.content.some((c: any) => c.type === "tool_result" && JSON.stringify(c.content).includes(marker))
    ),
  "openai-chat": (body, marker) => body.messages.some((m: any) => m.role === "tool" && JSON.stringify(m.content).includes(marker)),
  "openai-responses": (body, marker) =>
    body.input.some((i: any) => i.type === "function_call_output" && JSON.stringify(i.output).includes(marker)),
  gemini: (body, marker) =>
    body.contents.some((c: any) => c.parts.some((p: any) => p.functionResponse !== undefined && JSON.stringify(p.functionResponse).includes(marker))),
  ollama: (body, marker) => body.messages.some((m: any) => m.role === "tool" && JSON.stringify(m.content).includes(marker))
}

const Lookup = Tool.make("lookup", {
  description: "Look a key up in the local table",
  parameters: { key: Schema.String },
  success: Schema.String,
  failure: Schema.Struct({ missing: Schema.String })
})
const Calc = Tool.make("calc", {
  description: "Add two numbers",
  parameters: { a: Schema.Number, b: Schema.Number },
  success: Schema.Number
})
const Slow = Tool.make("slow", { description: "Never finishes" })
const tools = Toolkit.make(Lookup, Calc, Slow)

const table: Record<string, string> = { alpha: "RESULT-ALPHA", beta: "RESULT-BETA" }

const makeHandlers = (ledger: Ledger.Service, probe: { liveAtStart: Array<number>; finalized: number; started?: Deferred.Deferred<void> }) =>
  Toolkit.toLayer(tools, {
    lookup: ({ key }) =>
      Effect.suspend(() => {
        probe.liveAtStart.push(ledger.snapshot().live.length)
        const value = table[key]
        return value === undefined ? Effect.fail({ missing: `MISSING-${key}` }) : Effect.succeed(value)
      }),
    calc: ({ a, b }) => Effect.succeed(a + b),
    slow: () =>
      Effect.acquireRelease(
        probe.started === undefined ? Effect.void : Deferred.succeed(probe.started, undefined),
        () => Effect.sync(() => probe.finalized++)
      ).pipe(Effect.zipRight(Effect.never), Effect.scoped)
  })

const call = (name: string, args: unknown, id = `call_${name}_${Math.random().toString(36).slice(2, 8)}`) =>
  Script.toolCallEvent({ id, name, arguments: args })

const harness = (wire: Wire) => {
  const ledger = Ledger.make()
  const probe = { liveAtStart: [] as Array<number>, finalized: 0, started: Effect.runSync(Deferred.make<void>()) }
  const handlers = makeHandlers(ledger, probe)
  const provider = providers.get(wire)!
  const request = { model: `agent-${wire}`, messages: [{ role: "user" as const, content: "use the tools" }] }
  const runTurn = <A, E>(effect: (s: Stream.Stream<AgentEvent.AgentEvent, AgentTurn.AgentError, Toolkit.Handlers<typeof tools>>) => Effect.Effect<A, E, Toolkit.Handlers<typeof tools>>, options?: AgentTurn.Options) =>
    Effect.runPromiseExit(
      effect(AgentTurn.stream(provider, request, tools, options)).pipe(
        Effect.provide(handlers as Layer.Layer<Toolkit.Handlers<typeof tools>>),
        Effect.provideService(Ledger.Ledger, ledger)
      )
    )
  const collect = (options?: AgentTurn.Options) => runTurn((s) => Effect.map(Stream.runCollect(s), (c) => [...c]), options)
  const settled = async () => {
    await server.waitFor((s) => s.inflight === 0)
    await Effect.runPromise(Ledger.awaitNoneLive("2 seconds").pipe(Effect.provideService(Ledger.Ledger, ledger)))
    const snapshot = ledger.snapshot()
    expect(snapshot.live).toEqual([])
    expect(snapshot.released).toBe(snapshot.opened)
    expect(ledger.doubleReleases()).toBe(0)
    return snapshot
  }
  const bodies = () => server.requests.map((r) => r.body)
  return { ledger, probe, provider, request, runTurn, collect, settled, bodies }
}

const wires: ReadonlyArray<Wire> = ["anthropic", "openai-chat", "openai-responses", "gemini", "ollama"]

describe.each(wires)("agent turn over %s", (wire) => {
  it("3 steps: lookup, then calc, then the answer; each request carries the previous results", async () => {
    const h = harness(wire)
    server.enqueue(
      Script.make([Script.textEvent("Looking up. "), call("lookup", { key: "alpha" })]),
      Script.make([call("calc", { a: 2, b: 40 })]),
      Script.text(["The answer ", "is 42."])
    )
    const exit = await h.collect()
    expect(exit._tag).toBe("Success")
    const events = Exit.isSuccess(exit) ? exit.value : []
    const results = events.filter(AgentEvent.isToolResult)
    expect(results.map((r) => [r.step, r.name, r.outcome, r.result])).toEqual([
      [1, "lookup", "success", "RESULT-ALPHA"],
      [2, "calc", "success", 42]
    ])
    const end = events.at(-1) as AgentEvent.TurnEnd
    expect(end).toMatchObject({ _tag: "TurnEnd", reason: "finished", steps: 3, text: "The answer is 42." })
    expect(end.messages.map((m) => m.role)).toEqual(["assistant", "tool", "assistant", "tool", "assistant"])
    expect(events.filter((e) => e._tag === "StepStart").length).toBe(3)
    // The step's stream was released before the handler ran.
    expect(h.probe.liveAtStart).toEqual([0])
    const bodies = h.bodies()
    expect(bodies).toHaveLength(3)
    expect(carriesToolResult[wire](bodies[0], "RESULT-ALPHA")).toBe(false)
    expect(carriesToolResult[wire](bodies[1], "RESULT-ALPHA")).toBe(true)
    expect(carriesToolResult[wire](bodies[2], "RESULT-ALPHA")).toBe(true)
    expect(carriesToolResult[wire](bodies[2], "42")).toBe(true)
    expect(await h.settled()).toMatchObject({ opened: 3, released: 3 })
  })

  it("parallel calls in one step: both run, both results go back", async () => {
    const h = harness(wire)
    server.enqueue(
      Script.make([call("lookup", { key: "alpha" }), call("lookup", { key: "beta" })]),
      Script.text(["both found"])
    )
    const exit = await h.collect()
    const results = (Exit.isSuccess(exit) ? exit.value : []).filter(AgentEvent.isToolResult)
    expect(results.map((r) => r.result).sort()).toEqual(["RESULT-ALPHA", "RESULT-BETA"])
    const second = h.bodies()[1]
    expect(carriesToolResult[wire](second, "RESULT-ALPHA") && carriesToolResult[wire](second, "RESULT-BETA")).toBe(true)
    await h.settled()
  })

  it("a tool that fails and arguments that do not decode go back as error results", async () => {
    const h = harness(wire)
    server.enqueue(
      Script.make([call("lookup", { key: "gamma" }), call("calc", { a: "two", b: 40 })]),
      Script.text(["sorry"])
    )
    const exit = await h.collect()
    const results = (Exit.isSuccess(exit) ? exit.value : []).filter(AgentEvent.isToolResult)
    expect(results.map((r) => r.outcome).sort()).toEqual(["failure", "invalid_arguments"])
    const second = h.bodies()[1]
    expect(carriesToolResult[wire](second, "MISSING-gamma")).toBe(true)
    expect(carriesToolResult[wire](second, "Invalid arguments")).toBe(true)
    await h.settled()
  })

  it("cancel during a step's stream: released, no tool ran, nothing in flight", async () => {
    const h = harness(wire)
    server.enqueue(Script.withFault(Script.text(20, { delayMs: 5 }), { type: "hang", afterEvents: 2 }))
    const exit = await h.runTurn((s) =>
      Effect.gen(function*() {
        const seen = yield* Deferred.make<void>()
        const fiber = yield* Effect.fork(Stream.runForEach(s, (e) => e._tag === "TextDelta" ? Deferred.succeed(seen, undefined) : Effect.void))
        yield* Deferred.await(seen)
        yield* Fiber.interrupt(fiber)
      })
    )
    expect(exit._tag).toBe("Success")
    expect(await h.settled()).toMatchObject({ opened: 1, released: 1 })
    expect(server.stats().closedByClient).toBe(1)
  })

  it("cancel during a tool: the handler is interrupted, its finalizer ran, no next step", async () => {
    const h = harness(wire)
    server.enqueue(Script.make([call("slow", {})]), Script.text(["never"]))
    const exit = await h.runTurn((s) =>
      Effect.gen(function*() {
        const fiber = yield* Effect.fork(Stream.runDrain(s))
        yield* Deferred.await(h.probe.started)
        yield* Fiber.interrupt(fiber)
      })
    )
    expect(exit._tag).toBe("Success")
    expect(h.probe.finalized).toBe(1)
    expect(server.stats().total).toBe(1)
    await h.settled()
  })

  it("cancel between steps: stopping at the first StepFinish sends no second request", async () => {
    const h = harness(wire)
    server.enqueue(Script.make([call("lookup", { key: "alpha" })]), Script.text(["never"]))
    const exit = await h.runTurn((s) => Stream.runCollect(Stream.takeUntil(s, (e) => e._tag === "StepFinish")))
    expect(exit._tag).toBe("Success")
    expect(server.stats().total).toBe(1)
    await h.settled()
  })

  it("a stop condition ends the turn after that tool's step", async () => {
    const h = harness(wire)
    server.enqueue(Script.make([call("calc", { a: 1, b: 1 })]), Script.make([call("lookup", { key: "alpha" })]), Script.text(["never"]))
    const exit = await h.collect({ stopWhen: AgentTurn.hasToolCall("lookup") })
    expect((Exit.isSuccess(exit) ? exit.value : []).at(-1)).toMatchObject({ _tag: "TurnEnd", reason: "stop_condition", steps: 2 })
    expect(server.stats().total).toBe(2)
    await h.settled()
  })

  it("maxSteps ends a turn that keeps calling tools, every call answered", async () => {
    const h = harness(wire)
    server.setScript(Script.make([call("calc", { a: 1, b: 2 })]))
    const exit = await h.collect({ maxSteps: 3 })
    const end = (Exit.isSuccess(exit) ? exit.value : []).at(-1) as AgentEvent.TurnEnd
    expect(end).toMatchObject({ reason: "max_steps", steps: 3 })
    expect(end.messages.filter((m) => m.role === "tool")).toHaveLength(3)
    expect(server.stats().total).toBe(3)
    await h.settled()
  })

  it("the promise facade: execute gets a signal that aborts when the turn is cancelled", async () => {
    const ledger = Ledger.make()
    server.enqueue(Script.make([call("wait", {})]), Script.text(["never"]))
    const controller = new AbortController()
    let aborted = false
    let started!: () => void
    const running = new Promise<void>((resolve) => (started = resolve))
    const turn = streamAgent(providers.get(wire)!, { model: `agent-${wire}`, messages: [{ role: "user", content: "wait" }] }, {
      tools: {
        wait: {
          description: "wait forever",
          execute: (_args, { signal }) =>
            new Promise((_, reject) => {
              started()
              signal.addEventListener("abort", () => {
                aborted = true
                reject(signal.reason)
              })
            })
        }
      },
      signal: controller.signal,
      ledger
    })
    const consumed = (async () => {
      for await (const _ of turn) { /* drain */ }
    })()
    await running
    controller.abort(new Error("user cancelled"))
    await expect(consumed).rejects.toThrow("user cancelled")
    expect(aborted).toBe(true)
    expect(server.stats().total).toBe(1)
    await server.waitFor((s) => s.inflight === 0)
    expect(ledger.snapshot()).toMatchObject({ opened: 1, released: 1, live: [] })
  })
})
