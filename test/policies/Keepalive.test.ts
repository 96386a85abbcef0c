/**
 * Keepalives are not events: a server that sends only keepalives (Anthropic
 * `ping` events, SSE comment lines) is idle, and the idle timeout cuts it.
 */
import AnthropicSdk from "@anthropic-ai/sdk"
import { Anthropic } from "@streamvisor/anthropic"
import { Ledger, timeouts } from "@streamvisor/core"
import type { Provider } from "@streamvisor/core"
import { OpenAI } from "@streamvisor/openai"
import { FakeLlmServer, Script } from "@streamvisor/testkit"
import { Cause, Effect, Exit, Option, Stream } from "effect"
import OpenAISdk from "openai"
import { Agent } from "undici"
import { afterAll, beforeAll, describe, expect, it } from "vitest"

let server: FakeLlmServer.Server
let agent: Agent
let providers: ReadonlyArray<readonly [string, Provider.Provider]>

beforeAll(async () => {
  server = await FakeLlmServer.start()
  agent = new Agent()
  const fetchOptions = { dispatcher: agent } as never
  providers = [
    ["anthropic (ping events)", Anthropic.make({ client: new AnthropicSdk({ apiKey: "sk-keepalive-key", baseURL: server.baseUrls.anthropic, maxRetries: 0, fetchOptions }) })],
    ["openai chat (SSE comments)", OpenAI.make({ client: new OpenAISdk({ apiKey: "sk-keepalive-key", baseURL: server.baseUrls.openai, maxRetries: 0, fetchOptions }) })],
    ["openai responses (SSE comments)", OpenAI.make({ client: new OpenAISdk({ apiKey: "sk-keepalive-key", baseURL: server.baseUrls.openai, maxRetries: 0, fetchOptions }), api: "responses" })]
  ]
})
afterAll(async () => {
  await agent.close()
  await server.waitFor((s) => s.open === 0)
  await server.close()
})

describe("keepalives do not reset the idle timer", () => {
  it("a stream that stalls with keepalives every 10 ms fails with Timeout(idle) and is released", async () => {
    for (const [label, provider] of providers) {
      server.setScript({ ...Script.text(5), fault: { type: "stall", afterEvents: 2, everyMs: 10 } })
      const ledger = Ledger.make()
      const seen: Array<string> = []
      const started = performance.now()
      const exit = await Effect.runPromiseExit(
        provider.stream({ model: "keepalive", messages: [{ role: "user", content: "hi" }] }).pipe(
          timeouts({ idle: 150, total: 5_000 }),
          Stream.runForEach((event) => Effect.sync(() => void seen.push(event._tag))),
          Effect.provideService(Ledger.Ledger, ledger)
        )
      )
      const elapsed = performance.now() - started
      const error = Exit.isFailure(exit) ? Option.getOrUndefined(Cause.failureOption(exit.cause)) : undefined
      expect(error?._tag, label).toBe("Timeout")
      expect((error as { phase?: string }).phase, label).toBe("idle")
      expect(seen.filter((t) => t === "TextDelta"), label).toHaveLength(2)
      // cut by the idle timer, not by the 5 s total: ~150 ms after the last event despite a keepalive every 10 ms
      expect(elapsed, label).toBeLessThan(2_000)
      await server.waitFor((s) => s.inflight === 0, { timeoutMs: 1_000, message: `${label}: stall left in flight` })
      expect(ledger.snapshot().live, label).toEqual([])
    }
  })
})
