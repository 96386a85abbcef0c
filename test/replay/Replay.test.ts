/**
 * The second corpus (`packages/testkit/fixtures/replay/`): forty response bodies real providers and
 * OpenAI-compatible servers sent, replayed byte for byte by FakeLlmServer to the real SDKs over real
 * HTTP, read through each adapter and through the promise facade, whole and in seeded random-sized
 * pieces (each its own write, so they cut frames, CRLFs and UTF-8 characters). Each run must yield
 * its `.expect.json`: text, tool calls, the finish reason or the error tag, exactly one `Finish` and
 * last, the usage the body reports, and afterwards nothing in flight at the server, nothing live in
 * the ledger, no unhandled rejection.
 */
import AnthropicSdk from "@anthropic-ai/sdk"
import { Anthropic } from "@streamvisor/anthropic"
import { Ledger, type LlmError, type Provider, type StreamEvent } from "@streamvisor/core"
import { streamText } from "@streamvisor/core/promise"
import { Google } from "@streamvisor/google"
import { Ollama } from "@streamvisor/ollama"
import { OpenAI } from "@streamvisor/openai"
import { FakeLlmServer, Fixtures, Script } from "@streamvisor/testkit"
import { Cause, Effect, Exit, Option, Stream } from "effect"
import OpenAIClient from "openai"
import { Agent, type Dispatcher, getGlobalDispatcher, setGlobalDispatcher } from "undici"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import { checkOpenAI } from "./support/OpenAIExtras.js"
import { geminiExtras, reportedUsage } from "./support/Usage.js"

const KEY = "sk-replay-test-key"

let server: FakeLlmServer.Server
let agent: Agent
let previous: Dispatcher
let providers: Record<Fixtures.Format, Provider.Provider>

/** Every unhandled rejection of the process, to assert there was none. */
const unhandled: Array<unknown> = []
const onUnhandled = (reason: unknown) => {
  unhandled.push(reason)
}

beforeAll(async () => {
  process.on("unhandledRejection", onUnhandled)
  server = await FakeLlmServer.start()
  // Gemini's SDK and Ollama's default client call the global fetch: the agent is the global dispatcher too
  agent = new Agent({ keepAliveTimeout: 30_000 })
  previous = getGlobalDispatcher()
  setGlobalDispatcher(agent)
  const fetchOptions = { dispatcher: agent } as never
  const openai = new OpenAIClient({ apiKey: KEY, baseURL: server.baseUrls.openai, maxRetries: 0, fetchOptions })
  providers = {
    anthropic: Anthropic.make({
      client: new AnthropicSdk({ apiKey: KEY, baseURL: server.baseUrls.anthropic, maxRetries: 0, fetchOptions })
    }),
    "openai-chat": OpenAI.make({ client: openai, api: "chat" }),
    "openai-responses": OpenAI.make({ client: openai, api: "responses" }),
    google: Google.make({ apiKey: KEY, baseURL: server.baseUrls.gemini }),
    ollama: Ollama.make({ host: server.baseUrls.ollama })
  }
})

afterAll(async () => {
  setGlobalDispatcher(previous)
  await agent?.close()
  await server?.waitFor((s) => s.open === 0, { timeoutMs: 2000, message: "open sockets" })
  await server?.close()
  process.off("unhandledRejection", onUnhandled)
})

afterEach(async () => {
  // Node reports a rejection nobody handled after the microtask queue drains
  for (let i = 0; i < 3; i++) await new Promise<void>((resolve) => setImmediate(resolve))
  expect(unhandled).toEqual([])
})

/** What one run saw. */
interface Outcome {
  readonly events: ReadonlyArray<StreamEvent.StreamEvent>
  readonly error: LlmError.LlmError | undefined
}

const request = (model: string) => ({ model, messages: [{ role: "user" as const, content: "replay" }] })

const viaAdapter = async (provider: Provider.Provider, model: string, ledger: Ledger.Service): Promise<Outcome> => {
  const events: Array<StreamEvent.StreamEvent> = []
  const exit = await Effect.runPromiseExit(
    provider.stream(request(model)).pipe(
      Stream.runForEach((event) => Effect.sync(() => events.push(event))),
      Effect.provideService(Ledger.Ledger, ledger)
    )
  )
  if (Exit.isSuccess(exit)) return { events, error: undefined }
  const failure = Cause.failureOption(exit.cause)
  if (Option.isNone(failure)) throw new Error(`not a typed failure: ${Cause.pretty(exit.cause)}`)
  return { events, error: failure.value }
}

