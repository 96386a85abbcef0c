/**
 * The embedded default: a `SessionStore` in a SQLite file (or `:memory:`),
 * through `@effect/sql-sqlite-node` (better-sqlite3). No server to run.
 *
 * One process per file for writing: better-sqlite3 is synchronous, so a
 * second client on the same file in the same process waits on SQLite's lock
 * with the event loop blocked. Several processes on one file are safe (WAL
 * mode, SQLite's file locks), but a cluster of runners wants PostgreSQL.
 *
 * @since 0.1.0
 */
import type { MigrationError } from "@effect/sql/Migrator"
import type { SqlError } from "@effect/sql/SqlError"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import type { ConfigError } from "effect/ConfigError"
import * as Layer from "effect/Layer"
import type { SessionStore } from "@streamvisor/supervisor"
import * as SqlSessionStore from "./SqlSessionStore.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** A file path, or `":memory:"` for a store that lives as long as the layer. */
  readonly filename: string
}

/**
 * A migrated store on its own SQLite client, closed with the layer.
 *
 * @example
 * ```ts
 * import { SqliteSessionStore } from "@streamvisor/cluster/sqlite"
 *
 * const StoreLive = SqliteSessionStore.layer({ filename: "sessions.db" })
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options
): Layer.Layer<SessionStore.SessionStore, MigrationError | SqlError | ConfigError> =>
  SqlSessionStore.layer.pipe(Layer.provide(SqliteClient.layer({ filename: options.filename })))
