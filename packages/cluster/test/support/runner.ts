/**
 * One cluster runner as its own process, for the multi-process suite:
 *
 *   node --import tsx packages/cluster/test/support/runner.ts
 *
 * Environment: RUNNER_DEBUG=1 (the cluster's debug logs), RUNNER_NAME, RUNNER_PORT, OLLAMA_HOST (FakeLlmServer),
 * STORE_PG_URL (PostgreSQL) or STORE_SQLITE_FILE. Every provider request
 * carries `x-runner: RUNNER_NAME`, so the server can tell runners apart.
 * Prints "ready" once its entity is registered; SIGTERM shuts it down gracefully.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { PgClient } from "@effect/sql-pg"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { Ollama } from "@streamvisor/ollama"
import { Sessions } from "@streamvisor/supervisor"
import { Effect, Layer, Logger, LogLevel, Redacted } from "effect"
import { ClusterSessions } from "../../src/index.js"
import { shardingConfig } from "./Timings.js"

const env = (name: string) => {
  const value = process.env[name]
  if (value === undefined) throw new Error(`runner: ${name} is not set`)
  return value
}
const name = env("RUNNER_NAME")

const httpClient = Effect.runSync(Effect.provide(HttpClient.HttpClient, FetchHttpClient.layer)).pipe(
  HttpClient.mapRequest(HttpClientRequest.setHeader("x-runner", name))
)
const providers = Sessions.layerProviders({ ollama: Ollama.make({ host: env("OLLAMA_HOST"), httpClient }) })

const database = process.env.STORE_PG_URL
  ? PgClient.layer({ url: Redacted.make(process.env.STORE_PG_URL), maxConnections: 4 })
  : SqliteClient.layer({ filename: env("STORE_SQLITE_FILE") })

const RunnerLive = ClusterSessions.layerRunner({
  address: { host: "127.0.0.1", port: Number(env("RUNNER_PORT")) },
  shardingConfig
}).pipe(Layer.provide([providers, database]))

// "ready" once the runner is built (registered, its entity too), not beside it.
NodeRuntime.runMain(Layer.launch(RunnerLive.pipe(Layer.tap(() => Effect.sync(() => console.log("ready"))))).pipe(
  process.env.RUNNER_DEBUG ? Logger.withMinimumLogLevel(LogLevel.Debug) : (x) => x
))
