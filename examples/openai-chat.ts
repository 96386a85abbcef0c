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
import { OpenAI } from "@streamvisor/openai"
import { Effect } from "effect"
import { Backend, runMain } from "./support/Backend.js"
import { tour } from "./support/Tour.js"

const program = Effect.gen(function*() {
  const backend = yield* Backend

  // The provider. With a real key: `OpenAI.make({ apiKey })` (`api: "chat"` is
  // the default). Here, unless --live, it points at the embedded fake server.
  const gpt = backend.isLive("openai-chat")
    ? OpenAI.make({ apiKey: process.env.OPENAI_API_KEY! })
    : OpenAI.make({ apiKey: "fake-key", baseURL: backend.server.baseUrls.openai })
  const model = backend.model("openai-chat")

  // The rest is the same for every provider: see support/Tour.ts.
  yield* tour(gpt, model)
})

runMain(program)
