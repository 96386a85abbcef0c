/**
 * The embedded default across a "process restart": a store on a SQLite file
 * is closed (its layer, and so its connection, released) and a new one opened
 * on the same file finds every committed turn and numbers on.
 */
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import { SqliteSessionStore } from "@streamvisor/cluster/sqlite"
import { SessionStore } from "@streamvisor/supervisor"
import { removeTempDir, tempFile } from "./support/Backends.js"
import { commitAll, richMessages, turnMessages } from "./support/Behaviour.js"

afterAll(removeTempDir)

const withFile = <A, E>(filename: string, f: (store: SessionStore.SessionStore) => Effect.Effect<A, E>) =>
  Effect.flatMap(SessionStore.SessionStore, f).pipe(
    Effect.provide(SqliteSessionStore.layer({ filename })),
    Effect.scoped
  )

describe("SqliteSessionStore", () => {
  it.live("a reopened file has every committed turn, and the next commit follows the last one", () =>
    Effect.gen(function*() {
      const filename = tempFile()
      const first = yield* withFile(filename, (store) =>
        Effect.gen(function*() {
          yield* store.create({ id: "alice", provider: "anthropic", model: "m", system: "sys", options: { t: 1 }, maxTurns: 3 })
          yield* commitAll(store, "alice", [1, 2, 3, 4])
          yield* store.commitTurn("alice", { after: 4, turn: 5, messages: richMessages, usage: { inputTokens: 1 } })
          yield* store.create({ id: "bob", provider: "openai", model: "m2" })
          return Option.getOrThrow(yield* store.load("alice"))
        }))
      expect(first.turns.map((t) => t.turn)).toEqual([3, 4, 5])

      // "Restart": a new layer, a new connection, the same file.
      const second = yield* withFile(filename, (store) =>
        Effect.gen(function*() {
          const reloaded = Option.getOrThrow(yield* store.load("alice"))
          expect(reloaded).toEqual(first)
          expect((yield* store.list).map((s) => s.id)).toEqual(["alice", "bob"])
          // A writer that still thinks turn 4 is last is refused; the resumed one goes on.
          const stale = yield* Effect.flip(store.commitTurn("alice", { after: 4, turn: 5, messages: [] }))
          expect(stale.reason).toBe("Conflict")
          yield* store.commitTurn("alice", { after: reloaded.lastTurn, turn: 6, messages: turnMessages(6) })
          return Option.getOrThrow(yield* store.load("alice"))
        }))
      expect(second.lastTurn).toBe(6)
      expect(second.turns.map((t) => t.turn)).toEqual([4, 5, 6])
      expect(second.turns[1]!.messages).toEqual(richMessages)

      const third = yield* withFile(filename, (store) => Effect.map(store.load("alice"), Option.getOrThrow))
      expect(third).toEqual(second)
    }))
})
