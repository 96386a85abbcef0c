/**
 * Stream from OpenAI's Responses API (through the `openai` SDK).
 *
 *   npx tsx examples/openai-responses.ts                            # embedded fake server, no key
 *   OPENAI_API_KEY=sk-… npx tsx examples/openai-responses.ts --live  # the real API
 *
 * The same `Provider` as Chat Completions, built with `api: "responses"`. It
 * streams one answer, prints it as it arrives, then stops reading another
 * answer after 5 events: the connection is released at that moment, which the
 * ledger shows.
 */
import { OpenAI } from "@streamvisor/openai"
import { Effect } from "effect"
import { Backend, runMain } from "./support/Backend.js"
import { tour } from "./support/Tour.js"

const program = Effect.gen(function*() {
  const backend = yield* Backend

  // The provider: `OpenAI.make({ apiKey, api: "responses" })`. Here, unless
  // --live, it points at the embedded fake server.
  const gpt = backend.isLive("openai-responses")
    ? OpenAI.make({ apiKey: process.env.OPENAI_API_KEY!, api: "responses" })
    : OpenAI.make({ apiKey: "fake-key", baseURL: backend.server.baseUrls.openai, api: "responses" })
  const model = backend.model("openai-responses")

  // The rest is the same for every provider: see support/Tour.ts.
  yield* tour(gpt, model)
})

runMain(program)
