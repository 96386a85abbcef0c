/**
 * `Session.Event` is a Schema: every member, with every kind of error a turn
 * can fail with, encodes to plain JSON and decodes back to the same event
 * (errors as instances of their classes); the events a real session publishes
 * (a committed turn, a failed one, a crash and restart, termination) survive
 * the same trip. The TypeScript type is the one it was before it was a Schema.
 */
import { describe, expect, it } from "@effect/vitest"
import { LlmError, StreamEvent } from "@streamvisor/core"
import { Chunk, Duration, Effect, Fiber, Schedule, Schema, Stream } from "effect"
import { expectTypeOf } from "vitest"
import { Session, SessionError } from "../src/index.js"
import * as Fake from "./support/Fake.js"
import { infoOf, waitUntil, withSupervisor } from "./support/Harness.js"

/** The declaration `Session.Event` had before it was a Schema. */
type Declared =
  | { readonly _tag: "TurnStarted"; readonly turn: number; readonly text: string }
  | { readonly _tag: "TurnEvent"; readonly turn: number; readonly event: StreamEvent.StreamEvent }
  | { readonly _tag: "TurnCommitted"; readonly turn: number }
  | { readonly _tag: "TurnFailed"; readonly turn: number; readonly error: LlmError.LlmError | SessionError.SessionError }
  | { readonly _tag: "TurnCancelled"; readonly turn: number }
  | { readonly _tag: "Restarting"; readonly restarts: number; readonly defect: unknown }
  | { readonly _tag: "Terminated"; readonly status: "stopped" | "failed" }

/** Encode, through JSON text (as a wire would carry it), and decode. */
const roundTrip = (events: ReadonlyArray<Session.Event>) => {
  const encoded = Schema.encodeSync(Schema.Array(Session.Event))(events)
  const text = JSON.stringify(encoded)
  const decoded = Schema.decodeUnknownSync(Schema.Array(Session.Event))(JSON.parse(text))
  return { encoded, text, decoded }
}

/** The same event: same tag and fields; errors of the same class with the same fields and message. */
const expectSame = (decoded: Session.Event, original: Session.Event) => {
  expect(decoded._tag).toBe(original._tag)
  if (decoded._tag === "TurnFailed" && original._tag === "TurnFailed") {
    expect(decoded.turn).toBe(original.turn)
    expect(decoded.error).toBeInstanceOf(original.error.constructor)
    expect(decoded.error.message).toBe(original.error.message)
    expect(LlmError.isLlmError(decoded.error)).toBe(LlmError.isLlmError(original.error))
    expect(SessionError.isSessionError(decoded.error)).toBe(SessionError.isSessionError(original.error))
    const { cause: _c, defect: _d, ...fields } = original.error as unknown as Record<string, unknown>
    expect(decoded.error).toMatchObject(fields)
  } else if (decoded._tag === "Restarting" && original._tag === "Restarting") {
    expect(decoded.restarts).toBe(original.restarts)
    expect(decoded.defect).toBeInstanceOf(Error)
    expect((decoded.defect as Error).message).toBe((original.defect as Error).message)
  } else {
    expect(decoded).toEqual(original)
  }
}

const llmErrors: ReadonlyArray<LlmError.LlmError> = [
  new LlmError.RateLimited({ provider: "anthropic", retryAfter: Duration.seconds(3) }),
  new LlmError.Overloaded({ provider: "anthropic" }),
  new LlmError.Unauthorized({ provider: "openai", status: 401 }),
  new LlmError.InvalidRequest({ provider: "google", message: "google: bad request" }),
  new LlmError.ServerError({ provider: "ollama", status: 503 }),
  new LlmError.Timeout({ provider: "openai", phase: "idle" }),
  new LlmError.Disconnected({ provider: "anthropic" }),
  new LlmError.ProtocolError({ provider: "google" }),
  new LlmError.Unknown({ provider: "ollama", cause: new TypeError("boom") })
]

const sessionErrors: ReadonlyArray<SessionError.SessionError> = [
  new SessionError.SessionStopped({ sessionId: "s", turn: 3, reason: "shutdown" }),
  new SessionError.SessionStopped({ sessionId: "s", reason: "idle" }),
  new SessionError.SessionCrashed({ sessionId: "s", turn: 2, defect: new Error("provider died") }),
  new SessionError.InvalidMessage({ sessionId: "s", issue: "empty text" })
]

