/**
 * The schema, as migrations. Ids only grow: a shipped migration is never
 * edited, a change is a new entry.
 *
 * One DDL for both dialects on purpose: `TEXT`, `INTEGER` and `BIGINT` mean
 * the same in SQLite and PostgreSQL. JSON is kept as `TEXT`, not `jsonb`:
 * `jsonb` reorders object keys and normalises numbers, and the store promises
 * to give back exactly the JSON it was given.
 */
import * as Effect from "effect/Effect"
import * as SqlClient from "@effect/sql/SqlClient"

export const create_sessions = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`CREATE TABLE streamvisor_sessions (
    id TEXT PRIMARY KEY,
    provider TEXT NOT NULL,
    model TEXT NOT NULL,
    system TEXT,
    options TEXT,
    max_turns INTEGER,
    last_turn INTEGER NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
  )`
  // No foreign key: SQLite ignores them unless every connection enables
  // `PRAGMA foreign_keys`; `remove` deletes both tables in one transaction instead.
  yield* sql`CREATE TABLE streamvisor_turns (
    session_id TEXT NOT NULL,
    turn INTEGER NOT NULL,
    messages TEXT NOT NULL,
    usage TEXT,
    committed_at BIGINT NOT NULL,
    PRIMARY KEY (session_id, turn)
  )`
})

// One row per `Send` a cluster entity started, so a request the cluster
// re-sends after its runner died is recognised and refused, not run twice.
export const create_send_claims = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`CREATE TABLE streamvisor_send_claims (
    request_key TEXT PRIMARY KEY,
    session_id TEXT NOT NULL,
    claimed_at BIGINT NOT NULL
  )`
})
