/**
 * Sessions with tools, on the real Ollama adapter over FakeLlmServer: a turn
 * is the whole agent loop, committed at its end (user, every assistant step,
 * every tool result, in order) or not at all; cancelling during a tool
 * interrupts its handler; a turn waiting on its tools holds no stream permit.
 * `sendAgent` streams the turn's whole agent events (a session without tools:
 * one step) with `send`'s cancellation. After each case the server has no
 * response in flight and the ledger no live stream (`withSupervisor` checks the ledger, `scenario` the server).
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import type { Ledger } from "@streamvisor/core"
import { AgentEvent, Tool, Toolkit } from "@streamvisor/core"
import { FakeLlmServer, Script } from "@streamvisor/testkit"
import { Chunk, Deferred, Effect, Exit, Fiber, Layer, Option, Schema, Stream } from "effect"
import { Session, SessionStore, type Supervisor } from "../src/index.js"
import { infoOf, outcome, waitLive, withSupervisor } from "./support/Harness.js"
import * as Ollama from "./support/Ollama.js"

let server: FakeLlmServer.Server
let pool: Ollama.Pool

beforeAll(async () => {
  server = await FakeLlmServer.start()
})
afterAll(async () => {
  await server.close()
})

type Body = { readonly model: string; readonly messages: ReadonlyArray<{ readonly role: string; readonly content: string }> }

/**
 * Model `agent-<tool>`: step 1 calls `<tool>`, the next step (after a tool
 * result) answers; `agent-fail`: step 1 calls `lookup`, step 2 fails with
 * HTTP 400; `chain`: steps 1 and 2 call `lookup` (alpha, then beta), step 3
 * answers. Any other model answers "re: <text>".
 */
const script: Script.ScriptFn = (request) => {
  const body = request.body as Body
  const last = body.messages[body.messages.length - 1]
  if (body.model === "chain") {
    // three steps: look alpha up, then beta, then answer with both
    const results = body.messages.filter((m) => m.role === "tool").map((m) => m.content)
    if (last.role === "tool" && results.length >= 2) return Script.text(["Both: ", results.join(" and ")])
    const key = results.length === 0 ? "alpha" : "beta"
    return Script.make([Script.textEvent(`Looking ${key} up. `), Script.toolCallEvent({ id: `call_${key}`, name: "lookup", arguments: { key } })])
  }
  if (body.model.startsWith("agent-")) {
    const tool = body.model === "agent-fail" ? "lookup" : body.model.slice("agent-".length)
    if (last.role === "user") {
      return Script.make([Script.textEvent("Let me check. "), Script.toolCallEvent({ id: "call_1", name: tool, arguments: { key: "alpha" } })])
    }
    if (body.model === "agent-fail") return Script.status(400)
    return Script.text(["The answer ", "is ", last.content])
  }
  return Script.text(["re: ", last.content])
}

const Lookup = Tool.make("lookup", {
  description: "Look a key up",
  parameters: { key: Schema.String },
  success: Schema.String
})
const Slow = Tool.make("slow", {
  description: "Waits for the test to let it finish",
  parameters: { key: Schema.String },
  success: Schema.String
})
const tools = Toolkit.make(Lookup, Slow)

interface Probe {
  readonly started: Deferred.Deferred<void>
  readonly gate: Deferred.Deferred<void>
  finalized: number
}

const makeProbe = Effect.map(Effect.all([Deferred.make<void>(), Deferred.make<void>()]), ([started, gate]): Probe => ({
  started,
  gate,
  finalized: 0
}))

const handlers = (probe: Probe) =>
  Toolkit.toLayer(tools, {
    lookup: ({ key }) => Effect.succeed(`RESULT-${key}`),
    slow: ({ key }) =>
      Effect.acquireRelease(Deferred.succeed(probe.started, undefined), () => Effect.sync(() => probe.finalized++)).pipe(
        Effect.zipRight(Deferred.await(probe.gate)),
        Effect.as(`SLOW-${key}`),
        Effect.scoped
      )
  }) as Layer.Layer<Toolkit.Handlers<typeof tools>>

