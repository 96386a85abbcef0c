/**
 * `fallback`: try providers in order. When one fails with a retryable error
 * before its first event, the next one gets the request; the failed attempt's
 * connection is released first.
 *
 *   npx tsx examples/fallback.ts
 *
 * On the embedded fake server Anthropic is overloaded (529) and OpenAI has a
 * server error (500), so Gemini answers. Then Anthropic rejects the key (401):
 * that is not retryable, so `fallback` does not hide it.
 */
import { fallback } from "@streamvisor/core"
import { Script } from "@streamvisor/testkit"
import { Console, Effect } from "effect"
import { Backend, runMain, withModel } from "./support/Backend.js"
import { printEvents } from "./support/Print.js"

const program = Effect.gen(function*() {
  const { model, provider, server } = yield* Backend

  // `fallback` sends the same request to each provider, so each one is
  // pinned to its own model.
  const claude = withModel(provider("anthropic"), model("anthropic"))
  const gpt = withModel(provider("openai-chat"), model("openai-chat"))
  const gemini = withModel(provider("gemini"), model("gemini"))

  // A fallback is a `Provider` too: it nests, and goes wherever a provider goes.
  const resilient = fallback([claude, gpt, gemini])
  const request = { model: "any", messages: [{ role: "user" as const, content: "Who answers?" }] }

  // The fake server plays a script per model.
  server.scriptFor(model("anthropic"), Script.status(529))
  server.scriptFor(model("openai-chat"), Script.status(500))

  yield* Console.log(`1. ${resilient.name}, with Anthropic overloaded and OpenAI failing:`)
  yield* resilient.stream(request).pipe(printEvents)
  yield* Console.log(`   the server saw: ${server.requests.map((r) => `${r.format}`).join(" → ")}`)

  // A bad key is not retryable: the error comes straight back.
  server.scriptFor(model("anthropic"), Script.status(401))
  yield* Console.log("\n2. Anthropic rejects the key:")
  yield* resilient.stream(request).pipe(
    printEvents,
    Effect.catchTag("Unauthorized", (error) => Console.log(`   failed with ${error._tag}, no fallback: ${error.message}`))
  )
})

runMain(program, { fakeOnly: true })
