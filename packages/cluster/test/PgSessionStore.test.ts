/**
 * PostgreSQL as a deployment uses it: several runners, each with its own pool,
 * on one database. Skipped, with the reason printed, without STREAMVISOR_PG_URL.
 */
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Either, Layer, Option, Redacted } from "effect"
import { PgSessionStore } from "@streamvisor/cluster/pg"
import { SessionStore } from "@streamvisor/supervisor"
import { pgSchema, pgSkipReason, pgUrl } from "./support/Backends.js"
import { commitAll, turnMessages } from "./support/Behaviour.js"

if (pgUrl === undefined) console.log(`[cluster] PgSessionStore suite skipped: ${pgSkipReason}`)

/** Two stores ("runners"), each on its own pool, in one fresh schema. */
class Runners extends Effect.Tag("test/Runners")<
  Runners,
  { readonly a: SessionStore.SessionStore; readonly b: SessionStore.SessionStore }
>() {}

const store = (url: string) =>
  Layer.build(PgSessionStore.layer({ url: Redacted.make(url), maxConnections: 4 })).pipe(
    Effect.map((context) => Context.get(context, SessionStore.SessionStore))
  )

const runners = (url: string) =>
  pgSchema(url, (schemaUrl) =>
    Layer.scoped(
      Runners,
      // One after the other: the first runs the migrations, the second finds them applied.
      Effect.gen(function*() {
        const a = yield* store(schemaUrl)
        const b = yield* store(schemaUrl)
        return { a, b }
      })
    ))

describe.skipIf(pgUrl === undefined)("PgSessionStore", () => {
  it.live("two runners racing to commit after the same turn: one wins, the other gets Conflict", () =>
    Effect.gen(function*() {
      const { a, b } = yield* Runners
      yield* a.create({ id: "s", provider: "anthropic", model: "m" })
      for (const [after, turn] of [[0, 1], [1, 2], [2, 3]] as const) {
        const outcomes = yield* Effect.all(
          [a, b, a, b].map((runner, i) =>
            Effect.either(runner.commitTurn("s", { after, turn, messages: [{ role: "user", content: `r${i}` }] }))
          ),
          { concurrency: "unbounded" }
        )
        expect(outcomes.filter(Either.isRight)).toHaveLength(1)
        expect(outcomes.filter(Either.isLeft).map((e) => e.left.reason)).toEqual(["Conflict", "Conflict", "Conflict"])
      }
      const seenByA = Option.getOrThrow(yield* a.load("s"))
      expect(Option.getOrThrow(yield* b.load("s"))).toEqual(seenByA)
      expect(seenByA.turns.map((t) => t.turn)).toEqual([1, 2, 3])
    }).pipe(Effect.provide(runners(pgUrl!))))

  it.live("what one runner commits, another resumes", () =>
    Effect.gen(function*() {
      const { a, b } = yield* Runners
      yield* a.create({ id: "moved", provider: "openai", model: "gpt", system: "s", options: { temperature: 0 } })
      yield* commitAll(a, "moved", [1, 2])
      const resumed = Option.getOrThrow(yield* b.load("moved"))
      expect(resumed).toMatchObject({ lastTurn: 2, system: "s", options: { temperature: 0 } })
      yield* b.commitTurn("moved", { after: resumed.lastTurn, turn: 3, messages: turnMessages(3) })
      expect(Option.getOrThrow(yield* a.load("moved")).turns.map((t) => t.turn)).toEqual([1, 2, 3])
    }).pipe(Effect.provide(runners(pgUrl!))))
})