const viaFacade = async (provider: Provider.Provider, model: string, ledger: Ledger.Service): Promise<Outcome> => {
  const events: Array<StreamEvent.StreamEvent> = []
  try {
    for await (const event of streamText(provider, request(model), { ledger })) events.push(event)
    return { events, error: undefined }
  } catch (error) {
    return { events, error: error as LlmError.LlmError }
  }
}

const list = <A>(value: A | ReadonlyArray<A> | null): ReadonlyArray<A> =>
  value === null ? [] : Array.isArray(value) ? (value as ReadonlyArray<A>) : [value as A]

const squash = (text: string): string => text.replace(/\s+/g, "")

/** Checks one outcome against the body's expectation. */
const check = (body: Fixtures.Body, { error, events }: Outcome): void => {
  const expected = body.expect
  const of = <T extends StreamEvent.StreamEvent["_tag"]>(tag: T) =>
    events.filter((e): e is Extract<StreamEvent.StreamEvent, { _tag: T }> => e._tag === tag)
  const finishes = of("Finish")
  const reasoning = of("ReasoningDelta").map((e) => e.text).join("")
  if (reasoning !== "") expect(squash(reasoning)).toBe(squash(expected.reasoning ?? ""))

  if (error !== undefined) {
    expect(list(expected.error), `failed with ${error._tag}: ${error.message}`).toContain(error._tag)
    expect(finishes).toEqual([])
  } else {
    expect(list(expected.finish), "finished although an error was expected").not.toEqual([])
    expect(finishes.length).toBe(1)
    expect(events[events.length - 1]).toBe(finishes[0])
    expect(list(expected.finish)).toContain(finishes[0].reason)
    expect(finishes[0].raw).toBe(expected.raw)
    const usage = reportedUsage(body)
    if (usage !== undefined) {
      const reported = of("Usage")
      expect(reported.length).toBeGreaterThan(0)
      const last = reported[reported.length - 1]
      expect({ inputTokens: last.inputTokens, outputTokens: last.outputTokens }).toEqual(usage)
    }
  }
  if (body.format === "anthropic") checkAnthropic(body, events, error)
  if (body.format === "google" && error === undefined) {
    // Gemini: thought signatures reach the events (so Provider.toMessages can send them back) and
    // grounding is a ProviderMetadata event, never dropped.
    const extras = geminiExtras(body)
    const signed = [...of("ReasoningEnd").map((e) => e.signature), ...of("ToolCallEnd").map((e) => e.signature)]
    for (const signature of extras.signatures) expect(signed).toContain(signature)
    if (extras.grounding) expect(of("ProviderMetadata").map((e) => e.kind)).toContain("grounding")
  }
  // text and tool calls also on a failure: what arrived before it (the expectation lists exactly that)
  expect(of("TextDelta").map((e) => e.text).join("")).toBe(expected.text)
  expect(of("ToolCallEnd").map((e) => ({ name: e.name, arguments: e.arguments }))).toEqual(expected.toolCalls)
}

/**
 * Anthropic: every thinking block ends in a `ReasoningEnd` carrying the signature its
 * `signature_delta`s spelled, every redacted block in one carrying its data, and every
 * `citations_delta` arrives as a `ProviderMetadata` of kind "citations". Read from the body's own
 * frames, so the expectation files stay as they are.
 */
