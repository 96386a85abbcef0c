/**
 * The streamvisor demo. With no API keys it starts the embedded FakeLlmServer
 * and streams one answer from each wire format (Anthropic, OpenAI Chat, OpenAI
 * Responses, Gemini, Ollama), then cuts one slow stream of each short, and
 * prints the ledger as its last lines. It exits non-zero if anything leaked.
 *
 * Run: npm run demo
 */
import { Anthropic } from "@streamvisor/anthropic"
import { Ledger, Provider } from "@streamvisor/core"
import { Google } from "@streamvisor/google"
import { Ollama } from "@streamvisor/ollama"
import { OpenAI } from "@streamvisor/openai"
import { FakeLlmServer, Script } from "@streamvisor/testkit"
import { Console, Effect, Stream } from "effect"

const program = Effect.gen(function*() {
  const server = yield* FakeLlmServer.make()
  const key = "demo-key"
  const providers: ReadonlyArray<readonly [string, Provider.Provider]> = [
    ["anthropic", Anthropic.make({ apiKey: key, baseURL: server.baseUrls.anthropic })],
    ["openai chat", OpenAI.make({ apiKey: key, baseURL: server.baseUrls.openai })],
    ["openai responses", OpenAI.make({ apiKey: key, baseURL: server.baseUrls.openai, api: "responses" })],
    ["gemini", Google.make({ apiKey: key, baseURL: server.baseUrls.gemini })],
    ["ollama", Ollama.make({ host: server.baseUrls.ollama })]
  ]
  const request = {
    model: "demo-model",
    messages: [{ role: "user" as const, content: "Say hello" }]
  }

  yield* Console.log("streamvisor demo: one answer from each wire format, through the embedded FakeLlmServer\n")
  server.setScript(Script.text(["Hello", " from", " a", " fake", " model", "."]))
  for (const [label, provider] of providers) {
    const answer = yield* provider.generate(request)
    yield* Console.log(`${label.padEnd(17)} ${JSON.stringify(answer.text)}  (${answer.finish.reason}, ${answer.usage?.outputTokens ?? 0} tokens)`)
  }

  yield* Console.log("\nnow a slow answer from each, cut after 3 events:")
  server.setScript({ ...Script.text(1_000), delayMs: 20 })
  for (const [label, provider] of providers) {
    const events = yield* provider.stream(request).pipe(Stream.take(3), Stream.runCollect)
    yield* Console.log(`${label.padEnd(17)} took ${events.length} events, then stopped reading`)
  }

  yield* Effect.promise(() => server.waitFor((s) => s.inflight === 0, { timeoutMs: 2_000 }))
  const ledger = yield* Ledger.snapshot
  const stats = server.stats()
  yield* Console.log("")
  yield* Console.log(`ledger: streams opened ${ledger.opened}, released ${ledger.released}, live ${ledger.live.length}`)
  yield* Console.log(`server: responses in flight ${stats.inflight}, total ${stats.total}`)
  if (ledger.live.length > 0 || ledger.opened !== ledger.released || stats.inflight > 0) {
    yield* Console.error("LEAK: something was not released")
    return yield* Effect.sync(() => process.exit(1))
  }
})

Effect.runPromise(Effect.scoped(program)).catch((error) => {
  console.error(error)
  process.exit(1)
})