/** A scenario on a fresh server state and pool; afterwards nothing in flight, no socket. */
const scenario = <A, E>(
  options: Supervisor.Options,
  body: (supervisor: Supervisor.Supervisor, ledger: Ledger.Service) => Effect.Effect<A, E, any>
) =>
  Effect.gen(function*() {
    server.reset()
    server.setScript(script)
    pool = Ollama.pool(server)
    const result = yield* withSupervisor(options, body).pipe(Effect.onExit(() => Effect.promise(() => pool.agent.close())))
    yield* Effect.promise(() => server.waitFor((s) => s.inflight === 0, { timeoutMs: 1_000 }))
    expect(server.stats().inflight).toBe(0)
    yield* Effect.promise(() => server.waitFor((s) => s.open === 0, { timeoutMs: 1_000 }))
    return result
  })

const texts = (events: Chunk.Chunk<{ readonly _tag: string; readonly text?: string }>) =>
  Chunk.toReadonlyArray(events).flatMap((e) => (e._tag === "TextDelta" ? [e.text!] : []))

describe("agent sessions", () => {
  it.live("a 2-step tool turn commits user, assistant (tool call), tool result, assistant (answer), in order", () =>
    Effect.gen(function*() {
      const probe = yield* makeProbe
      const { value } = yield* scenario({}, (supervisor) =>
        Effect.gen(function*() {
          const ref = yield* supervisor.spawn({ id: "a", provider: pool.provider(), model: "agent-lookup", tools, maxSteps: 4 })
            .pipe(Effect.provide(handlers(probe)))
          const events = yield* Stream.runCollect(ref.send("what is alpha?"))
          // every step's provider events, each step ending with its Finish
          expect(texts(events).join("")).toBe("Let me check. The answer is RESULT-alpha")
          expect(Chunk.toReadonlyArray(events).filter((e) => e._tag === "Finish").map((e) => e._tag === "Finish" && e.reason))
            .toEqual(["tool_calls", "stop"])
          const history = yield* ref.history
          expect(history.map((m) => m.role)).toEqual(["user", "assistant", "tool", "assistant"])
          expect(history[0]).toEqual({ role: "user", content: "what is alpha?" })
          // the assistant step keeps its parts in order: its text, then its tool call
          expect(history[1]).toMatchObject({
            role: "assistant",
            content: [{ type: "text", text: "Let me check. " }, { type: "tool-call", name: "lookup" }]
          })
          // the tool result answers that call (Ollama numbers its calls itself)
          const call = (history[1].content as ReadonlyArray<{ readonly type: string; readonly id?: string }>)[1]
          expect(history[2]).toMatchObject({ role: "tool", toolCallId: call.id, name: "lookup" })
          expect(history[3]).toMatchObject({ role: "assistant", content: "The answer is RESULT-alpha" })
          // the next turn (two steps again) sends the whole committed turn back
          yield* Stream.runDrain(ref.send("thanks"))
          expect(server.requests.length).toBe(4)
          expect((server.requests[2].body as Body).messages.map((m) => m.role))
            .toEqual(["user", "assistant", "tool", "assistant", "user"])
          return yield* infoOf(supervisor, "a")
        }))
      expect(value).toMatchObject({ turns: 2, status: "idle", step: null, runningTools: 0, liveStreams: 0 })
    }))

  it.live("a provider failing at step 2 fails the turn and commits nothing", () =>
    Effect.gen(function*() {
      const probe = yield* makeProbe
      yield* scenario({}, (supervisor) =>
        Effect.gen(function*() {
          const ref = yield* supervisor.spawn({ id: "f", provider: pool.provider(), model: "agent-fail", tools })
            .pipe(Effect.provide(handlers(probe)))
          const exit = yield* Effect.exit(Stream.runDrain(ref.send("what is alpha?")))
          expect(Exit.isFailure(exit)).toBe(true)
          expect(outcome(exit)).not.toMatch(/^(success|interrupted|die)$/)
          expect(server.requests.length).toBe(2)
          expect(yield* ref.history).toEqual([])
          const info = yield* infoOf(supervisor, "f")
          expect(info).toMatchObject({ turns: 0, step: null, runningTools: 0, liveStreams: 0, status: "idle" })
        }))
    }))

  it.live("cancelling during a tool interrupts its handler (finalizer ran) and commits nothing", () =>
    Effect.gen(function*() {
      const probe = yield* makeProbe
      yield* scenario({}, (supervisor) =>
        Effect.gen(function*() {
          const ref = yield* supervisor.spawn({ id: "c", provider: pool.provider(), model: "agent-slow", tools })
            .pipe(Effect.provide(handlers(probe)))
          const fiber = yield* Effect.fork(Stream.runDrain(ref.send("go slow")))
          yield* Deferred.await(probe.started)
          yield* waitLive(Effect.map(infoOf(supervisor, "c"), (i) => i.runningTools === 1 && i.liveStreams === 0), "the tool is running")
          expect(yield* infoOf(supervisor, "c")).toMatchObject({ status: "tools", step: 1, runningTools: 1, liveStreams: 0, currentTurn: 1 })
          yield* Fiber.interrupt(fiber)
          // the caller's finalizer returns once the turn has settled: the handler's finalizer has run
          expect(probe.finalized).toBe(1)
          expect(yield* ref.history).toEqual([])
          expect(yield* infoOf(supervisor, "c")).toMatchObject({ turns: 0, currentTurn: null, step: null, runningTools: 0 })
        }))
    }))

  it.live("a turn waiting on its tools holds no stream permit: another session streams meanwhile", () =>
    Effect.gen(function*() {
      const probe = yield* makeProbe
      yield* scenario({ maxConcurrentStreams: 1 }, (supervisor) =>
        Effect.gen(function*() {
          const agent = yield* supervisor.spawn({ id: "slow", provider: pool.provider(), model: "agent-slow", tools })
            .pipe(Effect.provide(handlers(probe)))
          const plain = yield* supervisor.spawn({ id: "plain", provider: pool.provider(), model: "plain" })
          const first = yield* Effect.fork(Stream.runCollect(agent.send("go slow")))
          yield* Deferred.await(probe.started)
          expect((yield* supervisor.snapshot).liveStreams).toBe(0)
          // with the only permit held by the waiting turn, this would never end
          const answer = yield* Stream.runCollect(plain.send("meanwhile"))
          expect(texts(answer).join("")).toBe("re: meanwhile")
          expect(yield* Fiber.poll(first)).toEqual(Option.none())
          yield* Deferred.succeed(probe.gate, undefined)
          const events = yield* Fiber.join(first)
          expect(texts(events).join("")).toBe("Let me check. The answer is SLOW-alpha")
          expect((yield* agent.history).map((m) => m.role)).toEqual(["user", "assistant", "tool", "assistant"])
          expect(probe.finalized).toBe(1)
        }))
    }))

  it.live("with a store: the whole turn is written at its end; a crash during a tool writes nothing and is never replayed", () =>
    Effect.gen(function*() {
      const probe = yield* makeProbe
      const store = yield* SessionStore.makeMemory
      yield* scenario({ store }, (supervisor) =>
        Effect.gen(function*() {
          const ref = yield* supervisor.spawn({ id: "d", provider: pool.provider(), model: "agent-slow", tools })
            .pipe(Effect.provide(handlers(probe)))
          const fiber = yield* Effect.fork(Stream.runDrain(ref.send("go slow")))
          yield* Deferred.await(probe.started)
          yield* ref.crash()
          expect(outcome(yield* Fiber.await(fiber))).toBe("SessionCrashed")
          expect(probe.finalized).toBe(1)
          yield* waitLive(Effect.map(ref.info, (i) => i.restarts === 1 && i.status === "idle"), "restarted")
          // the restarted session did not replay the turn: no new request, no tool run
          expect(server.requests.length).toBe(1)
          expect(yield* ref.history).toEqual([])
          expect(Option.map(yield* store.load("d"), (st) => st.lastTurn)).toEqual(Option.some(0))

          yield* Deferred.succeed(probe.gate, undefined)
          yield* Stream.runDrain(ref.send("again"))
          const stored = yield* store.load("d")
          const turns = Option.getOrThrow(stored).turns
          expect(turns.map((t) => t.turn)).toEqual([2])
          expect(turns[0].messages.map((m) => (m as { readonly role: string }).role))
            .toEqual(["user", "assistant", "tool", "assistant"])
          expect(yield* ref.history).toEqual(yield* SessionStore.history(Option.getOrThrow(stored)))
        }))
    }))

  it.live("spawn refuses a maxSteps that is not a positive integer, and tools that are no toolkit", () =>
    Effect.gen(function*() {
      const probe = yield* makeProbe
      yield* scenario({}, (supervisor) =>
        Effect.gen(function*() {
          const zero = yield* Effect.exit(
            supervisor.spawn({ provider: pool.provider(), model: "agent-lookup", tools, maxSteps: 0 }).pipe(Effect.provide(handlers(probe)))
          )
          expect(outcome(zero)).toBe("InvalidOptions")
          const notAToolkit = yield* Effect.exit(
            supervisor.spawn({ provider: pool.provider(), model: "m", tools: "lookup" as unknown as typeof tools })
              .pipe(Effect.provide(handlers(probe)))
          )
          expect(outcome(notAToolkit)).toBe("InvalidOptions")
          expect((yield* supervisor.snapshot).sessions).toEqual([])
        }))
    }))

  it.live("tell: subscribers see every step's events, then TurnCommitted", () =>
    Effect.gen(function*() {
      const probe = yield* makeProbe
      yield* scenario({}, (supervisor) =>
        Effect.gen(function*() {
          const ref = yield* supervisor.spawn({ id: "t", provider: pool.provider(), model: "agent-lookup", tools })
            .pipe(Effect.provide(handlers(probe)))
          // subscribed before the tell (a scoped subscription, held until the scenario's scope closes)
          const queue = yield* ref.events
          expect(yield* ref.tell("what is beta?")).toBe(1)
          const seen = Chunk.toReadonlyArray(yield* Stream.runCollect(Stream.takeUntil(
            Stream.fromQueue(queue),
            (event) => event._tag === "TurnCommitted" || event._tag === "TurnFailed"
          )))
          expect(seen[0]).toEqual({ _tag: "TurnStarted", turn: 1, text: "what is beta?" })
          expect(seen.at(-1)).toEqual({ _tag: "TurnCommitted", turn: 1 })
          const finishes = seen.flatMap((e) => e._tag === "TurnEvent" && e.event._tag === "Finish" ? [e.event.reason] : [])
          expect(finishes).toEqual(["tool_calls", "stop"])
          expect((yield* ref.history).map((m) => m.role)).toEqual(["user", "assistant", "tool", "assistant"])
        }))
    }))
})

