/**
 * Stream from Ollama (`POST /api/chat`, NDJSON, over `@effect/platform`'s
 * HttpClient: no SDK).
 *
 *   npx tsx examples/ollama.ts                                          # embedded fake server
 *   OLLAMA_HOST=http://127.0.0.1:11434 npx tsx examples/ollama.ts --live  # your Ollama
 *
 * With --live the model is `OLLAMA_MODEL` (default llama3.2). It streams one
 * answer, prints it as it arrives, then stops reading another answer after 5
 * events: the connection is released at that moment, which the ledger shows.
 */
import { Ledger } from "@streamvisor/core"
import { Ollama } from "@streamvisor/ollama"
import { Console, Effect, Stream } from "effect"
import { Backend, runMain } from "./support/Backend.js"
import { printEvents } from "./support/Print.js"

const program = Effect.gen(function*() {
  const backend = yield* Backend

  // The provider: `Ollama.make({ host })` (default http://127.0.0.1:11434).
  // Here, unless --live, it points at the embedded fake server.
  const ollama = backend.isLive("ollama")
    ? Ollama.make({ host: process.env.OLLAMA_HOST! })
    : Ollama.make({ host: backend.server.baseUrls.ollama })
  const model = backend.model("ollama")

  // 1. A whole answer, printed as it streams.
  yield* Console.log(`${ollama.name} / ${model}:`)
  yield* ollama.stream({
    model,
    maxTokens: 200,
    system: "You are brief.",
    messages: [{ role: "user", content: "Say hello in one sentence." }]
  }).pipe(printEvents)

  // 2. Stop reading early. `Stream.take(5)` ends the stream after 5 events;
  //    closing the stream's scope aborts the request and releases the
  //    connection before `runCollect` returns.
  const firstEvents = yield* ollama.stream({
    model,
    maxTokens: 500,
    messages: [{ role: "user", content: "Count from 1 to 100, one number per line." }]
  }).pipe(Stream.take(5), Stream.runCollect)
  const ledger = yield* Ledger.snapshot
  yield* Console.log(`\ntook ${firstEvents.length} events and stopped reading; live streams now: ${ledger.live.length}`)
})

runMain(program)
