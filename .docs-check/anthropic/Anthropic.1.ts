import { Anthropic } from "@streamvisor/anthropic"
import { Provider } from "@streamvisor/core"
import { Effect, Redacted } from "effect"

const claude = Anthropic.make({ apiKey: Redacted.make(process.env.ANTHROPIC_API_KEY!) })
const llm: Provider.Provider = claude

const program = Effect.gen(function*() {
  const answer = yield* claude.generate({
    model: "claude-sonnet-4-5",
    maxTokens: 1024,
    messages: [{ role: "user", content: "Hi" }]
  })
  console.log(answer.text, answer.usage)
})
export {}
