/**
 * A `SessionStore` in PostgreSQL, through `@effect/sql-pg`: the store for a
 * deployment, shared by every runner.
 *
 * @since 0.1.0
 */
import type { MigrationError } from "@effect/sql/Migrator"
import type { SqlError } from "@effect/sql/SqlError"
import * as PgClient from "@effect/sql-pg/PgClient"
import * as Layer from "effect/Layer"
import type * as Redacted from "effect/Redacted"
import type { SessionStore } from "@streamvisor/supervisor"
import * as SqlSessionStore from "./SqlSessionStore.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** `postgres://user:password@host:port/database`, kept `Redacted` (it may hold a password). */
  readonly url: Redacted.Redacted
  /** Pool size (default `@effect/sql-pg`'s, 10). */
  readonly maxConnections?: number | undefined
}

/**
 * A migrated store on its own connection pool, closed with the layer.
 *
 * @example
 * ```ts
 * import { PgSessionStore } from "@streamvisor/cluster/pg"
 * import { Redacted } from "effect"
 *
 * const StoreLive = PgSessionStore.layer({ url: Redacted.make(process.env.DATABASE_URL!) })
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<SessionStore.SessionStore, MigrationError | SqlError> =>
  SqlSessionStore.layer.pipe(
    Layer.provide(PgClient.layer({ url: options.url, maxConnections: options.maxConnections }))
  )
