import { it, expect } from "vitest"
import { Anthropic } from "@streamvisor/anthropic"
import { FakeLlmServer, Script } from "@streamvisor/testkit"
import { Effect, Stream, Chunk } from "effect"

it("smoke", async () => {
  const server = await FakeLlmServer.start()
  const p = Anthropic.make({ apiKey: "sk-SECRET-KEY-1234567890", baseURL: server.baseUrls.anthropic })
  for (const s of [Script.text(3), Script.toolCall({ name: "f", arguments: { a: 1 } }, { text: ["hi"] }), Script.reasoning(["th"], ["x"]), Script.status(429, { headers: { "retry-after": "3" } }), Script.withFault(Script.text(5), { type: "errorEvent", afterEvents: 2 }), Script.withFault(Script.text(5), { type: "malformed", afterEvents: 2 }), Script.withFault(Script.text(5), { type: "disconnect", afterEvents: 2 })]) {
    server.setScript(s)
    const exit = await Effect.runPromiseExit(Stream.runCollect(p.stream({ model: "m", messages: [{ role: "user", content: "hi" }] })))
    console.log(JSON.stringify(exit._tag === "Success" ? Chunk.toArray(exit.value) : exit.cause))
  }
  console.log(server.requests[0].headers, JSON.stringify(server.requests[0].body))
  await server.close()
})
