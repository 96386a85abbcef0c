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
import { Google } from "@streamvisor/google"
import { Effect } from "effect"
import { Backend, runMain } from "./support/Backend.js"
import { tour } from "./support/Tour.js"

const program = Effect.gen(function*() {
  const backend = yield* Backend

  // The provider. With a real key: `Google.make({ apiKey })`. Here, unless
  // --live, it points at the embedded fake server (any key will do).
  const gemini = backend.isLive("gemini")
    ? Google.make({ apiKey: process.env.GEMINI_API_KEY! })
    : Google.make({ apiKey: "fake-key", baseURL: backend.server.baseUrls.gemini })
  const model = backend.model("gemini")

  // The rest is the same for every provider: see support/Tour.ts.
  yield* tour(gemini, model)
})

runMain(program)