/** The tags of events, with a step number for StepStart/StepFinish, and provider deltas dropped. */
const frames = (events: Chunk.Chunk<AgentEvent.AgentEvent>) =>
  Chunk.toReadonlyArray(events).flatMap((e) => {
    switch (e._tag) {
      case "StepStart":
        return [`StepStart ${e.step}`]
      case "StepFinish":
        return [`StepFinish ${e.step} ${e.finish} ${e.toolCalls}`]
      case "ToolResult":
        return [`ToolResult ${e.step} ${e.name} ${e.outcome}`]
      case "Finish":
        return [`Finish ${e.reason}`]
      case "TurnEnd":
        return [`TurnEnd ${e.reason} ${e.steps}`]
      default:
        return []
    }
  })

describe("sendAgent", () => {
  it.live("a 3-step turn streams every step's frame, tool results and TurnEnd; the turn is committed; subscribers see provider events only", () =>
    Effect.gen(function*() {
      const probe = yield* makeProbe
      yield* scenario({}, (supervisor) =>
        Effect.gen(function*() {
          const ref = yield* supervisor.spawn({ id: "s3", provider: pool.provider(), model: "chain", tools, maxSteps: 5 })
            .pipe(Effect.provide(handlers(probe)))
          const queue = yield* ref.events
          const events = yield* Stream.runCollect(Session.sendAgent(ref, "alpha and beta?"))
          expect(frames(events)).toEqual([
            "StepStart 1",
            "Finish tool_calls",
            "ToolResult 1 lookup success",
            "StepFinish 1 tool_calls 1",
            "StepStart 2",
            "Finish tool_calls",
            "ToolResult 2 lookup success",
            "StepFinish 2 tool_calls 1",
            "StepStart 3",
            "Finish stop",
            "StepFinish 3 stop 0",
            "TurnEnd finished 3"
          ])
          expect(texts(events).join("")).toBe("Looking alpha up. Looking beta up. Both: RESULT-alpha and RESULT-beta")
          const results = Chunk.toReadonlyArray(events).flatMap((e) => (e._tag === "ToolResult" ? [e] : []))
          expect(results.map((r) => r.result)).toEqual(["RESULT-alpha", "RESULT-beta"])
          for (const r of results) expect(r.durationMs).toBeGreaterThanOrEqual(0)
          const end = Chunk.unsafeLast(events)
          expect(end._tag).toBe("TurnEnd")
          // what TurnEnd says the turn appended is what history holds after the user's message
          const history = yield* ref.history
          expect(history.map((m) => m.role)).toEqual(["user", "assistant", "tool", "assistant", "tool", "assistant"])
          expect(history.slice(1)).toEqual(end._tag === "TurnEnd" ? end.messages : [])
          expect(server.requests.length).toBe(3)
          // subscribers are unchanged: TurnStarted, provider events, TurnCommitted
          const seen = Chunk.toReadonlyArray(yield* Stream.runCollect(Stream.takeUntil(
            Stream.fromQueue(queue),
            (event) => event._tag === "TurnCommitted" || event._tag === "TurnFailed"
          )))
          expect(seen[0]).toEqual({ _tag: "TurnStarted", turn: 1, text: "alpha and beta?" })
          expect(seen.at(-1)).toEqual({ _tag: "TurnCommitted", turn: 1 })
          expect(seen.slice(1, -1).every((e) => e._tag === "TurnEvent")).toBe(true)
          expect(seen.flatMap((e) => e._tag === "TurnEvent" && e.event._tag === "Finish" ? [e.event.reason] : []))
            .toEqual(["tool_calls", "tool_calls", "stop"])
        }))
    }))

  it.live("a session without tools answers in one step; a consumer stopping at TurnEnd finds the turn committed", () =>
    Effect.gen(function*() {
      yield* scenario({}, (supervisor) =>
        Effect.gen(function*() {
          const ref = yield* supervisor.spawn({ id: "p1", provider: pool.provider(), model: "plain" })
          const events = yield* Stream.runCollect(Stream.takeUntil(ref.sendAgent("hello"), AgentEvent.isTurnEnd))
          expect(frames(events)).toEqual(["StepStart 1", "Finish stop", "StepFinish 1 stop 0", "TurnEnd finished 1"])
          const end = Chunk.unsafeLast(events)
          expect(end).toMatchObject({ _tag: "TurnEnd", text: "re: hello", messages: [{ role: "assistant", content: "re: hello" }] })
          expect(yield* ref.history).toEqual([{ role: "user", content: "hello" }, { role: "assistant", content: "re: hello" }])
          // `send` on the same session still streams provider events only
          const plain = yield* Stream.runCollect(ref.send("again"))
          expect(Chunk.toReadonlyArray(plain).some((e) => (e as AgentEvent.AgentEvent)._tag === "StepStart")).toBe(false)
          expect(texts(plain).join("")).toBe("re: again")
          expect((yield* ref.history).length).toBe(4)
        }))
    }))

  it.live("cancelled during a tool: the handler's finalizer ran, history unchanged, nothing in flight, ledger live 0", () =>
    Effect.gen(function*() {
      const probe = yield* makeProbe
      yield* scenario({}, (supervisor, ledger) =>
        Effect.gen(function*() {
          const ref = yield* supervisor.spawn({ id: "sc", provider: pool.provider(), model: "agent-slow", tools })
            .pipe(Effect.provide(handlers(probe)))
          const seen: Array<string> = []
          const fiber = yield* Effect.fork(Stream.runForEach(ref.sendAgent("go slow"), (e) => Effect.sync(() => seen.push(e._tag))))
          yield* Deferred.await(probe.started)
          yield* Fiber.interrupt(fiber)
          // the consumer's finalizer returned once the turn settled: handler interrupted, stream released
          expect(probe.finalized).toBe(1)
          expect(seen).toContain("StepStart")
          expect(seen).not.toContain("StepFinish")
          expect(yield* ref.history).toEqual([])
          expect(yield* infoOf(supervisor, "sc")).toMatchObject({ turns: 0, currentTurn: null, step: null, runningTools: 0, liveStreams: 0 })
          expect(ledger.snapshot().live).toEqual([])
          yield* Effect.promise(() => server.waitFor((s) => s.inflight === 0, { timeoutMs: 1_000 }))
          expect(server.requests.length).toBe(1)
        }))
    }))

  it.live("a tool past toolTimeout fails the stream with ToolTimeout; nothing committed", () =>
    Effect.gen(function*() {
      const probe = yield* makeProbe
      yield* scenario({}, (supervisor) =>
        Effect.gen(function*() {
          const ref = yield* supervisor.spawn({ id: "st", provider: pool.provider(), model: "agent-slow", tools, toolTimeout: "20 millis" })
            .pipe(Effect.provide(handlers(probe)))
          const exit = yield* Effect.exit(Stream.runDrain(ref.sendAgent("go slow")))
          expect(outcome(exit)).toBe("ToolTimeout")
          expect(probe.finalized).toBe(1)
          expect(yield* ref.history).toEqual([])
          expect(yield* infoOf(supervisor, "st")).toMatchObject({ turns: 0, status: "idle", liveStreams: 0 })
        }))
    }))
})
