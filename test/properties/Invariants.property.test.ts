/**
 * The invariants of DESIGN.md, checked over random cases: every wire format
 * (through its real SDK or HTTP client) × a random request of the whole
 * conversation model (parts, history with reasoning and tool results, tools,
 * tool choice, response format, reasoning, cache hints, provider options; see
 * `Requests.ts`) × a random script with a random fault × a random consumer
 * (reads all, takes n, is interrupted, fails, breaks, aborts, throws in its
 * loop) × optional policies.
 *
 * For every case: the server has no response in flight, the ledger no live
 * stream and no double release, the text seen is a prefix of the text sent, a
 * clean run ends with exactly one Finish, every failure is a typed LlmError,
 * and no promise rejection goes unhandled. At the end, with the clients' pools
 * closed, the server has no open socket.
 *
 * A request that uses what the adapter's declared `Capabilities` do not list
 * (`Capabilities.check`, on the table the adapter itself declares: see
 * `Declared.ts`) fails with `InvalidRequest` and the server sees no request.
 * A request the table allows either streams under the invariants above or is
 * refused by the adapter's own rules (an API's 400 checked before connecting),
 * also without a request reaching the server.
 *
 * `STREAMVISOR_PROPERTY_RUNS` sets the number of cases (default 100: about half of them plain requests that stream, as before).
 */
import AnthropicSdk from "@anthropic-ai/sdk"
import { Anthropic } from "@streamvisor/anthropic"
import { Capabilities, ChatRequest, Ledger, LlmError, retry, timeouts } from "@streamvisor/core"
import type { Provider, StreamEvent } from "@streamvisor/core"
import { streamText } from "@streamvisor/core/promise"
import { Google } from "@streamvisor/google"
import { Ollama } from "@streamvisor/ollama"
import { OpenAI } from "@streamvisor/openai"
import { Arbitraries, FakeLlmServer } from "@streamvisor/testkit"
import type { Script } from "@streamvisor/testkit"
import { Cause, Chunk, Effect, Exit, Fiber, Option, Schedule, Stream } from "effect"
import * as fc from "fast-check"
import OpenAISdk from "openai"
import { Agent, getGlobalDispatcher, setGlobalDispatcher } from "undici"
import type { Dispatcher } from "undici"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Declared from "./Declared.js"
import * as Requests from "./Requests.js"

const numRuns = Number(process.env.STREAMVISOR_PROPERTY_RUNS ?? 100)

const formats = ["anthropic", "openai-chat", "openai-responses", "gemini", "ollama"] as const
type Format = Declared.Format

type Consumer =
  | { readonly kind: "readAll" }
  | { readonly kind: "take" | "interrupt" | "fail"; readonly after: number }
  | { readonly kind: "break" | "abort" | "throw"; readonly after: number }

const consumerArb: fc.Arbitrary<Consumer> = fc.oneof(
  fc.constant({ kind: "readAll" as const }),
  fc.record({
    kind: fc.constantFrom("take" as const, "interrupt" as const, "fail" as const, "break" as const, "abort" as const, "throw" as const),
    after: fc.integer({ min: 1, max: 6 })
  })
)

let server: FakeLlmServer.Server
let agent: Agent
let previousDispatcher: Dispatcher
let providers: Record<Format, Provider.Provider>
const unhandled: Array<unknown> = []
const onUnhandled = (reason: unknown) => unhandled.push(reason)

beforeAll(async () => {
  process.on("unhandledRejection", onUnhandled)
  server = await FakeLlmServer.start()
  agent = new Agent({ keepAliveTimeout: 10_000 })
  // the Gemini SDK and the Ollama adapter use the global fetch: route it through our pool too
  previousDispatcher = getGlobalDispatcher()
  setGlobalDispatcher(agent)
  const fetchOptions = { dispatcher: agent } as never
  const key = "sk-property-key"
  providers = {
    anthropic: Anthropic.make({
      client: new AnthropicSdk({ apiKey: key, baseURL: server.baseUrls.anthropic, maxRetries: 0, fetchOptions })
    }),
    "openai-chat": OpenAI.make({
      client: new OpenAISdk({ apiKey: key, baseURL: server.baseUrls.openai, maxRetries: 0, fetchOptions })
    }),
    "openai-responses": OpenAI.make({
      client: new OpenAISdk({ apiKey: key, baseURL: server.baseUrls.openai, maxRetries: 0, fetchOptions }),
      api: "responses"
    }),
    gemini: Google.make({ apiKey: key, baseURL: server.baseUrls.gemini }),
    ollama: Ollama.make({ host: server.baseUrls.ollama })
  }
})

