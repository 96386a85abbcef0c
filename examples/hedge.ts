/**
 * `hedge`: when the first provider is slow to start, ask a second one too and
 * keep whichever produces an event first. The loser is interrupted and its
 * connection released.
 *
 *   npx tsx examples/hedge.ts
 *
 * On the embedded fake server Anthropic first takes 2 s to its first token:
 * after 200 ms OpenAI is asked too, wins, and Anthropic's request is cut.
 * Then Anthropic answers within 50 ms, and OpenAI is never asked.
 */
import { hedge } from "@streamvisor/core"
import { Script } from "@streamvisor/testkit"
import { Console, Duration, Effect } from "effect"
import { Backend, deltas, runMain, withModel } from "./support/Backend.js"
import { printEvents } from "./support/Print.js"

const program = Effect.gen(function*() {
  const { model, provider, server } = yield* Backend

  // Like `fallback`, `hedge` sends the same request to both: pin the models.
  const claude = withModel(provider("anthropic"), model("anthropic"))
  const gpt = withModel(provider("openai-chat"), model("openai-chat"))
  const fast = hedge([claude, gpt], { after: "200 millis" })
  const request = { model: "any", messages: [{ role: "user" as const, content: "Quick!" }] }

  const answer = (who: string, firstDelayMs: number) =>
    Script.text(deltas(`${who} answered.`), { firstDelayMs, delayMs: 5 })

  // 1. Anthropic is slow to start.
  server.scriptFor(model("anthropic"), answer("Anthropic", 2_000))
  server.scriptFor(model("openai-chat"), answer("OpenAI", 0))
  yield* Console.log(`1. ${fast.name}, Anthropic slow to start:`)
  const [took] = yield* Effect.timed(fast.stream(request).pipe(printEvents))
  // (the server notices the loser's closed socket a moment later)
  const stats = yield* Effect.promise(() => server.waitForIdle())
  yield* Console.log(
    `   in ${Math.round(Duration.toMillis(took))} ms; requests sent ${stats.total}, ` +
      `cut by the client ${stats.closedByClient} (the loser)`
  )

  // 2. Anthropic answers quickly: no second request.
  server.reset()
  server.scriptFor(model("anthropic"), answer("Anthropic", 50))
  server.scriptFor(model("openai-chat"), answer("OpenAI", 0))
  yield* Console.log("\n2. Anthropic quick:")
  yield* fast.stream(request).pipe(printEvents)
  yield* Console.log(`   requests sent ${server.stats().total}`)
})

runMain(program, { fakeOnly: true })
