/**
 * `@streamvisor/cluster`: durable sessions. A `SessionStore` on `@effect/sql`;
 * the SQLite and PostgreSQL layers are in the `@streamvisor/cluster/sqlite`
 * and `@streamvisor/cluster/pg` entry points, so an application installs only
 * the driver it uses.
 *
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 */
export * as SqlSessionStore from "./SqlSessionStore.js"

/**
 * @since 0.1.0
 */
export * as SessionEntity from "./SessionEntity.js"

/**
 * @since 0.1.0
 */
export * as ClusterSessions from "./ClusterSessions.js"
