/**
 * Thinking, round-tripped over a tool turn on Anthropic. Turn 1 asks with
 * `reasoning: { budgetTokens }`; the answer thinks (a signed thinking block)
 * and calls a tool. `Provider.toMessages` turns that answer into the assistant
 * message for history — thinking text, signature and tool call in order — so
 * turn 2, carrying the tool result, is accepted: the fake server checks it the
 * way the Messages API does (`validate: ["anthropic-thinking"]`).
 *
 *   npx tsx examples/reasoning.ts                                   # embedded fake server
 *   ANTHROPIC_API_KEY=sk-ant-… npx tsx examples/reasoning.ts --live  # the real API (a thinking model)
 *
 * Last, the same history with the signature dropped: refused before
 * connecting, where the API would answer 400.
 */
import { type ChatRequest, Provider } from "@streamvisor/core"
import { Script } from "@streamvisor/testkit"
import { Console, Effect } from "effect"
import { Backend, runMain } from "./support/Backend.js"

const weather: ChatRequest.Input["tools"] = [{
  name: "weather",
  description: "The current weather in a city.",
  parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] }
}]

const program = Effect.gen(function*() {
  const backend = yield* Backend
  const claude = backend.provider("anthropic")
  const model = backend.model("anthropic")
  const ask = (messages: ChatRequest.Input["messages"]) =>
    claude.generate({ model, maxTokens: 4096, reasoning: { budgetTokens: 2048 }, tools: weather, messages })

  // Turn 1: think, then call the tool.
  const question: ChatRequest.Input["messages"] = [{ role: "user", content: "Should I bike to work in Oslo today?" }]
  backend.server.setScript(Script.make([
    Script.reasoningEvent("The answer depends on the weather. "),
    Script.reasoningEvent("I should look it up.", "EqQBCkgIAhABGAIiQK5turn1"),
    Script.toolCallEvent({ id: "toolu_01", name: "weather", arguments: { city: "Oslo" } })
  ], { validate: ["anthropic-thinking"] }))
  const turn1 = yield* ask(question)
  const signature = turn1.parts.flatMap((part) => part.type === "reasoning" && part.signature ? [part.signature] : [])[0]
  yield* Console.log(`1. thought: "${turn1.reasoning}" (signature ${signature ?? "missing"})`)
  yield* Console.log(`   called: ${turn1.toolCalls.map((c) => `${c.name}(${JSON.stringify(c.arguments)})`).join(", ")}`)

  // Turn 2: the answer goes back as it came (thinking + signature + call), then the result.
  const history: ChatRequest.Input["messages"] = [
    ...question,
    ...Provider.toMessages(turn1),
    ...turn1.toolCalls.map((call): ChatRequest.Input["messages"][number] => ({
      role: "tool",
      toolCallId: call.id,
      name: call.name,
      content: "-3°C, icy roads"
    }))
  ]
  backend.server.setScript(Script.reasoning(
    ["Icy roads make biking risky."],
    ["Better not: ", "it is -3°C with icy roads. ", "Take the tram."],
    { signature: "EqQBCkgIAhABGAIiQK5turn2", validate: ["anthropic-thinking"] }
  ))
  const turn2 = yield* ask(history)
  yield* Console.log(`2. answer: ${turn2.text} (finish: ${turn2.finish.reason})`)
  yield* Console.log(`   history sent back: ${history.map((m) => m.role).join(" → ")}`)

  // The same history without the signature: the API would answer 400; we refuse first.
  const unsigned = history.map((message) =>
    message.role === "assistant" && typeof message.content !== "string"
      ? { ...message, content: message.content.map((part) => part.type === "reasoning" ? { type: "reasoning" as const, text: part.text } : part) }
      : message
  )
  const before = backend.server.stats().total
  const error = yield* Effect.flip(ask(unsigned))
  yield* Console.log(`3. without the signature: ${error._tag}, requests sent ${backend.server.stats().total - before}`)
})

runMain(program)
