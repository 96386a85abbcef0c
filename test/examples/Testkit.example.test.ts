/**
 * Example: testing your own code with `@streamvisor/testkit`.
 *
 *   npx vitest run test/examples/Testkit.example.test.ts
 *
 * (It is part of `npm test` too.) The code under test is `firstSentence`, a
 * function of "your" application that streams an answer and stops reading at
 * the first full stop. The tests run it against `FakeLlmServer` — a real HTTP
 * server on 127.0.0.1 speaking Anthropic's wire format, so the real SDK runs —
 * and check what users see and that nothing leaked:
 *
 * - `Ledger`: a fresh one per test (`Ledger.layer`); no stream may stay live.
 * - `LeakCheck.settled`: every response the server started ended exactly
 *   once, and none is in flight.
 */
import { describe, expect, it } from "@effect/vitest"
import { Anthropic } from "@streamvisor/anthropic"
import { Ledger, type Provider, timeouts } from "@streamvisor/core"
import { FakeLlmServer, LeakCheck, Script } from "@streamvisor/testkit"
import { Effect, Option, Stream } from "effect"

// ---------------------------------------------------------------------------
// The code under test
// ---------------------------------------------------------------------------

/** The first sentence of the answer; reading stops there (the rest is never downloaded). */
const firstSentence = (provider: Provider.Provider, question: string) =>
  provider.stream({ model: "claude-haiku-4-5", messages: [{ role: "user", content: question }] }).pipe(
    timeouts({ firstToken: "300 millis", idle: "300 millis", provider: provider.name }),
    Stream.filterMap((event) => (event._tag === "TextDelta" ? Option.some(event.text) : Option.none())),
    Stream.scan("", (text, delta) => text + delta),
    Stream.takeUntil((text) => text.includes(".")),
    Stream.runLast,
    Effect.map((last) => {
      const text = Option.getOrElse(last, () => "")
      const end = text.indexOf(".")
      return end < 0 ? text : text.slice(0, end + 1)
    })
  )

// ---------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------

/** A fake server for one test (closed with the test's scope) and a provider pointed at it. */
const setup = Effect.gen(function*() {
  const server = yield* FakeLlmServer.make()
  const provider = Anthropic.make({ apiKey: "test-key", baseURL: server.baseUrls.anthropic })
  return { server, provider, mark: LeakCheck.mark(server) }
})

/** After a test: nothing live in the ledger, every response ended, none in flight. */
const assertNoLeak = (mark: LeakCheck.Mark) =>
  Effect.gen(function*() {
    yield* Ledger.awaitNoneLive("1 second")
    return yield* Effect.promise(() => LeakCheck.settled(mark))
  })

describe("firstSentence (example of testing with @streamvisor/testkit)", () => {
  // `scopedLive`: a scope for the server, and the real clock for `timeouts`.
  it.scopedLive("returns the first sentence and stops reading there", () =>
    Effect.gen(function*() {
      const { mark, provider, server } = yield* setup
      // 40 slow deltas; the first sentence ends at the third one.
      server.setScript(Script.text(["Yes", " it", " is.", " And", ...Script.words(36)], { delayMs: 10 }))

      expect(yield* firstSentence(provider, "Is it?")).toBe("Yes it is.")

      // The server was cut by the client: the rest of the answer was never sent.
      const ended = yield* assertNoLeak(mark)
      expect(ended).toEqual({ started: 1, completed: 0, closedByClient: 1, closedByServer: 0 })
      expect(server.requests[0]?.body).toMatchObject({ messages: [{ role: "user", content: "Is it?" }] })
    }).pipe(Effect.provide(Ledger.layer)))

  it.scopedLive("fails with a typed error when the provider answers 529", () =>
    Effect.gen(function*() {
      const { mark, provider, server } = yield* setup
      server.setScript(Script.status(529))

      const error = yield* Effect.flip(firstSentence(provider, "Hello?"))
      expect(error._tag).toBe("Overloaded")
      expect(error.retryable).toBe(true)
      yield* assertNoLeak(mark)
    }).pipe(Effect.provide(Ledger.layer)))

  it.scopedLive("times out on a server that hangs, and releases the connection", () =>
    Effect.gen(function*() {
      const { mark, provider, server } = yield* setup
      server.setScript(Script.text(10, { fault: { type: "hang", afterEvents: 1 } }))

      const error = yield* Effect.flip(firstSentence(provider, "Hello?"))
      expect(error).toMatchObject({ _tag: "Timeout", phase: "idle" })
      const ended = yield* assertNoLeak(mark)
      expect(ended.closedByClient).toBe(1)
    }).pipe(Effect.provide(Ledger.layer)))
})
