/**
 * One cluster runner: listens for the other runners on PORT, keeps runners,
 * shard locks and sessions in PostgreSQL (DATABASE_URL), streams from the
 * fake server. Ctrl-C (SIGINT) or SIGTERM leaves gracefully: turns in flight
 * finish here, then its sessions move to the other runners.
 *
 *   DATABASE_URL=postgres://… PORT=34431 npx tsx examples/cluster/runner.ts
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { PgClient } from "@effect/sql-pg"
import { ClusterSessions } from "@streamvisor/cluster"
import { Ollama } from "@streamvisor/ollama"
import { Sessions } from "@streamvisor/supervisor"
import { Effect, Layer, Redacted } from "effect"

const port = Number(process.env.PORT ?? 34431)
const providers = Sessions.layerProviders({
  ollama: Ollama.make({ host: process.env.OLLAMA_HOST ?? "http://127.0.0.1:11500" })
})

const RunnerLive = ClusterSessions.layerRunner({
  address: { host: "127.0.0.1", port },
  // A dead runner's shards move after its locks expire: 6 s here (the cluster's default is 35 s).
  shardingConfig: { shardLockRefreshInterval: "2 seconds", shardLockExpiration: "6 seconds" }
}).pipe(
  Layer.provide(providers),
  Layer.provide(PgClient.layer({ url: Redacted.make(process.env.DATABASE_URL ?? "postgres://localhost/streamvisor") }))
)

NodeRuntime.runMain(
  Layer.launch(RunnerLive.pipe(Layer.tap(() => Effect.log(`runner on 127.0.0.1:${port} ready`))))
)
