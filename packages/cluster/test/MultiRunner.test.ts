/**
 * Three runners as separate processes on loopback, one PostgreSQL store, 30
 * sessions, the test process a client-only member of the cluster. Before
 * each phase the test waits for the cluster to settle (every shard locked by
 * the runners it expects, see `support/Processes.ts`), so no turn is cut by
 * shards still moving while runners join.
 *
 * - SIGKILL one runner mid-turn: its sessions resume on the others with every
 *   committed turn; each turn in flight there fails to its caller with
 *   `SessionUnavailable` (`RunnerLost`), is not committed and does not reach
 *   the provider again; a `send` queued behind it (its caller waiting) moves
 *   and runs once; a `tell` queued behind it is lost; the next turn of each
 *   moved session succeeds; the server sees the dead runner's responses closed
 *   and nothing in flight.
 * - SIGTERM another runner mid-turn: its turns finish, none fails, and its
 *   sessions move to the last runner.
 *
 * Runs when `STREAMVISOR_PG_URL` is set, otherwise skipped with the reason printed.
 */
import { PgClient } from "@effect/sql-pg"
import * as SqlClient from "@effect/sql/SqlClient"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import type { StreamEvent } from "@streamvisor/core"
import { Sessions } from "@streamvisor/supervisor"
import { FakeLlmServer, Script } from "@streamvisor/testkit"
import { Chunk, Context, Effect, Either, Layer, Redacted, Stream } from "effect"
import { ClusterSessions } from "../src/index.js"
import { pgSkipReason, pgUrl } from "./support/Backends.js"
import { lastUser } from "./support/Cluster.js"
import { freePorts, type Runner, startRunner, waitSettled } from "./support/Processes.js"
import { shardingConfig } from "./support/Timings.js"

let server: FakeLlmServer.Server
beforeAll(async () => {
  server = await FakeLlmServer.start()
  // "slow…" streams 30 deltas 100 ms apart (~3 s): long enough to kill a runner in the middle.
  server.setScript((request) => {
    const text = lastUser(request)
    return text.startsWith("slow")
      ? Script.text(Array.from({ length: 30 }, (_, i) => `${i} `), { delayMs: 100 })
      : Script.text(["re: ", text])
  })
})
afterAll(() => server.close())

const text = (events: Chunk.Chunk<StreamEvent.StreamEvent>) =>
  Chunk.toArray(events).flatMap((event) => event._tag === "TextDelta" ? [event.text] : []).join("")

/** Which runner served the last request whose user message is `message`. */
const servedBy = (message: string) => {
  const request = [...server.requests].reverse().find((r) => lastUser(r) === message)
  return request?.headers["x-runner"]
}
const requestsFor = (message: string) => server.requests.filter((r) => lastUser(r) === message).length

const withPgSchema = (url: string) => {
  const schema = `streamvisor_cluster_${process.pid}_${Math.random().toString(36).slice(2, 8)}`
  // Each statement on a client of its own: the drop runs when the test's scope closes.
  const run = (statement: (sql: SqlClient.SqlClient) => Effect.Effect<unknown, unknown>) =>
    Effect.scoped(Effect.flatMap(SqlClient.SqlClient, statement).pipe(
      Effect.provide(PgClient.layer({ url: Redacted.make(url), maxConnections: 1 }))
    ))
  const separator = url.includes("?") ? "&" : "?"
  return Effect.acquireRelease(
    Effect.as(run((sql) => sql`CREATE SCHEMA ${sql(schema)}`), {
      url: `${url}${separator}options=${encodeURIComponent(`-c search_path=${schema}`)}`
    }),
    () => Effect.orDie(run((sql) => sql`DROP SCHEMA ${sql(schema)} CASCADE`))
  )
}

const SESSIONS = 30
const ids = Array.from({ length: SESSIONS }, (_, i) => `s${i}`)

