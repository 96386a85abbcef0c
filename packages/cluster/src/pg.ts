/**
 * `@streamvisor/cluster/pg`: the store in PostgreSQL (needs `@effect/sql-pg`).
 *
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 */
export * as PgSessionStore from "./PgSessionStore.js"