const checkAnthropic = (
  body: Fixtures.Body,
  events: ReadonlyArray<StreamEvent.StreamEvent>,
  error: LlmError.LlmError | undefined
): void => {
  const frames = Buffer.from(body.body).toString("utf8").split(/\r?\n/).flatMap((line) => {
    if (!line.startsWith("data:")) return []
    try {
      return [JSON.parse(line.slice(5)) as Record<string, any>]
    } catch {
      return []
    }
  })
  const signatures = new Map<number, string>()
  const redacted: Array<string> = []
  let citations = 0
  for (const frame of frames) {
    if (frame.type === "content_block_start" && frame.content_block?.type === "thinking") signatures.set(frame.index, "")
    if (frame.type === "content_block_start" && frame.content_block?.type === "redacted_thinking") redacted.push(frame.content_block.data)
    if (frame.type === "content_block_delta" && frame.delta?.type === "signature_delta") {
      signatures.set(frame.index, (signatures.get(frame.index) ?? "") + frame.delta.signature)
    }
    if (frame.type === "content_block_delta" && frame.delta?.type === "citations_delta") citations++
  }
  const ends = events.filter((e): e is StreamEvent.ReasoningEnd => e._tag === "ReasoningEnd")
  for (const end of ends) expect(end.provider).toBe("anthropic")
  const metadata = events.filter((e) => e._tag === "ProviderMetadata")
  if (error !== undefined) {
    // a cut stream delivers a prefix
    expect(ends.length).toBeLessThanOrEqual(signatures.size + redacted.length)
    expect(metadata.length).toBeLessThanOrEqual(citations)
    return
  }
  expect(ends.flatMap((e) => (e.redactedData === undefined ? [] : [e.redactedData]))).toEqual(redacted)
  expect(ends.flatMap((e) => (e.redactedData === undefined ? [e.signature ?? ""] : []))).toEqual([...signatures.values()])
  expect(metadata.length).toBe(citations)
  for (const m of metadata) expect(m).toMatchObject({ provider: "anthropic", kind: "citations" })
}

const settle = async (ledger: Ledger.Service): Promise<void> => {
  await server.waitFor((s) => s.inflight === 0, { timeoutMs: 2000, message: "inflight" })
  await Effect.runPromise(Ledger.awaitNoneLive(2000).pipe(Effect.provideService(Ledger.Ledger, ledger)))
  expect(ledger.snapshot().live).toEqual([])
  expect(ledger.doubleReleases()).toBe(0)
}

const corpus = Fixtures.bodies()

/** The runs of every body: whole and split, through the adapter and the facade. */
const runs: ReadonlyArray<{ readonly name: string; readonly via: "adapter" | "facade"; readonly seed?: number }> = [
  { name: "adapter, whole", via: "adapter" },
  { name: "facade, whole", via: "facade" },
  { name: "adapter, split seed 1", via: "adapter", seed: 1 },
  { name: "adapter, split seed 2", via: "adapter", seed: 2 },
  { name: "facade, split seed 3", via: "facade", seed: 3 }
]
const MAX_PIECE = 48

describe("the replay corpus", () => {
  it("has forty bodies in every format, each with an expectation", () => {
    expect(corpus.length).toBe(40)
    for (const format of Fixtures.formats) expect(corpus.some((f) => f.format === format)).toBe(true)
    for (const { format, name } of corpus) expect(Fixtures.loadBody(format, name).expect.format).toBe(format)
  })

  it("the seeded pieces cut frames, CRLFs and UTF-8 characters", () => {
    const seen = { crlf: 0, utf8: 0, frame: 0 }
    for (const { format, name } of corpus) {
      const { body } = Fixtures.loadBody(format, name)
      for (const { seed } of runs) {
        if (seed === undefined) continue
        for (const at of Script.cuts(body.length, { seed, maxBytes: MAX_PIECE })) {
          if (body[at - 1] === 0x0d && body[at] === 0x0a) seen.crlf++
          // a UTF-8 continuation byte after the cut: the cut is inside a character
          if ((body[at] & 0xc0) === 0x80) seen.utf8++
          if (body[at - 1] !== 0x0a) seen.frame++
        }
      }
    }
    expect(seen.crlf).toBeGreaterThan(0)
    expect(seen.utf8).toBeGreaterThan(0)
    expect(seen.frame).toBeGreaterThan(0)
  })
})

describe.each(runs)("$name", ({ seed, via }) => {
  it.each(corpus)("$format/$name", async ({ format, name }) => {
    const body = Fixtures.loadBody(format, name)
    const pieces = seed === undefined ? undefined : { seed, maxBytes: MAX_PIECE }
    server.scriptFor(body.expect.model, Fixtures.bodyScript(format, name, { pieces }))
    const ledger = Ledger.make()
    const outcome = await (via === "adapter" ? viaAdapter : viaFacade)(providers[format], body.expect.model, ledger)
    check(body, outcome)
    if (outcome.error === undefined) checkOpenAI(body, outcome.events)
    await settle(ledger)
  })
})
