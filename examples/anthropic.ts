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
import { Effect } from "effect"
import { Backend, runMain } from "./support/Backend.js"
import { tour } from "./support/Tour.js"

const program = Effect.gen(function*() {
  const backend = yield* Backend

  // The provider. With a real key: `Anthropic.make({ apiKey })`. Here, unless
  // --live, it points at the embedded fake server (any key will do).
  const claude = backend.isLive("anthropic")
    ? Anthropic.make({ apiKey: process.env.ANTHROPIC_API_KEY! })
    : Anthropic.make({ apiKey: "fake-key", baseURL: backend.server.baseUrls.anthropic })
  const model = backend.model("anthropic")

  // The rest is the same for every provider: see support/Tour.ts.
  yield* tour(claude, model)
})

runMain(program)
