/**
 * Property: for random compositions of policies over random fault scripts, the
 * events a consumer sees are a prefix of ONE attempt's events, never
 * duplicated, and every acquired stream is released exactly once.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { fallback, hedge, Ledger, Provider, retry, timeouts } from "@streamvisor/core"
import { LlmError } from "@streamvisor/core"
import type { StreamEvent } from "@streamvisor/core"
import { FakeLlmServer } from "@streamvisor/testkit"
import type { Script } from "@streamvisor/testkit"
import { Cause, Chunk, Effect, Exit, Option, Schedule, Stream } from "effect"
import * as fc from "fast-check"
import { Agent } from "undici"
import * as NdjsonProvider from "./support/NdjsonProvider.js"

const numRuns = Number(process.env.STREAMVISOR_PROPERTY_RUNS ?? 25)

let server: FakeLlmServer.Server
let agent: Agent
beforeAll(async () => {
  server = await FakeLlmServer.start()
})
afterAll(async () => {
  await server.close()
})

type FaultSpec =
  | { readonly kind: "none" }
  | { readonly kind: "status"; readonly status: 429 | 500 | 503 | 529 | 401 }
  | { readonly kind: "disconnect" | "malformed" | "errorEvent" | "hang"; readonly after: number }

const faultArb: fc.Arbitrary<FaultSpec> = fc.oneof(
  fc.constant({ kind: "none" as const }),
  fc.record({ kind: fc.constant("status" as const), status: fc.constantFrom(429 as const, 500 as const, 503 as const, 529 as const, 401 as const) }),
  fc.record({
    kind: fc.constantFrom("disconnect" as const, "malformed" as const, "errorEvent" as const, "hang" as const),
    after: fc.integer({ min: 0, max: 4 })
  })
)

type PolicySpec =
  | { readonly kind: "timeouts" }
  | { readonly kind: "retry"; readonly times: number }
  | { readonly kind: "fallback" }
  | { readonly kind: "hedge" }

const policyArb: fc.Arbitrary<PolicySpec> = fc.oneof(
  fc.constant({ kind: "timeouts" as const }),
  fc.record({ kind: fc.constant("retry" as const), times: fc.integer({ min: 0, max: 3 }) }),
  fc.constant({ kind: "fallback" as const }),
  fc.constant({ kind: "hedge" as const })
)

/** Attempt `n` plays `events` deltas named `a<n>-<i>` and then its fault. */
const scriptFor = (n: number, events: number, fault: FaultSpec): Script.Script => {
  const base = { events: Array.from({ length: events }, (_, i) => ({ type: "text" as const, text: `a${n}-${i} ` })), delayMs: 1 }
  switch (fault.kind) {
    case "none":
      return base
    case "status":
      return { ...base, fault: { type: "status", status: fault.status } }
    case "hang":
      return { ...base, fault: { type: "hang", afterEvents: fault.after } }
    default:
      return { ...base, fault: { type: fault.kind, afterEvents: fault.after } }
  }
}

const compose = (policies: ReadonlyArray<PolicySpec>): Provider.Provider => {
  let provider: Provider.Provider = NdjsonProvider.make({ url: server.url, agent: () => agent })
  for (const policy of policies) {
    const inner = provider
    switch (policy.kind) {
      case "timeouts":
        provider = Provider.make({
          name: "timeouts",
          stream: (request) => inner.stream(request).pipe(timeouts({ firstToken: 300, idle: 150, total: 2_000 }))
        })
        break
      case "retry":
        provider = Provider.make({
          name: "retry",
          stream: (request) =>
            inner.stream(request).pipe(retry({ times: policy.times, schedule: Schedule.spaced("1 millis") }))
        })
        break
      case "fallback":
        provider = fallback([inner, inner])
        break
      case "hedge":
        provider = hedge([inner, inner], { after: "30 millis" })
        break
    }
  }
  // the outermost bound keeps a hang from stalling the run when no timeouts policy was drawn
  return Provider.make({
    name: "bounded",
    stream: (request) => provider.stream(request).pipe(timeouts({ total: 3_000 }))
  })
}

describe("policy composition (property)", () => {
  it("sees a prefix of one attempt, without duplicates, and releases every stream once", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(policyArb, { maxLength: 3 }),
        fc.array(fc.record({ events: fc.integer({ min: 0, max: 5 }), fault: faultArb }), { minLength: 1, maxLength: 6 }),
        fc.option(fc.integer({ min: 1, max: 6 }), { nil: undefined }),
        async (policies, attempts, takeN) => {
          server.reset()
          agent = new Agent()
          let n = 0
          server.setScript(() => {
            const spec = attempts[n] ?? { events: 3, fault: { kind: "none" as const } }
            return scriptFor(n++, spec.events, spec.fault)
          })
          const ledger = Ledger.make()
          let events = compose(policies).stream({ model: "m", messages: [{ role: "user", content: "hi" }] })
          if (takeN !== undefined) events = Stream.take(events, takeN)
          const exit = await Effect.runPromise(
            Stream.runCollect(events).pipe(Effect.provideService(Ledger.Ledger, ledger), Effect.exit)
          )
          const seen = Exit.isSuccess(exit)
            ? Chunk.toReadonlyArray(exit.value)
            : []
          const texts = seen.flatMap((e: StreamEvent.StreamEvent) => (e._tag === "TextDelta" ? [e.text] : []))
          const attemptIds = new Set(texts.map((t) => t.split("-")[0]))
          expect(attemptIds.size).toBeLessThanOrEqual(1)
          texts.forEach((t, i) => expect(t.endsWith(`-${i} `)).toBe(true))
          if (Exit.isFailure(exit)) {
            // every failure is one typed LlmError: no defect, no interruption
            const failure = Cause.failureOption(exit.cause)
            expect(Option.isSome(failure) && LlmError.isLlmError(failure.value)).toBe(true)
            expect(Cause.isDie(exit.cause)).toBe(false)
          }
          await server.waitFor((s) => s.inflight === 0, { timeoutMs: 2_000 })
          await agent.close()
          await server.waitFor((s) => s.open === 0, { timeoutMs: 2_000 })
          const snapshot = ledger.snapshot()
          expect(snapshot.live).toEqual([])
          expect(snapshot.released).toBe(snapshot.opened)
          expect(snapshot.opened).toBe(server.stats().total)
          expect(ledger.doubleReleases()).toBe(0)
        }
      ),
      { numRuns, endOnFailure: true }
    )
  }, 120_000)

  it("every failure is a typed LlmError", async () => {
    agent = new Agent()
    server.reset()
    server.setScript({ fault: { type: "malformed", afterEvents: 1 } })
    const exit = await Effect.runPromise(
      Stream.runCollect(compose([{ kind: "retry", times: 1 }]).stream({ model: "m", messages: [{ role: "user", content: "x" }] })).pipe(
        Effect.flip,
        Effect.provideService(Ledger.Ledger, Ledger.make())
      )
    )
    expect((exit as LlmError.LlmError)._tag).toBe("ProtocolError")
    await agent.close()
  })
})
