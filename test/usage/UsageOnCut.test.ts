/**
 * Usage on every ending: a stream cut short (taken, interrupted, timed out,
 * failed) still records the tokens the provider reported so far, in its
 * ledger entry and in the `streamvisor_tokens` metric, so billing and quotas
 * never lose a cancelled stream.
 */
import AnthropicSdk from "@anthropic-ai/sdk"
import { Anthropic } from "@streamvisor/anthropic"
import { Ledger, Metrics, timeouts } from "@streamvisor/core"
import { FakeLlmServer, Script } from "@streamvisor/testkit"
import { Effect, Exit, Metric, Stream } from "effect"
import { Agent } from "undici"
import { afterAll, beforeAll, describe, expect, it } from "vitest"

let server: FakeLlmServer.Server
let agent: Agent
let claude: ReturnType<typeof Anthropic.make>

beforeAll(async () => {
  server = await FakeLlmServer.start()
  agent = new Agent()
  claude = Anthropic.make({
    client: new AnthropicSdk({
      apiKey: "sk-usage-test-key",
      baseURL: server.baseUrls.anthropic,
      maxRetries: 0,
      fetchOptions: { dispatcher: agent } as never
    })
  })
})
afterAll(async () => {
  await agent.close()
  await server.close()
})

const inputTokens = Metrics.tokens.pipe(Metric.tagged("provider", "anthropic"), Metric.tagged("direction", "input"))
const readInput = () => Effect.runSync(Metric.value(inputTokens)).count

const request = { model: "usage-model", messages: [{ role: "user" as const, content: "count" }] }

describe("usage on every ending", () => {
  it.each([
    ["take(2)", (s: Stream.Stream<unknown, unknown>) => Stream.runDrain(Stream.take(s, 2))],
    ["idle timeout on a hang", (s: Stream.Stream<any, any>) => Stream.runDrain(s.pipe(timeouts({ idle: 50 })))],
    ["a consumer failure", (s: Stream.Stream<unknown, unknown>) =>
      Stream.runDrain(Stream.mapEffect(s, () => Effect.fail("stop" as const)))]
  ] as const)("%s: the input tokens reported at message_start are recorded", async (_name, consume) => {
    server.setScript({
      ...Script.text(200),
      delayMs: 5,
      usage: { inputTokens: 42, outputTokens: 99 },
      fault: { type: "hang", afterEvents: 3 }
    })
    const ledger = Ledger.make()
    const before = readInput()
    const exit = await Effect.runPromiseExit(
      consume(claude.stream(request) as Stream.Stream<any, any>).pipe(Effect.provideService(Ledger.Ledger, ledger))
    )
    expect(Exit.isSuccess(exit) || Exit.isFailure(exit)).toBe(true)
    await server.waitFor((s) => s.inflight === 0)
    const snapshot = ledger.snapshot()
    expect(snapshot.live).toEqual([])
    expect(snapshot.outcomes.completed).toBe(0)
    expect(snapshot.usage.inputTokens).toBe(42)
    expect(readInput() - before).toBe(42)
  })

  it("a completed stream records the final usage once", async () => {
    server.setScript({ ...Script.text(5), usage: { inputTokens: 7, outputTokens: 5 } })
    const ledger = Ledger.make()
    const before = readInput()
    await Effect.runPromise(Stream.runDrain(claude.stream(request)).pipe(Effect.provideService(Ledger.Ledger, ledger)))
    expect(ledger.snapshot().usage).toEqual({ inputTokens: 7, outputTokens: 5 })
    expect(readInput() - before).toBe(7)
  })
})