describe.skipIf(pgUrl === undefined)("3 runner processes on PostgreSQL", () => {
  if (pgUrl === undefined) console.log(`skipped: ${pgSkipReason}`)

  it.live("SIGKILL mid-turn: sessions move with their turns, the turn in flight fails typed, queued sends move, queued tells are lost; SIGTERM: no turn fails", () =>
    Effect.gen(function*() {
      const t0 = Date.now()
      const timings: Array<string> = []
      const mark = (what: string) => timings.push(`${what} ${((Date.now() - t0) / 1000).toFixed(1)} s`)
      const { url } = yield* withPgSchema(pgUrl!)
      const ports = yield* Effect.promise(() => freePorts(3))
      const env = { STORE_PG_URL: url, OLLAMA_HOST: server.baseUrls.ollama }
      // The first runner alone creates the tables (concurrent `CREATE TABLE IF NOT EXISTS` on one
      // PostgreSQL database can fail with a duplicate pg_type row), then the other two together.
      const runners = yield* Effect.acquireRelease(
        Effect.promise(async () => {
          const r1 = await startRunner("r1", ports[0], env)
          return [r1, ...await Promise.all(["r2", "r3"].map((name, i) => startRunner(name, ports[1 + i], env)))]
        }),
        (runners) => Effect.promise(() => Promise.all(runners.map((r) => { r.process.kill("SIGKILL"); return r.exited })))
      )
      const byName = new Map<string, Runner>(runners.map((r) => [r.name, r]))
      mark("runners ready")
      const database = yield* Layer.build(PgClient.layer({ url: Redacted.make(url), maxConnections: 4 }))
      const sql = Context.get(database, SqlClient.SqlClient)
      const client = yield* Layer.build(ClusterSessions.layerClient({ shardingConfig }).pipe(
        Layer.provide(Layer.succeedContext(database))
      ))
      // On failure, what each runner printed (RUNNER_DEBUG=1 adds the cluster's debug logs).
      yield* Effect.addFinalizer((exit) =>
        exit._tag === "Failure"
          ? Effect.sync(() => runners.forEach((r) => console.log(`--- ${r.name}\n${r.output().slice(-4000)}`)))
          : Effect.void
      )
      const sessions = Context.get(client, Sessions.Sessions)
      const turn = (id: string, message: string) => Stream.runCollect(sessions.get(id).send(message))

      // Every shard held, by all three: from here on no shard moves until a runner leaves.
      yield* waitSettled(sql, runners.map((r) => r.port))
      mark("settled on 3")

      // 30 sessions, one committed turn each: every turn succeeds, spread over the three runners.
      yield* Effect.forEach(ids, (id) => sessions.create({ id, provider: "ollama", model: "m" }), { concurrency: 10 })
      const first = yield* Effect.forEach(ids, (id) => turn(id, `t1 ${id}`), { concurrency: 10 })
      first.forEach((events, i) => expect(text(events)).toBe(`re: t1 ${ids[i]}`))
      const owner = new Map(ids.map((id) => [id, servedBy(`t1 ${id}`)!]))
      const counts = new Map<string, number>()
      for (const name of owner.values()) counts.set(name, (counts.get(name) ?? 0) + 1)
      expect([...counts.keys()].sort()).toEqual(["r1", "r2", "r3"])
      mark("round 1")

      // SIGKILL the runner with the most sessions while each of its sessions streams a turn.
      const victim = [...counts.entries()].sort((a, b) => b[1] - a[1])[0][0]
      const moved = ids.filter((id) => owner.get(id) === victim)
      const stayed = ids.filter((id) => owner.get(id) !== victim).slice(0, 5)
      // Behind the turn in flight of the first two moved sessions: a send whose caller waits, and a tell.
      const queuing = moved.slice(0, 2)
      const before = new Map<string, ReadonlyArray<unknown>>()
      for (const id of moved) before.set(id, (yield* sessions.get(id).history).map((m) => m.content))
      const inFlight = yield* Effect.forEach([...moved, ...stayed], (id) => Effect.fork(Effect.either(turn(id, `slow2 ${id}`))))
      yield* Effect.promise(() => server.waitFor((s) => s.inflight === moved.length + stayed.length, { timeoutMs: 10_000 }))
      const queued = yield* Effect.forEach(queuing, (id) => Effect.fork(Effect.either(turn(id, `queued ${id}`))))
      const told = yield* Effect.forEach(queuing, (id) => sessions.get(id).tell(`told ${id}`))
      // t1, slow2, then the queued send (4) if it reached the runner first, and the tell: both
      // are queued behind slow2 on the runner about to die, in either order.
      told.forEach((n) => expect([3, 4]).toContain(n))
      byName.get(victim)!.process.kill("SIGKILL")
      const killed = Date.now()
      mark(`SIGKILL ${victim} (${moved.length} sessions)`)
      const outcomes = yield* Effect.forEach(inFlight, (fiber) => fiber.await.pipe(Effect.flatten)).pipe(
        Effect.timeoutFail({ duration: "30 seconds", onTimeout: () => new Error("turns did not settle in 30 s") })
      )
      const killSettledMs = Date.now() - killed
      outcomes.slice(0, moved.length).forEach((outcome) => {
        expect(Either.isLeft(outcome)).toBe(true)
        const error = Either.isLeft(outcome) ? outcome.left : undefined
        expect(error?._tag === "SessionUnavailable" && error.reason).toBe("RunnerLost")
      })
      // Sessions on the survivors keep running, but dropping a runner rebalances shards between the
      // survivors too (the ring caps each runner's share): one handed over may be cut, typed.
      const survivorsCut = outcomes.slice(moved.length).filter(Either.isLeft)
      survivorsCut.forEach((outcome) => expect(outcome.left._tag).toBe("SessionUnavailable"))
      // The queued sends moved with their sessions and ran once there.
      const queuedOutcomes = yield* Effect.forEach(queued, (fiber) => fiber.await.pipe(Effect.flatten)).pipe(
        Effect.timeoutFail({ duration: "30 seconds", onTimeout: () => new Error("queued sends did not settle in 30 s") })
      )
      queuedOutcomes.forEach((outcome, i) => {
        expect(Either.isRight(outcome) && text(outcome.right)).toBe(`re: queued ${queuing[i]}`)
        expect(requestsFor(`queued ${queuing[i]}`)).toBe(1)
        expect(servedBy(`queued ${queuing[i]}`)).not.toBe(victim)
      })
      // The dead runner's responses were closed with its sockets.
      yield* Effect.promise(() => server.waitFor((s) => s.inflight === 0, { timeoutMs: 10_000 }))

      const survivors = runners.filter((r) => r.name !== victim)
      yield* waitSettled(sql, survivors.map((r) => r.port))
      mark("settled on 2")
      for (const id of moved) {
        const queuedHere = queuing.includes(id) ? [`queued ${id}`, `re: queued ${id}`] : []
        // every committed turn is intact; the cut turn neither committed nor sent to the provider twice;
        // the told turn never reached a provider
        expect((yield* sessions.get(id).history).map((m) => m.content)).toEqual([...before.get(id)!, ...queuedHere])
        expect(requestsFor(`slow2 ${id}`)).toBe(1)
        expect(requestsFor(`told ${id}`)).toBe(0)
        expect(text(yield* turn(id, `t3 ${id}`))).toBe(`re: t3 ${id}`)
        expect(servedBy(`t3 ${id}`)).not.toBe(victim)
        expect((yield* sessions.get(id).history).length).toBe(before.get(id)!.length + queuedHere.length + 2)
      }
      // The other sessions' next turns too: dropping a runner may have moved some between the survivors.
      const others = yield* Effect.forEach(ids.filter((id) => !moved.includes(id)), (id) =>
        Effect.map(turn(id, `t3 ${id}`), (events) => [id, text(events)] as const), { concurrency: 10 })
      others.forEach(([id, answer]) => expect(answer).toBe(`re: t3 ${id}`))
      mark("next turns checked")

      // SIGTERM a survivor while its sessions stream: they drain, nothing fails, and they move.
      const [leaving, last] = survivors
      const draining = ids.filter((id) => servedBy(`t3 ${id}`) === leaving.name)
      const drained = yield* Effect.forEach(draining, (id) => Effect.fork(turn(id, `slow4 ${id}`)))
      yield* Effect.promise(() => server.waitFor((s) => s.inflight >= draining.length, { timeoutMs: 10_000 }))
      leaving.process.kill("SIGTERM")
      const answers = yield* Effect.forEach(drained, (fiber) => fiber.await.pipe(Effect.flatten)).pipe(
        Effect.timeoutFail({ duration: "30 seconds", onTimeout: () => new Error("draining turns did not end in 30 s") })
      )
      answers.forEach((events) => expect(text(events)).toBe(Array.from({ length: 30 }, (_, i) => `${i} `).join("")))
      draining.forEach((id) => expect(servedBy(`slow4 ${id}`)).toBe(leaving.name))
      const code = yield* Effect.promise(() => leaving.exited)
      expect(code === 0 || code === null).toBe(true)
      mark(`SIGTERM ${leaving.name} drained (${draining.length} sessions)`)
      yield* waitSettled(sql, [last.port])
      for (const id of draining) {
        expect(text(yield* turn(id, `t5 ${id}`))).toBe(`re: t5 ${id}`)
        expect(servedBy(`t5 ${id}`)).toBe(last.name)
      }
      yield* Effect.promise(() => server.waitFor((s) => s.inflight === 0, { timeoutMs: 5_000 }))
      mark("done")
      console.log(
        `multi-runner (PostgreSQL): ${moved.length} sessions moved off ${victim} (in-flight turns settled ${killSettledMs} ms after SIGKILL, ` +
          `${survivorsCut.length}/${stayed.length} survivor turns cut by the rebalance, tells numbered ${told.join("/")}); ${draining.length} drained off ${leaving.name}; ` +
          timings.join(", ")
      )
    }).pipe(Effect.scoped), 120_000)
})

describe.skip("3 runner processes on one SQLite file", () => {
  console.log(
    "skipped: the cluster over one SQLite file shared by processes is not verified (its table locks use " +
      "CURRENT_TIMESTAMP's one-second resolution, better-sqlite3 waits on the file lock with the event loop blocked); " +
      "see packages/cluster/README.md"
  )
  it("is not run", () => {})
})
