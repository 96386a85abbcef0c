/**
 * Tool choice: `"auto"` (the default), `"none"`, `"required"` (some tool) or
 * `{ tool: name }` (that one). Each goes out in the provider's own form — on
 * Anthropic `tool_choice` `auto` / `none` / `any` / `{ type: "tool", name }` —
 * and where a provider has no such choice (Ollama: no `required`, no named
 * tool) the request fails as `InvalidRequest` before connecting, never a
 * silent "auto".
 *
 *   npx tsx examples/tool-choice.ts                                   # embedded fake server
 *   ANTHROPIC_API_KEY=sk-ant-… npx tsx examples/tool-choice.ts --live  # the real API
 */
import type { ChatRequest } from "@streamvisor/core"
import { Script } from "@streamvisor/testkit"
import { Console, Effect, Schema } from "effect"
import { Backend, runMain } from "./support/Backend.js"

// Tool parameters as JSON Schema, or as an effect/Schema (its JSON Schema is derived).
const tools: ChatRequest.Input["tools"] = [
  { name: "search_orders", description: "Find a customer's orders.", parameters: Schema.Struct({ email: Schema.String }) },
  {
    name: "refund",
    description: "Refund an order.",
    parameters: { type: "object", properties: { orderId: { type: "string" } }, required: ["orderId"] }
  }
]

const choices: ReadonlyArray<ChatRequest.ToolChoice> = ["auto", "none", "required", { tool: "search_orders" }]

const program = Effect.gen(function*() {
  const backend = yield* Backend
  const request = (wire: "anthropic" | "ollama", toolChoice: ChatRequest.ToolChoice): ChatRequest.Input => ({
    model: backend.model(wire),
    maxTokens: 300,
    tools,
    toolChoice,
    messages: [{ role: "user", content: "Where is the order of ada@example.com?" }]
  })

  for (const choice of choices) {
    backend.server.setScript(
      choice === "none"
        ? Script.text(["I can look that up ", "if you let me use a tool."])
        : Script.toolCall({ name: "search_orders", arguments: { email: "ada@example.com" } })
    )
    const answer = yield* backend.provider("anthropic").generate(request("anthropic", choice))
    const wire = backend.isLive("anthropic")
      ? ""
      : ` — sent tool_choice ${JSON.stringify((backend.server.lastRequest?.body as { tool_choice?: unknown }).tool_choice)}`
    const did = answer.toolCalls.length > 0
      ? answer.toolCalls.map((c) => `${c.name}(${JSON.stringify(c.arguments)})`).join(", ")
      : `"${answer.text}"`
    yield* Console.log(`anthropic ${JSON.stringify(choice)}: ${did}${wire}`)
  }

  // Ollama has no way to force a tool: a typed refusal, no request sent.
  const before = backend.server.stats().total
  const error = yield* Effect.flip(backend.provider("ollama").generate(request("ollama", "required")))
  yield* Console.log(`ollama "required": ${error._tag} — ${error.message.split("\n").at(-1)?.replace("└─ ", "")}`)
  yield* Console.log(`requests sent for it: ${backend.server.stats().total - before}`)
})

runMain(program)
