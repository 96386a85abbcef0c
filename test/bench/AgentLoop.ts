/**
 * The agent loop's overhead per step: `AgentTurn.run` over the OpenAI Chat
 * adapter against a hand-written loop over the raw `openai` SDK (stream, gather
 * the tool calls, run the tool, append, ask again), same FakeLlmServer, same
 * turns, alternating run by run; median of the runs.
 *
 *   pnpm run build && cd test/bench && npx tsx AgentLoop.ts     # AGENT_STEPS=5 AGENT_RUNS=40 by default
 *
 * A step is one streamed request (a tool call, or the final answer of 20
 * deltas) and one trivial tool; the difference per step is the loop's cost.
 */
import { AgentTurn, Tool, Toolkit } from "@streamvisor/core"
import { OpenAI } from "@streamvisor/openai"
import { FakeLlmServer, Script } from "@streamvisor/testkit"
import { Effect, Schema } from "effect"
import OpenAISdk from "openai"

const STEPS = Number(process.env.AGENT_STEPS ?? 5)
const RUNS = Number(process.env.AGENT_RUNS ?? 40)

const server = await FakeLlmServer.start({
  script: (request) => {
    const messages = ((request.body as { messages?: Array<{ role: string }> }).messages ?? [])
    const results = messages.filter((m) => m.role === "tool").length
    return results < STEPS - 1
      ? Script.make([Script.toolCallEvent({ id: `call_${results}`, name: "add", arguments: { a: results, b: 1 } })])
      : Script.text(20)
  }
})
const sdk = new OpenAISdk({ apiKey: "k", baseURL: server.baseUrls.openai, maxRetries: 0 })
const provider = OpenAI.make({ client: sdk })
const request = { model: "bench", messages: [{ role: "user" as const, content: "add" }] }

const Add = Tool.make("add", { parameters: { a: Schema.Number, b: Schema.Number }, success: Schema.Number })
const tools = Toolkit.make(Add)
const layer = Toolkit.toLayer(tools, { add: ({ a, b }) => Effect.succeed(a + b) })
const streamvisor = () =>
  Effect.runPromise(AgentTurn.run(provider, request, tools, { maxSteps: STEPS + 1 }).pipe(Effect.provide(layer)))

const raw = async () => {
  const messages: Array<any> = [...request.messages]
  const definitions = [{ type: "function" as const, function: { name: "add", parameters: Add.definition.parameters } }]
  for (let step = 1; step <= STEPS + 1; step++) {
    const stream = await sdk.chat.completions.create({ model: "bench", messages, tools: definitions, stream: true })
    const calls: Array<{ id: string; name: string; args: string }> = []
    let text = ""
    for await (const chunk of stream) {
      const delta = chunk.choices[0]?.delta
      if (delta?.content) text += delta.content
      for (const call of delta?.tool_calls ?? []) {
        const slot = (calls[call.index] ??= { id: "", name: "", args: "" })
        if (call.id) slot.id = call.id
        if (call.function?.name) slot.name = call.function.name
        if (call.function?.arguments) slot.args += call.function.arguments
      }
    }
    if (calls.length === 0) return text
    messages.push({
      role: "assistant",
      content: text || null,
      tool_calls: calls.map((c) => ({ id: c.id, type: "function", function: { name: c.name, arguments: c.args } }))
    })
    for (const call of calls) {
      const { a, b } = JSON.parse(call.args) as { a: number; b: number }
      messages.push({ role: "tool", tool_call_id: call.id, content: JSON.stringify(a + b) })
    }
  }
  return ""
}

const median = (xs: Array<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const times = { raw: [] as Array<number>, streamvisor: [] as Array<number> }
for (let i = 0; i < 5; i++) await Promise.all([raw(), streamvisor()].map((p) => p)) // warm-up
for (let i = 0; i < RUNS; i++) {
  for (const [name, run] of (i % 2 === 0 ? [["raw", raw], ["streamvisor", streamvisor]] : [["streamvisor", streamvisor], ["raw", raw]]) as Array<[keyof typeof times, () => Promise<unknown>]>) {
    const start = performance.now()
    await run()
    times[name].push(performance.now() - start)
  }
}
const r = median(times.raw)
const s = median(times.streamvisor)
console.log(`| loop | ms per turn (${STEPS} steps, median of ${RUNS}) | ms per step | ratio |`)
console.log(`|---|---|---|---|`)
console.log(`| raw openai SDK, hand-written | ${r.toFixed(2)} | ${(r / STEPS).toFixed(2)} | 1.00 |`)
console.log(`| AgentTurn.run (OpenAI chat) | ${s.toFixed(2)} | ${(s / STEPS).toFixed(2)} | ${(s / r).toFixed(2)} |`)
console.log(`overhead per step: ${((s - r) / STEPS).toFixed(3)} ms`)
await server.close()
