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
 * its population, answer. The tools are in `support/CityAgent.ts`; the same
 * agent under a supervisor, as a session with history, is `agent-session.ts`.
 */
import { AgentTurn, Ledger } from "@streamvisor/core"
import { Console, Deferred, Effect, Fiber, Stream } from "effect"
import { Backend, runMain, type Wire, wires } from "./support/Backend.js"
import { askForApproval, print, tools, toolsLayer, twiceThePopulation } from "./support/CityAgent.js"

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
    backend.server.enqueue(...twiceThePopulation("Paris", 2_102_650, "Twice the population of Paris is 4,205,300."))
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
  backend.server.enqueue(askForApproval)
  const fiber = yield* AgentTurn.stream(provider, { ...request, messages: [{ role: "user", content: "Delete everything." }] }, tools)
    .pipe(Stream.runForEach(print), Effect.provide(toolsLayer(waiting)), Effect.fork)
  yield* Deferred.await(waiting)
  yield* Fiber.interrupt(fiber)
  yield* Console.log(`\n   turn cancelled; live streams now: ${(yield* Ledger.snapshot).live.length}`)
})

runMain(program)
