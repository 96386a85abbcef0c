/**
 * The small agent of `agent.ts` under a supervisor: a session spawned with
 * `tools` runs every turn as a whole agent turn, and `sendAgent` streams its
 * steps (model output, tool calls, tool results, the turn's end), printed
 * step by step. The turn is committed to the session's history at its end,
 * so the next turn's request carries it. Then a turn is cancelled while a
 * tool runs: the tool's finalizer runs, nothing is committed, and the
 * ledger shows nothing left open.
 *
 *   npx tsx examples/agent-session.ts                                # embedded fake server (Anthropic wire)
 *   npx tsx examples/agent-session.ts --wire openai-chat             # another wire format
 *   ANTHROPIC_API_KEY=... npx tsx examples/agent-session.ts --live   # the real model decides what to call
 *
 * On the fake server the model's steps are scripted (look the city up,
 * multiply its population, answer).
 */
import { Ledger } from "@streamvisor/core"
import { Supervisor } from "@streamvisor/supervisor"
import { Console, Deferred, Effect, Fiber, Stream } from "effect"
import { Backend, runMain, type Wire, wires } from "./support/Backend.js"
import { askForApproval, print, tools, toolsLayer, twiceThePopulation } from "./support/CityAgent.js"

const wireArg = (): Wire => {
  const index = process.argv.indexOf("--wire")
  const wire = index >= 0 ? process.argv[index + 1] : "anthropic"
  if (!wires.includes(wire as Wire)) throw new Error(`--wire must be one of ${wires.join(", ")}`)
  return wire as Wire
}

const ledgerLine = Effect.map(Ledger.snapshot, (l) => `ledger: opened ${l.opened}, released ${l.released}, live ${l.live.length}`)

const program = Effect.gen(function*() {
  const backend = yield* Backend
  const wire = wireArg()
  const live = backend.isLive(wire)

  // The supervisor lives as long as this scope; the session keeps the
  // context it was spawned in, so its turns run the handlers given here.
  const supervisor = yield* Supervisor.make({ maxConcurrentStreams: 4, shutdownTimeout: "2 seconds" })
  const waiting = yield* Deferred.make<void>()
  const agent = yield* supervisor.spawn({
    id: "city-agent",
    provider: backend.provider(wire),
    model: backend.model(wire),
    system: "You answer with the tools you have. Be brief.",
    tools,
    maxSteps: 5,
    toolTimeout: "10 seconds"
  }).pipe(Effect.provide(toolsLayer(waiting)))

  const turns: ReadonlyArray<readonly [string, string, number, string]> = [
    ["What is twice the population of Paris?", "Paris", 2_102_650, "Twice the population of Paris is 4,205,300."],
    ["And of Lyon?", "Lyon", 522_250, "Twice the population of Lyon is 1,044,500."]
  ]
  for (const [index, [question, city, population, answer]] of turns.entries()) {
    if (!live) backend.server.enqueue(...twiceThePopulation(city, population, answer))
    yield* Console.log(`\n${index + 1}. > ${question}${live ? " (live)" : ""}`)
    const first = backend.server.requests.length
    yield* agent.sendAgent(question).pipe(Stream.runForEach(print))
    const history = yield* agent.history
    yield* Console.log(`   committed: history holds ${history.length} messages; ${yield* ledgerLine}`)
    if (!live && index > 0) {
      // whatever the wire format, turn 1's tool results and answer went out again with turn 2
      const sent = JSON.stringify(backend.server.requests[first]?.body ?? "")
      const carried = sent.includes("2102650") && sent.includes("4,205,300")
      yield* Console.log(`   this turn's first request ${carried ? "carried" : "did NOT carry"} turn 1 (its tool results and answer)`)
    }
  }

  // The fake server only: the model asks for an approval that never comes,
  // and the user cancels the turn while the tool runs.
  yield* Console.log(`\n3. cancelled while a tool runs (fake server)`)
  if (live) return yield* Console.log("   (skipped with --live)")
  backend.server.enqueue(askForApproval)
  const before = (yield* agent.history).length
  const fiber = yield* agent.sendAgent("Delete everything.").pipe(Stream.runForEach(print), Effect.fork)
  yield* Deferred.await(waiting)
  const info = yield* agent.info
  yield* Console.log(`   while waiting: step ${info.step}, ${info.runningTools} tool running, ${info.liveStreams} stream open`)
  // interrupting the consumer cancels the turn; it returns once the turn has settled
  yield* Fiber.interrupt(fiber)
  const after = (yield* agent.history).length
  yield* Console.log(`   turn cancelled; history ${after === before ? "unchanged" : "CHANGED"} (${after} messages); ${yield* ledgerLine}`)
})

runMain(program)