const everyMember: ReadonlyArray<Session.Event> = [
  { _tag: "TurnStarted", turn: 1, text: "hello" },
  ...[
    StreamEvent.textDelta("re: "),
    StreamEvent.reasoningDelta("hm"),
    StreamEvent.toolCallStart("c1", "get"),
    StreamEvent.toolCallDelta("c1", "{\"a\":"),
    StreamEvent.toolCallEnd("c1", "get", { a: 1 }),
    StreamEvent.usage(10, 2, { cachedInputTokens: 4 }),
    StreamEvent.finish("stop", "end_turn")
  ].map((event): Session.Event => ({ _tag: "TurnEvent", turn: 1, event })),
  { _tag: "TurnCommitted", turn: 1 },
  ...[...llmErrors, ...sessionErrors].map((error): Session.Event => ({ _tag: "TurnFailed", turn: 2, error })),
  { _tag: "TurnCancelled", turn: 3 },
  { _tag: "Restarting", restarts: 1, defect: new Error("provider died") },
  { _tag: "Terminated", status: "failed" }
]

describe("Session.Event as a Schema", () => {
  it("keeps the type users had", () => {
    expectTypeOf<Session.Event>().toEqualTypeOf<Declared>()
  })

  it("every member, with every error a turn can fail with, goes to JSON and back", () => {
    const { decoded, encoded, text } = roundTrip(everyMember)
    expect(decoded).toHaveLength(everyMember.length)
    decoded.forEach((event, i) => expectSame(event, everyMember[i]))
    // Encoding what was decoded gives the same JSON: nothing is lost on the way.
    expect(Schema.encodeSync(Schema.Array(Session.Event))(decoded)).toEqual(encoded)
    // Plain JSON: no class instances, a Duration as its encoding, the Error cause as { name, message }.
    expect(JSON.parse(text)).toEqual(encoded)
    const rateLimited = encoded.find((e) => e._tag === "TurnFailed" && e.error._tag === "RateLimited")
    expect(rateLimited).toMatchObject({ error: { retryAfter: expect.anything() } })
    expect(text).toContain("\"name\":\"TypeError\",\"message\":\"boom\"")
  })

  it("a value that is not an event fails to decode", () => {
    const decode = Schema.decodeUnknownEither(Session.Event)
    expect(decode({ _tag: "TurnStarted", turn: "one", text: "x" })._tag).toBe("Left")
    expect(decode({ _tag: "TurnFailed", turn: 1, error: { _tag: "Nope" } })._tag).toBe("Left")
    expect(decode({ _tag: "Terminated", status: "idle" })._tag).toBe("Left")
  })

  it.effect("the events a real session publishes survive the trip", () =>
    Effect.gen(function*() {
      // "bad" fails with a ServerError; "boom" dies (a crash, then a restart).
      const fake = Fake.make((text) => (text === "bad" ? Fake.fail : text === "boom" ? Fake.die : Fake.ok))
      const { value: seen } = yield* withSupervisor({ restart: "permanent", backoff: Schedule.forever }, (supervisor) =>
        Effect.gen(function*() {
          const ref = yield* supervisor.spawn({ id: "e", provider: fake.provider, model: "m" })
          const collecting = yield* Effect.fork(Stream.runCollect(Session.eventStream(ref)))
          yield* waitUntil(Effect.map(Fiber.status(collecting), (s) => s._tag === "Suspended"), "subscribed")
          yield* ref.tell("a")
          yield* ref.tell("bad")
          yield* ref.tell("boom")
          yield* waitUntil(
            Effect.map(infoOf(supervisor, "e"), (i) => i.restarts === 1 && i.status === "idle" && i.pending === 0),
            "crashed, restarted and settled"
          )
          yield* ref.stop
          return Chunk.toReadonlyArray(yield* Fiber.join(collecting))
        }))
      expect(new Set(seen.map((e) => e._tag))).toEqual(
        new Set(["TurnStarted", "TurnEvent", "TurnCommitted", "TurnFailed", "Restarting", "Terminated"])
      )
      const { decoded } = roundTrip(seen)
      decoded.forEach((event, i) => expectSame(event, seen[i]))
      const failed = decoded.filter((e) => e._tag === "TurnFailed").map((e) => e.error._tag)
      expect(failed).toContain("ServerError")
    }))
})
