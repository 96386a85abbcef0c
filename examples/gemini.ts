/**
 * Stream from Google Gemini (through `@google/generative-ai`).
 *
 *   npx tsx examples/gemini.ts                               # embedded fake server, no key
 *   GEMINI_API_KEY=… npx tsx examples/gemini.ts --live        # the real API
 *
 * It streams one answer, prints it as it arrives, then stops reading another
 * answer after 5 events. That SDK on its own keeps reading the body after a
 * `break` (for its aggregated `response`); the adapter aborts the request, so
 * here too the connection is released at that moment, which the ledger shows.
 */
import { Ledger } from "@streamvisor/core"
import { Google } from "@streamvisor/google"
import { Console, Effect, Stream } from "effect"
import { Backend, runMain } from "./support/Backend.js"
import { printEvents } from "./support/Print.js"

const program = Effect.gen(function*() {
  const backend = yield* Backend

  // The provider. With a real key: `Google.make({ apiKey })`. Here, unless
  // --live, it points at the embedded fake server (any key will do).
  const gemini = backend.isLive("gemini")
    ? Google.make({ apiKey: process.env.GEMINI_API_KEY! })
    : Google.make({ apiKey: "fake-key", baseURL: backend.server.baseUrls.gemini })
  const model = backend.model("gemini")

  // 1. A whole answer, printed as it streams.
  yield* Console.log(`${gemini.name} / ${model}:`)
  yield* gemini.stream({
    model,
    maxTokens: 200,
    system: "You are brief.",
    messages: [{ role: "user", content: "Say hello in one sentence." }]
  }).pipe(printEvents)

  // 2. Stop reading early. `Stream.take(5)` ends the stream after 5 events;
  //    closing the stream's scope aborts the request and releases the
  //    connection before `runCollect` returns.
  const firstEvents = yield* gemini.stream({
    model,
    maxTokens: 500,
    messages: [{ role: "user", content: "Count from 1 to 100, one number per line." }]
  }).pipe(Stream.take(5), Stream.runCollect)
  const ledger = yield* Ledger.snapshot
  yield* Console.log(`\ntook ${firstEvents.length} events and stopped reading; live streams now: ${ledger.live.length}`)
})

runMain(program)
