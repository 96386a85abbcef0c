/**
 * A small agent: two tools (a calculator and a lookup over a local table of
 * cities), one turn of several steps, printed step by step, then the same
 * agent cancelled while a tool runs — the tool's finalizer runs and nothing
 * stays open, as the ledger at the end shows.
 *
 *   npx tsx examples/agent.ts                                # embedded fake server (Anthropic wire)
 *   npx tsx examples/agent.ts --wire gemini                  # another wire format
 *   ANTHROPIC_API_KEY=... npx tsx examples/agent.ts --live   # the real model decides what to call
 *
 * On the fake server the model's steps are scripted: look Paris up, multiply
 * its population, answer.
 */
import { AgentEvent, AgentTurn, Ledger, Tool, Toolkit } from "@streamvisor/core"
import { Script } from "@streamvisor/testkit"
import { Console, Deferred, Effect, Fiber, Schema, Stream } from "effect"
import { Backend, runMain, type Wire, wires } from "./support/Backend.js"

// ---------------------------------------------------------------------------
// The tools: definitions with effect/Schema, handlers as Effects in a Layer.
// ---------------------------------------------------------------------------

const cities: Record<string, { readonly country: string; readonly population: number }> = {
  paris: { country: "France", population: 2_102_650 },
  lyon: { country: "France", population: 522_250 },
  berlin: { country: "Germany", population: 3_596_999 }
}

const Lookup = Tool.make("lookup_city", {
  description: "Look a city up in the local table: its country and population",
  parameters: { city: Schema.String },
  success: Schema.Struct({ city: Schema.String, country: Schema.String, population: Schema.Number }),
  failure: Schema.Struct({ unknownCity: Schema.String })
})

const Calculator = Tool.make("calculator", {
  description: "Apply an arithmetic operation to two numbers",
  parameters: { op: Schema.Literal("add", "subtract", "multiply", "divide"), a: Schema.Number, b: Schema.Number },
  success: Schema.Number
})

const Wait = Tool.make("wait_for_approval", { description: "Wait for a human to approve (never comes here)" })

const tools = Toolkit.make(Lookup, Calculator, Wait)

const toolsLayer = (waiting: Deferred.Deferred<void>) =>
  Toolkit.toLayer(tools, {
    lookup_city: ({ city }) => {
      const found = cities[city.toLowerCase()]
      return found === undefined ? Effect.fail({ unknownCity: city }) : Effect.succeed({ city, ...found })
    },
    calculator: ({ a, b, op }) =>
      Effect.succeed(op === "add" ? a + b : op === "subtract" ? a - b : op === "multiply" ? a * b : a / b),
    wait_for_approval: () =>
      Effect.acquireRelease(
        Effect.zipRight(Deferred.succeed(waiting, undefined), Console.log("\n  [approval] waiting…")),
        () => Console.log("  [approval] finalizer ran: the wait was released")
      ).pipe(Effect.zipRight(Effect.never), Effect.scoped)
  })

// ---------------------------------------------------------------------------
// Printing a turn's events
// ---------------------------------------------------------------------------

const print = (event: AgentEvent.AgentEvent): Effect.Effect<void> =>
  Effect.sync(() => {
    switch (event._tag) {
      case "StepStart":
        process.stdout.write(`step ${event.step}: `)
        break
      case "TextDelta":
        process.stdout.write(event.text)
        break
      case "ToolCallEnd":
        process.stdout.write(`\n  → ${event.name}(${JSON.stringify(event.arguments)})`)
        break
      case "ToolResult":
        process.stdout.write(
          `\n  ← ${event.name}: ${event.outcome} ${JSON.stringify(event.result ?? event.error)} (${event.durationMs.toFixed(1)} ms)`
        )
        break
      case "StepFinish":
        process.stdout.write(`\n  (step ${event.step} finished: ${event.finish}, ${event.toolCalls} tool call(s))\n`)
        break
      case "TurnEnd":
        process.stdout.write(
          `turn ended (${event.reason}) after ${event.steps} steps; ${event.messages.length} messages to commit: ` +
            `${event.messages.map((m) => m.role).join(", ")}\n`
        )
        break
    }
  })

const wireArg = (): Wire => {
  const index = process.argv.indexOf("--wire")
  const wire = index >= 0 ? process.argv[index + 1] : "anthropic"
  if (!wires.includes(wire as Wire)) throw new Error(`--wire must be one of ${wires.join(", ")}`)
  return wire as Wire
}

const program = Effect.gen(function*() {
  const backend = yield* Backend
  const wire = wireArg()
  const provider = backend.provider(wire)
  const live = backend.isLive(wire)
  const request = {
    model: backend.model(wire),
    system: "You answer with the tools you have. Be brief.",
    messages: [{ role: "user" as const, content: "What is twice the population of Paris?" }]
  }
  if (!live) {
    backend.server.enqueue(
      Script.make([Script.textEvent("Let me look Paris up."), Script.toolCallEvent({ name: "lookup_city", arguments: { city: "Paris" } })]),
      Script.make([Script.toolCallEvent({ name: "calculator", arguments: { op: "multiply", a: 2_102_650, b: 2 } })]),
      Script.text(["Twice the population ", "of Paris ", "is 4,205,300."], { delayMs: 5 })
    )
  }

  yield* Console.log(`1. one agent turn over ${wire}${live ? " (live)" : ""}`)
  const waiting = yield* Deferred.make<void>()
  yield* AgentTurn.stream(provider, request, tools, { maxSteps: 5, toolTimeout: "10 seconds" }).pipe(
    Stream.runForEach(print),
    Effect.provide(toolsLayer(waiting))
  )
  yield* Console.log(`   live streams now: ${(yield* Ledger.snapshot).live.length}`)

  // The fake server only: the model asks for an approval that never comes,
  // and the user cancels the turn while the tool runs.
  yield* Console.log(`\n2. cancelled while a tool runs (fake server)`)
  if (live) return yield* Console.log("   (skipped with --live)")
  backend.server.enqueue(Script.make([Script.toolCallEvent({ name: "wait_for_approval", arguments: {} })]))
  const fiber = yield* AgentTurn.stream(provider, { ...request, messages: [{ role: "user", content: "Delete everything." }] }, tools)
    .pipe(Stream.runForEach(print), Effect.provide(toolsLayer(waiting)), Effect.fork)
  yield* Deferred.await(waiting)
  yield* Fiber.interrupt(fiber)
  yield* Console.log(`\n   turn cancelled; live streams now: ${(yield* Ledger.snapshot).live.length}`)
})

runMain(program)
