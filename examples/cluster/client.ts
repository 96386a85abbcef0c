/**
 * A client-only member of the cluster: creates (or resumes) a few sessions
 * and sends each a turn every few seconds, printing the answer and which
 * turn failed how. Kill a runner meanwhile and watch its sessions carry on
 * elsewhere with their history.
 *
 *   DATABASE_URL=postgres://… npx tsx examples/cluster/client.ts
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { PgClient } from "@effect/sql-pg"
import { ClusterSessions } from "@streamvisor/cluster"
import { Sessions } from "@streamvisor/supervisor"
import { Console, Effect, Layer, Redacted, Stream } from "effect"

const ids = ["alice", "bob", "carol", "dave", "erin", "frank"]

const program = Effect.gen(function*() {
  const sessions = yield* Sessions.Sessions
  for (const id of ids) {
    // Already stored (a second run of this client): the session resumes.
    yield* sessions.create({ id, provider: "ollama", model: "demo" }).pipe(
      Effect.catchIf((e) => e._tag === "SessionUnavailable" && e.reason === "AlreadyExists", () => Effect.void)
    )
  }
  for (let round = 1; round <= 20; round++) {
    yield* Effect.forEach(ids, (id) =>
      sessions.get(id).send(`hello ${round}`).pipe(
        Stream.runFold("", (text, event) => event._tag === "TextDelta" ? text + event.text : text),
        Effect.matchEffect({
          onSuccess: (text) => Console.log(`${id}: ${text}`),
          // A turn cut by its runner's death: typed, not committed, never run twice.
          onFailure: (error) => Console.log(`${id}: failed ${error._tag}${"reason" in error ? ` (${error.reason})` : ""}`)
        })
      ), { concurrency: "unbounded", discard: true })
    yield* Effect.sleep("1 second")
  }
})

const ClientLive = ClusterSessions.layerClient({
  shardingConfig: { shardLockRefreshInterval: "2 seconds", shardLockExpiration: "6 seconds" }
}).pipe(Layer.provide(PgClient.layer({ url: Redacted.make(process.env.DATABASE_URL ?? "postgres://localhost/streamvisor") })))

NodeRuntime.runMain(program.pipe(Effect.provide(ClientLive)))
