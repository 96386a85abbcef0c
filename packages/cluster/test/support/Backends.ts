/**
 * Fresh stores for the suites: SQLite in memory, SQLite files in a temp dir,
 * PostgreSQL in a schema of its own per store (so runs never see each other's
 * rows, and the database is left as it was).
 */
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as SqlClient from "@effect/sql/SqlClient"
import { PgClient } from "@effect/sql-pg"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { Effect, Layer, Redacted } from "effect"
import { SqlSessionStore } from "@streamvisor/cluster"
import type { SessionStore } from "@streamvisor/supervisor"

export type SqlStore = SessionStore.SessionStore | SqlClient.SqlClient

/** The store and the client under it, so a test can reach past the store. */
export const sqlite = (filename: string): Layer.Layer<SqlStore, unknown> =>
  Layer.provideMerge(SqlSessionStore.layer, SqliteClient.layer({ filename }))

let tempDir: string | undefined
let files = 0
/** A new SQLite file path under one temp dir per test file (see `removeTempDir`). */
export const tempFile = (): string => {
  tempDir ??= Fs.mkdtempSync(Path.join(Os.tmpdir(), "streamvisor-store-"))
  return Path.join(tempDir, `sessions-${++files}.db`)
}
export const removeTempDir = () => {
  if (tempDir !== undefined) Fs.rmSync(tempDir, { recursive: true, force: true })
  tempDir = undefined
}

/** `STREAMVISOR_PG_URL`, e.g. `$(scripts/postgres.sh start)`. */
export const pgUrl: string | undefined = process.env.STREAMVISOR_PG_URL || undefined

export const pgSkipReason = "STREAMVISOR_PG_URL is not set (run: export STREAMVISOR_PG_URL=$(scripts/postgres.sh start))"

const admin = (url: string) => PgClient.layer({ url: Redacted.make(url), maxConnections: 1 })

let schemas = 0
/**
 * A PostgreSQL schema of its own, dropped with the layer; `use` builds the
 * layers that should live in it (through `search_path` in the URL).
 */
export const pgSchema = <A, E>(url: string, use: (url: string) => Layer.Layer<A, E>): Layer.Layer<A, unknown> =>
  Layer.unwrapScoped(
    Effect.gen(function*() {
      const schema = `streamvisor_test_${process.pid}_${++schemas}_${Math.random().toString(36).slice(2, 8)}`
      const run = (statement: (sql: SqlClient.SqlClient) => Effect.Effect<unknown, unknown>) =>
        Effect.flatMap(SqlClient.SqlClient, statement).pipe(Effect.provide(admin(url)), Effect.scoped)
      yield* Effect.acquireRelease(
        run((sql) => sql`CREATE SCHEMA ${sql(schema)}`),
        () => Effect.orDie(run((sql) => sql`DROP SCHEMA ${sql(schema)} CASCADE`))
      )
      const separator = url.includes("?") ? "&" : "?"
      return use(`${url}${separator}options=${encodeURIComponent(`-c search_path=${schema}`)}`)
    })
  )

export const pg = (url: string): Layer.Layer<SqlStore, unknown> =>
  Layer.provideMerge(SqlSessionStore.layer, PgClient.layer({ url: Redacted.make(url) }))