afterAll(async () => {
  await agent.close()
  await server.waitFor((s) => s.open === 0, { timeoutMs: 2_000, message: "sockets left open after closing the pool" })
  setGlobalDispatcher(previousDispatcher)
  await server.close()
  process.off("unhandledRejection", onUnhandled)
  expect(unhandled).toEqual([])
})

/** How the cases went, so a degenerate arbitrary (nothing refused, nothing streamed) fails. */
const tally = { streamed: 0, refusedByTable: 0, refusedByAdapter: 0 }

/**
 * The script's tool calls never take the name of the tool Anthropic answers a
 * `responseFormat` through (its input is streamed as the answer's text).
 */
const outputToolNames = new Set(["json", "answer"])
const withoutOutputToolNames = (script: Script.Scripted): Script.Scripted => ({
  ...script,
  events: script.events?.map((e) => e.type === "toolCall" && outputToolNames.has(e.name) ? { ...e, name: `t_${e.name}` } : e)
})

const sentText = (script: Script.Scripted) =>
  (script.events ?? []).flatMap((e) => (e.type === "text" ? [e.text] : [])).join("")

interface Outcome {
  readonly events: ReadonlyArray<StreamEvent.StreamEvent>
  readonly failure: unknown
  readonly clean: boolean
}

/** Waits for a condition no server event announces, with a bound. */
const until = (predicate: () => boolean, timeoutMs = 2_000) =>
  new Promise<void>((resolve, reject) => {
    const deadline = performance.now() + timeoutMs
    const check = () => {
      if (predicate()) return resolve()
      if (performance.now() > deadline) return reject(new Error("condition not met"))
      setTimeout(check, 1)
    }
    check()
  })

const consumeEffect = async (
  events: Stream.Stream<StreamEvent.StreamEvent, LlmError.LlmError>,
  consumer: Consumer,
  ledger: Ledger.Service
): Promise<Outcome> => {
  const seen: Array<StreamEvent.StreamEvent> = []
  const record = Stream.runForEach(events, (event) => Effect.sync(() => void seen.push(event)))
  const run = <A, E>(effect: Effect.Effect<A, E>) =>
    Effect.runPromiseExit(Effect.provideService(effect, Ledger.Ledger, ledger))
  const outcome = (exit: Exit.Exit<unknown, unknown>, clean: boolean): Outcome => ({
    events: seen,
    failure: Exit.isFailure(exit) ? exit.cause : undefined,
    clean
  })
  switch (consumer.kind) {
    case "readAll":
      return outcome(await run(record), true)
    case "take": {
      const exit = await run(Stream.runCollect(Stream.take(events, consumer.after)))
      if (Exit.isSuccess(exit)) seen.push(...Chunk.toReadonlyArray(exit.value))
      return outcome(exit, false)
    }
    case "fail": {
      let n = 0
      const exit = await run(
        Stream.runForEach(events, (event) => {
          seen.push(event)
          return ++n === consumer.after ? Effect.fail("consumer failure" as const) : Effect.void
        })
      )
      const consumerFailed = Exit.isFailure(exit) && Option.contains(Cause.failureOption(exit.cause), "consumer failure")
      return { events: seen, failure: consumerFailed ? undefined : Exit.isFailure(exit) ? exit.cause : undefined, clean: false }
    }
    case "interrupt": {
      const fiber = Effect.runFork(Effect.provideService(record, Ledger.Ledger, ledger))
      await until(() => seen.length >= consumer.after || fiber.unsafePoll() !== null).catch(() => undefined)
      const exit = await Effect.runPromise(Fiber.interrupt(fiber))
      return outcome(Exit.isInterrupted(exit) ? Exit.void : exit, false)
    }
    default:
      throw new Error("not an Effect consumer")
  }
}

const consumeFacade = async (
  provider: Provider.Provider,
  request: ChatRequest.Input,
  events: (s: Stream.Stream<StreamEvent.StreamEvent, LlmError.LlmError>) => Stream.Stream<StreamEvent.StreamEvent, LlmError.LlmError>,
  consumer: Extract<Consumer, { kind: "break" | "abort" | "throw" }>,
  ledger: Ledger.Service
): Promise<Outcome> => {
  const seen: Array<StreamEvent.StreamEvent> = []
  const controller = new AbortController()
  try {
    for await (const event of streamText(provider, request, { ledger, signal: controller.signal, pipe: events })) {
      seen.push(event)
      if (seen.length === consumer.after) {
        if (consumer.kind === "break") break
        if (consumer.kind === "throw") throw new Error("thrown in loop")
        controller.abort()
      }
    }
    return { events: seen, failure: undefined, clean: consumer.after > seen.length }
  } catch (error) {
    const ours = (error as Error)?.message === "thrown in loop" || (error as Error)?.name === "AbortError"
    return { events: seen, failure: ours ? undefined : error, clean: false }
  }
}

