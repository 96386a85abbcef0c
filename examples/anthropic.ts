/**
 * Stream from Anthropic (the Messages API, through `@anthropic-ai/sdk`).
 *
 *   npx tsx examples/anthropic.ts                                  # embedded fake server, no key
 *   ANTHROPIC_API_KEY=sk-ant-… npx tsx examples/anthropic.ts --live # the real API
 *
 * It streams one answer, prints it as it arrives, then stops reading another
 * answer after 5 events: the connection is released at that moment, which the
 * ledger shows.
 */
import { Anthropic } from "@streamvisor/anthropic"
import { Ledger } from "@streamvisor/core"
import { Console, Effect, Stream } from "effect"
import { Backend, runMain } from "./support/Backend.js"
import { printEvents } from "./support/Print.js"

const program = Effect.gen(function*() {
  const backend = yield* Backend

  // The provider. With a real key: `Anthropic.make({ apiKey })`. Here, unless
  // --live, it points at the embedded fake server (any key will do).
  const claude = backend.isLive("anthropic")
    ? Anthropic.make({ apiKey: process.env.ANTHROPIC_API_KEY! })
    : Anthropic.make({ apiKey: "fake-key", baseURL: backend.server.baseUrls.anthropic })
  const model = backend.model("anthropic")

  // 1. A whole answer, printed as it streams.
  yield* Console.log(`${claude.name} / ${model}:`)
  yield* claude.stream({
    model,
    maxTokens: 200,
    system: "You are brief.",
    messages: [{ role: "user", content: "Say hello in one sentence." }]
  }).pipe(printEvents)

  // 2. Stop reading early. `Stream.take(5)` ends the stream after 5 events;
  //    closing the stream's scope aborts the request and releases the
  //    connection before `runCollect` returns.
  const firstEvents = yield* claude.stream({
    model,
    maxTokens: 500,
    messages: [{ role: "user", content: "Count from 1 to 100, one number per line." }]
  }).pipe(Stream.take(5), Stream.runCollect)
  const ledger = yield* Ledger.snapshot
  yield* Console.log(`\ntook ${firstEvents.length} events and stopped reading; live streams now: ${ledger.live.length}`)
})

runMain(program)
