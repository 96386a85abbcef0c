/**
 * Prompt caching: `cache: true` on the system prompt, a tool or a message
 * marks a cache breakpoint (Anthropic `cache_control`). The answers' usage
 * then says how many input tokens were written to the cache and read from it
 * (`cacheWriteTokens`, `cachedInputTokens`), and the ledger adds them up like
 * the other counts — what a bill needs.
 *
 *   npx tsx examples/prompt-caching.ts                                   # embedded fake server
 *   ANTHROPIC_API_KEY=sk-ant-… npx tsx examples/prompt-caching.ts --live  # the real API (a prompt over 1024 tokens caches)
 *
 * Providers that cache by themselves (OpenAI, Gemini's implicit cache,
 * Ollama) take the hint and report cached tokens where their API does.
 */
import { Ledger } from "@streamvisor/core"
import { Script } from "@streamvisor/testkit"
import { Console, Effect } from "effect"
import { Backend, runMain } from "./support/Backend.js"

// A long, stable prefix is what is worth caching: a product manual, say.
const manual = Array.from({ length: 300 }, (_, i) => `Rule ${i + 1}: answer politely and cite the manual.`).join("\n")

const program = Effect.gen(function*() {
  const backend = yield* Backend
  const claude = backend.provider("anthropic")
  const ask = (question: string) =>
    claude.generate({
      model: backend.model("anthropic"),
      maxTokens: 200,
      system: { text: manual, cache: true },
      messages: [{ role: "user", content: question }]
    })

  // First request: the prefix is written to the cache. Second: it is read.
  const usages = [
    { inputTokens: 12, outputTokens: 9, cacheWriteTokens: 3_600 },
    { inputTokens: 14, outputTokens: 11, cachedInputTokens: 3_600 }
  ]
  for (const [i, question] of ["How do I reset my password?", "And my e-mail address?"].entries()) {
    backend.server.setScript(Script.text(["See rule 12 ", "of the manual."], { usage: usages[i]! }))
    const answer = yield* ask(question)
    const u = answer.usage
    yield* Console.log(
      `${i + 1}. "${answer.text}" — input ${u?.inputTokens}, cache write ${u?.cacheWriteTokens ?? 0}, ` +
        `cache read ${u?.cachedInputTokens ?? 0}, output ${u?.outputTokens}`
    )
  }
  if (!backend.isLive("anthropic")) {
    const system = (backend.server.lastRequest?.body as { system: Array<{ cache_control?: unknown }> }).system
    yield* Console.log(`on the wire: system block with cache_control ${JSON.stringify(system[0]?.cache_control)}`)
  }

  // The ledger totals, detail included.
  const usage = (yield* Ledger.snapshot).usage
  yield* Console.log(
    `ledger usage: input ${usage.inputTokens}, cache write ${usage.cacheWriteTokens ?? 0}, ` +
      `cache read ${usage.cachedInputTokens ?? 0}, output ${usage.outputTokens}`
  )
})

runMain(program)