describe("invariants over random providers, faults, consumers and policies", () => {
  it("hold for every case", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...formats),
        Requests.request,
        Arbitraries.script({ maxEvents: 12, fault: Arbitraries.fault(8), faultRate: 0.6 }).map(withoutOutputToolNames),
        consumerArb,
        fc.boolean(),
        async (format, request, script, consumer, withRetry) => {
          server.reset()
          server.setScript({ ...script, delayMs: 1 })
          const ledger = Ledger.make()
          const provider = providers[format]
          // every case is bounded in time: a hang or a stall becomes a Timeout
          const policies = (s: Stream.Stream<StreamEvent.StreamEvent, LlmError.LlmError>) => {
            const bounded = s.pipe(timeouts({ firstToken: 400, idle: 300, total: 3_000 }))
            return withRetry ? bounded.pipe(retry({ times: 1, schedule: Schedule.spaced(1) })) : bounded
          }
          const outcome = consumer.kind === "break" || consumer.kind === "abort" || consumer.kind === "throw"
            ? await consumeFacade(provider, request, policies, consumer, ledger)
            : await consumeEffect(policies(provider.stream(request)), consumer, ledger)

          // 0. what the adapter's table does not list is refused before connecting
          const decoded = Effect.runSync(ChatRequest.decode(provider.name, request))
          const refusal = Capabilities.check(provider.name, Declared.tables[format], decoded)
          const failure = Cause.isCause(outcome.failure)
            ? Option.getOrUndefined(Cause.failureOption(outcome.failure))
            : outcome.failure
          const refused = refusal !== undefined ||
            (failure instanceof LlmError.InvalidRequest && server.stats().total === 0)
          if (refusal !== undefined) {
            expect(failure, `${format}: not refused: ${refusal.message}`).toBeInstanceOf(LlmError.InvalidRequest)
            expect((failure as LlmError.InvalidRequest).message).toBe(refusal.message)
            expect(server.stats().total).toBe(0)
            expect(outcome.events).toEqual([])
            tally.refusedByTable++
          } else if (refused) {
            // the adapter's own rules (e.g. Anthropic: no thinking with a forced tool), not its table
            expect(outcome.events).toEqual([])
            expect((failure as LlmError.InvalidRequest).message).not.toContain("the request uses what")
            tally.refusedByAdapter++
          } else {
            tally.streamed++
          }

          // 1. released: nothing in flight at the server, nothing live in the ledger, exactly once
          await server.waitFor((s) => s.inflight === 0, { timeoutMs: 2_000, message: `${format}: response left in flight` })
          await Effect.runPromise(Effect.provideService(Ledger.awaitNoneLive(1_000), Ledger.Ledger, ledger))
          const snapshot = ledger.snapshot()
          expect(snapshot.released).toBe(snapshot.opened)
          expect(ledger.doubleReleases()).toBe(0)
          expect(snapshot.opened).toBe(server.stats().total)

          // 3. a prefix of what was sent, in order, never duplicated
          const text = outcome.events.flatMap((e) => (e._tag === "TextDelta" ? [e.text] : [])).join("")
          expect(sentText(script).startsWith(text)).toBe(true)

          // 4. a clean, fault-free read ends with exactly one Finish, last; failures are typed
          const finishes = outcome.events.filter((e) => e._tag === "Finish").length
          expect(finishes).toBeLessThanOrEqual(1)
          if (finishes === 1) expect(outcome.events.at(-1)?._tag).toBe("Finish")
          if (outcome.clean && !refused && script.fault === undefined && consumer.kind === "readAll") {
            expect(outcome.failure).toBeUndefined()
            expect(finishes).toBe(1)
            expect(text).toBe(sentText(script))
          }
          if (outcome.failure !== undefined) {
            expect(LlmError.isLlmError(failure), `not a typed LlmError: ${String(outcome.failure)}`).toBe(true)
          }
          expect(unhandled).toEqual([])
        }
      ),
      { numRuns }
    )
    // the arbitrary reaches both sides of the table
    if (numRuns >= 40) {
      expect(tally.streamed).toBeGreaterThan(0)
      expect(tally.refusedByTable).toBeGreaterThan(0)
    }
  }, 300_000)
})
