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
import { Ollama } from "@streamvisor/ollama"
import { Effect } from "effect"
import { Backend, runMain } from "./support/Backend.js"
import { tour } from "./support/Tour.js"

const program = Effect.gen(function*() {
  const backend = yield* Backend

  // The provider: `Ollama.make({ host })` (default http://127.0.0.1:11434).
  // Here, unless --live, it points at the embedded fake server.
  const ollama = backend.isLive("ollama")
    ? Ollama.make({ host: process.env.OLLAMA_HOST! })
    : Ollama.make({ host: backend.server.baseUrls.ollama })
  const model = backend.model("ollama")

  // The rest is the same for every provider: see support/Tour.ts.
  yield* tour(ollama, model)
})

runMain(program)
