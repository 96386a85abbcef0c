/**
 * Stream from OpenAI's Chat Completions API (through the `openai` SDK).
 *
 *   npx tsx examples/openai-chat.ts                            # embedded fake server, no key
 *   OPENAI_API_KEY=sk-… npx tsx examples/openai-chat.ts --live  # the real API
 *
 * It streams one answer, prints it as it arrives, then stops reading another
 * answer after 5 events: the connection is released at that moment, which the
 * ledger shows. (Chat Completions is also what OpenAI-compatible servers speak:
 * give `baseURL`, with its `/v1`.)
 */
import { Ledger } from "@streamvisor/core"
import { OpenAI } from "@streamvisor/openai"
import { Console, Effect, Stream } from "effect"
import { Backend, runMain } from "./support/Backend.js"
import { printEvents } from "./support/Print.js"

const program = Effect.gen(function*() {
  const backend = yield* Backend

  // The provider. With a real key: `OpenAI.make({ apiKey })` (`api: "chat"` is
  // the default). Here, unless --live, it points at the embedded fake server.
  const gpt = backend.isLive("openai-chat")
    ? OpenAI.make({ apiKey: process.env.OPENAI_API_KEY! })
    : OpenAI.make({ apiKey: "fake-key", baseURL: backend.server.baseUrls.openai })
  const model = backend.model("openai-chat")

  // 1. A whole answer, printed as it streams.
  yield* Console.log(`${gpt.name} / ${model}:`)
  yield* gpt.stream({
    model,
    maxTokens: 200,
    system: "You are brief.",
    messages: [{ role: "user", content: "Say hello in one sentence." }]
  }).pipe(printEvents)

  // 2. Stop reading early. `Stream.take(5)` ends the stream after 5 events;
  //    closing the stream's scope aborts the request and releases the
  //    connection before `runCollect` returns.
  const firstEvents = yield* gpt.stream({
    model,
    maxTokens: 500,
    messages: [{ role: "user", content: "Count from 1 to 100, one number per line." }]
  }).pipe(Stream.take(5), Stream.runCollect)
  const ledger = yield* Ledger.snapshot
  yield* Console.log(`\ntook ${firstEvents.length} events and stopped reading; live streams now: ${ledger.live.length}`)
})

runMain(program)
