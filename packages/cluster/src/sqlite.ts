/**
 * `@streamvisor/cluster/sqlite`: the store in a SQLite file (needs `@effect/sql-sqlite-node`).
 *
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 */
export * as SqliteSessionStore from "./SqliteSessionStore.js"
