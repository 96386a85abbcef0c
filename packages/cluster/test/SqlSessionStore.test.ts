/**
 * The shared SessionStore behaviour against every implementation, and what
 * only the SQL store has: migrations, and the one-transaction commit (a
 * failure forced inside the transaction, after the turn's row was written,
 * leaves the session exactly as it was).
 */
import { afterAll, describe, expect, it } from "@effect/vitest"
import * as SqlClient from "@effect/sql/SqlClient"
import { Effect, Layer, Option } from "effect"
import { SqlSessionStore } from "@streamvisor/cluster"
import { SessionStore } from "@streamvisor/supervisor"
import { pg, pgSchema, pgSkipReason, pgUrl, removeTempDir, sqlite, type SqlStore, tempFile } from "./support/Backends.js"
import { behaviour, commitAll } from "./support/Behaviour.js"

afterAll(removeTempDir)

if (pgUrl === undefined) console.log(`[cluster] PostgreSQL suites skipped: ${pgSkipReason}`)

const backends: ReadonlyArray<{
  readonly name: string
  readonly dialect: "sqlite" | "pg"
  readonly fresh: () => Layer.Layer<SqlStore, unknown>
  readonly skip: boolean
}> = [
  { name: "SQLite :memory:", dialect: "sqlite", fresh: () => sqlite(":memory:"), skip: false },
  { name: "SQLite file", dialect: "sqlite", fresh: () => sqlite(tempFile()), skip: false },
  { name: "PostgreSQL", dialect: "pg", fresh: () => pgSchema(pgUrl ?? "", pg), skip: pgUrl === undefined }
]

behaviour("memory", () => SessionStore.layerMemory)

for (const backend of backends) {
  describe.skipIf(backend.skip)(backend.name, () => {
    behaviour(backend.name, backend.fresh)

    // Row-level, so it fires only when the trim deletes a turn: after the
    // commit's UPDATE and INSERT have run, inside the same transaction.
    const failTrim = (sql: SqlClient.SqlClient) =>
      backend.dialect === "sqlite"
        ? sql`CREATE TRIGGER fail_trim BEFORE DELETE ON streamvisor_turns
              BEGIN SELECT RAISE(ABORT, 'forced failure mid-transaction'); END`
        : sql`CREATE FUNCTION fail_trim() RETURNS trigger LANGUAGE plpgsql AS
              $$ BEGIN RAISE EXCEPTION 'forced failure mid-transaction'; END $$`.pipe(
            Effect.zipRight(sql`CREATE TRIGGER fail_trim BEFORE DELETE ON streamvisor_turns
              FOR EACH ROW EXECUTE FUNCTION fail_trim()`)
          )
    const unfailTrim = (sql: SqlClient.SqlClient) =>
      backend.dialect === "sqlite"
        ? sql`DROP TRIGGER fail_trim`
        : sql`DROP TRIGGER fail_trim ON streamvisor_turns`

    it.live("a commit that fails mid-transaction writes nothing", () =>
      Effect.gen(function*() {
        const store = yield* SessionStore.SessionStore
        const sql = yield* SqlClient.SqlClient
        yield* store.create({ id: "f", provider: "p", model: "m", maxTurns: 1 })
        yield* commitAll(store, "f", [1])
        const before = Option.getOrThrow(yield* store.load("f"))
        yield* failTrim(sql)
        const error = yield* Effect.flip(
          store.commitTurn("f", { after: 1, turn: 2, messages: [{ role: "user", content: "lost" }], usage: { n: 1 } })
        )
        expect(error).toMatchObject({ _tag: "SessionStoreError", reason: "Backend", sessionId: "f" })
        expect(error.detail).toContain("forced failure mid-transaction")
        expect(Option.getOrThrow(yield* store.load("f"))).toEqual(before)
        const rows = yield* sql<{ turn: number }>`SELECT turn FROM streamvisor_turns WHERE session_id = 'f'`
        expect(rows.map((r) => Number(r.turn))).toEqual([1])
        // Nothing half-written is in the way: the same commit succeeds once the fault is gone.
        yield* unfailTrim(sql)
        expect(yield* store.commitTurn("f", { after: 1, turn: 2, messages: [] })).toEqual({ lastTurn: 2, trimmed: 1 })
      }).pipe(Effect.provide(backend.fresh()), Effect.scoped))

    it.live("migrations run once and are recorded in streamvisor_migrations", () =>
      Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        expect(yield* SqlSessionStore.migrate).toEqual([])
        const applied = yield* sql<{ migration_id: number; name: string }>`SELECT migration_id, name FROM streamvisor_migrations`
        expect(applied.map((m) => [Number(m.migration_id), m.name])).toEqual([[1, "create_sessions"], [2, "create_send_claims"]])
      }).pipe(Effect.provide(backend.fresh()), Effect.scoped))
  })
}
