/**
 * A chat session with history, under a supervisor.
 *
 *   npx tsx examples/chat-session.ts
 *   ANTHROPIC_API_KEY=sk-ant-… npx tsx examples/chat-session.ts --live   # the real API
 *
 * A session is an actor holding one conversation: `send(text)` queues a turn
 * and streams its answer; the whole history goes with every request; and a
 * turn is committed to history only when it finishes. A failed turn, or one
 * whose consumer stops reading, leaves the history as it was.
 */
import { timeouts } from "@streamvisor/core"
import { Supervisor } from "@streamvisor/supervisor"
import { Script } from "@streamvisor/testkit"
import { Console, Effect, Stream } from "effect"
import { Backend, runMain } from "./support/Backend.js"
import { printEvents } from "./support/Print.js"

const program = Effect.gen(function*() {
  const backend = yield* Backend
  const live = backend.isLive("anthropic")

  // The supervisor lives as long as this scope (`runMain` gives the program one).
  const supervisor = yield* Supervisor.make({ maxConcurrentStreams: 4, shutdownTimeout: "2 seconds" })

  // One session: a provider, a model, a system prompt, and the policies every
  // turn's stream goes through.
  const chat = yield* supervisor.spawn({
    id: "alice",
    provider: backend.provider("anthropic"),
    model: backend.model("anthropic"),
    system: "You are brief.",
    policies: (events) => events.pipe(timeouts({ firstToken: "20 seconds", idle: "10 seconds" }))
  })

  // Three turns. The fake server's answer counts the messages it was sent:
  // 1, 3, 5 — the history goes with every turn.
  for (const text of ["Hi, I am Alice.", "What is my name?", "Thanks!"]) {
    yield* Console.log(`\n> ${text}`)
    yield* chat.send(text).pipe(printEvents)
  }

  if (!live) {
    // A turn that fails (the server answers 500) is not committed.
    backend.server.enqueue(Script.status(500))
    yield* Console.log("\n> This one fails.")
    yield* chat.send("This one fails.").pipe(
      printEvents,
      Effect.catchAll((error) => Console.log(`turn failed: ${error._tag}`))
    )

    // Neither is a turn whose consumer stops reading after 3 events.
    backend.server.enqueue(Script.text(100, { delayMs: 10 }))
    yield* Console.log("\n> Tell me a long story.")
    yield* chat.send("Tell me a long story.").pipe(Stream.take(3), Stream.runDrain)
    yield* Console.log("(stopped reading after 3 events: the turn is cancelled)")
  }

  // The committed history: three user messages and three answers.
  const history = yield* chat.history
  yield* Console.log(`\nhistory (${history.length} messages):`)
  for (const message of history) {
    yield* Console.log(`  ${message.role}: ${message.content.slice(0, 70)}`)
  }
})

runMain(program)
