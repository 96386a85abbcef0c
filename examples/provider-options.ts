/**
 * Provider options: the typed escape hatch for what the request model does not
 * cover. `providerOptions.anthropic` is merged into the Messages API body,
 * `providerOptions.ollama` into `/api/chat`'s (its `options` key by key), so
 * `top_k`, `metadata`, `seed`, `num_ctx`… are reachable without a fork. Each
 * adapter reads only its own key: one request can carry options for several
 * providers (a `fallback` sends it to each).
 *
 * A field the model does not know — a typo — is not dropped silently: it fails
 * as `InvalidRequest`, before any connection opens.
 *
 *   npx tsx examples/provider-options.ts                                   # embedded fake server
 *   ANTHROPIC_API_KEY=sk-ant-… npx tsx examples/provider-options.ts --live  # the real API
 */
import type { ChatRequest } from "@streamvisor/core"
import { Script } from "@streamvisor/testkit"
import { Console, Effect } from "effect"
import { Backend, runMain } from "./support/Backend.js"

const program = Effect.gen(function*() {
  const backend = yield* Backend
  const request = (model: string): ChatRequest.Input => ({
    model,
    maxTokens: 100,
    messages: [{ role: "user", content: "Name a colour." }],
    providerOptions: {
      anthropic: { top_k: 5, metadata: { user_id: "customer-42" } },
      ollama: { keep_alive: "10m", options: { seed: 42, num_ctx: 8192 } }
    }
  })
  backend.server.setScript(Script.text(["Teal."]))

  for (const wire of ["anthropic", "ollama"] as const) {
    const answer = yield* backend.provider(wire).generate(request(backend.model(wire)))
    const body = backend.server.lastRequest?.body as Record<string, unknown>
    const sent = wire === "anthropic"
      ? { top_k: body.top_k, metadata: body.metadata }
      : { keep_alive: body.keep_alive, options: body.options }
    yield* Console.log(`${wire}: "${answer.text}"${backend.isLive(wire) ? "" : ` — sent ${JSON.stringify(sent)}`}`)
  }

  // A typo: `temprature`. The request is refused, with the Schema's message.
  const before = backend.server.stats().total
  const typo = { ...request(backend.model("anthropic")), temprature: 0.2 }
  const error = yield* Effect.flip(backend.provider("anthropic").generate(typo))
  const lines = error.message.split("\n").map((line) => line.replace(/^[\s└─]+/, ""))
  const at = lines.findIndex((line) => line.includes("temprature"))
  yield* Console.log(`typo: ${error._tag} — ${lines.slice(at, at + 2).join(" ").slice(0, 90)}…`)
  yield* Console.log(`requests sent for it: ${backend.server.stats().total - before}`)
})

runMain(program)
