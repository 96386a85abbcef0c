/**
 * Bad input is refused where it is given (issue 13 §2): `send` / `tell`
 * text, `spawn` and `make` options, each with a typed error carrying a
 * readable message; nothing is enqueued, spawned or counted.
 */
import { describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit, Option, Schedule, Stream, TestClock } from "effect"
import { type Session, SessionError, Supervisor, SupervisorError } from "../src/index.js"
import * as Fake from "./support/Fake.js"
import { infoOf, waitUntil, withSupervisor } from "./support/Harness.js"

const failure = <A, E>(exit: Exit.Exit<A, E>): unknown =>
  Exit.isFailure(exit) ? Option.getOrUndefined(Cause.failureOption(exit.cause)) : undefined

describe("send and tell take a non-empty string", () => {
  it.effect("tell(42), tell(\"\"), send(\"\") fail the call itself; no turn number used, history untouched", () =>
    Effect.gen(function*() {
      const fake = Fake.make()
      yield* withSupervisor({}, (supervisor) =>
        Effect.gen(function*() {
          const ref = yield* supervisor.spawn({ id: "v", provider: fake.provider, model: "m" })
          const told = failure(yield* Effect.exit(ref.tell(42 as never)))
          expect(told).toBeInstanceOf(SessionError.InvalidMessage)
          expect((told as Error).message).toBe("session v: invalid message: expected a string, got number")
          expect(failure(yield* Effect.exit(ref.tell("")))).toMatchObject({ _tag: "InvalidMessage", issue: "the text is empty" })
          const sent = failure(yield* Effect.exit(Stream.runDrain(ref.send(""))))
          expect(sent).toBeInstanceOf(SessionError.InvalidMessage)
          expect(SessionError.isSessionError(sent)).toBe(true)
          expect(yield* ref.history).toEqual([])
          expect(fake.requests).toHaveLength(0)
          expect(yield* ref.tell("fine")).toBe(1)
        }))
    }))
})

describe("spawn checks its options", () => {
  const cases: ReadonlyArray<readonly [string, (p: Fake.Fake["provider"]) => unknown, RegExp]> = [
    ["a provider that is not one", () => ({ provider: {}, model: "m" }), /provider/],
    ["an empty model", (p) => ({ provider: p, model: "" }), /model/],
    ["nextTurn 0", (p) => ({ provider: p, model: "m", nextTurn: 0 }), /nextTurn/],
    ["an unknown restart type", (p) => ({ provider: p, model: "m", restart: "always" }), /restart/],
    ["an idleTimeout that is no duration", (p) => ({ provider: p, model: "m", idleTimeout: "soon" }), /idleTimeout/],
    ["no model for a new session", (p) => ({ provider: p }), /model/],
    ["a temperature out of range", (p) => ({ provider: p, model: "m", options: { temperature: 5 } }), /temperature/],
    ["maxTurns 0", (p) => ({ provider: p, model: "m", maxTurns: 0 }), /maxTurns/]
  ]
  for (const [label, options, field] of cases) {
    it.effect(`${label}: InvalidOptions naming the field, nothing spawned`, () =>
      Effect.gen(function*() {
        const fake = Fake.make()
        yield* withSupervisor({ escalate: true }, (supervisor) =>
          Effect.gen(function*() {
            const error = failure(yield* Effect.exit(supervisor.spawn(options(fake.provider) as Session.SpawnOptions)))
            expect(error).toBeInstanceOf(SupervisorError.InvalidOptions)
            expect((error as Error).message).toMatch(/^spawn: invalid options: /)
            expect((error as Error).message).toMatch(field)
            expect(yield* supervisor.snapshot).toMatchObject({ state: "running", sessions: [], running: 0 })
          }))
      }))
  }
})

describe("Supervisor.make checks its options", () => {
  for (const [label, options] of [
    ["maxConcurrentStreams 0", { maxConcurrentStreams: 0 }],
    ["maxRestarts -1", { maxRestarts: -1 }],
    ["a window that is no duration", { window: "a while" }],
    ["a store that is not one", { store: { load: 1 } }]
  ] as const) {
    it.effect(`${label}: InvalidOptions`, () =>
      Effect.gen(function*() {
        const error = failure(yield* Effect.exit(Effect.scoped(Supervisor.make(options as Supervisor.Options))))
        expect(error).toBeInstanceOf(SupervisorError.InvalidOptions)
        expect((error as Error).message).toMatch(/^Supervisor\.make: invalid options: /)
      }))
  }
})

describe("restarts and status agree", () => {
  it.effect("while restarting, restarts already counts the restart; a crash meanwhile is a no-op", () =>
    Effect.gen(function*() {
      const fake = Fake.make()
      yield* withSupervisor({ backoff: Schedule.spaced("1 second") }, (supervisor) =>
        Effect.gen(function*() {
          const ref = yield* supervisor.spawn({ id: "r", provider: fake.provider, model: "m" })
          yield* ref.crash()
          yield* waitUntil(Effect.map(infoOf(supervisor, "r"), (i) => i.status === "restarting"), "restarting")
          expect(yield* infoOf(supervisor, "r")).toMatchObject({ status: "restarting", restarts: 1 })
          yield* ref.crash() // already dead: nothing more
          expect(yield* infoOf(supervisor, "r")).toMatchObject({ status: "restarting", restarts: 1 })
          yield* TestClock.adjust("1 second")
          yield* waitUntil(Effect.map(infoOf(supervisor, "r"), (i) => i.status === "idle"), "restarted")
          expect(yield* infoOf(supervisor, "r")).toMatchObject({ status: "idle", restarts: 1 })
        }))
    }))
})
