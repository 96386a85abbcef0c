/**
 * Three runners as separate processes on loopback, one store, 30 sessions,
 * the test process a client-only member of the cluster:
 *
 * - SIGKILL one runner mid-turn: its sessions resume on the others with every
 *   committed turn; each turn in flight there fails to its caller with
 *   `SessionUnavailable` (`RunnerLost`), is not committed and does not reach
 *   the provider again; the next turn of each moved session succeeds; the
 *   server sees the dead runner's responses closed and nothing in flight.
 * - SIGTERM another runner mid-turn: its turns finish, none fails, and its
 *   sessions move.
 *
 * PostgreSQL when `STREAMVISOR_PG_URL` is set, otherwise skipped with the
 * reason printed.
 */
import * as ChildProcess from "node:child_process"
import * as Path from "node:path"
import * as Url from "node:url"
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
import { shardingConfig } from "./support/Timings.js"

const root = Path.resolve(Path.dirname(Url.fileURLToPath(import.meta.url)), "../../..")
const runnerScript = Path.join(root, "packages/cluster/test/support/runner.ts")

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

interface Runner {
  readonly name: string
  readonly process: ChildProcess.ChildProcess
  readonly exited: Promise<number | null>
}

const startRunner = (name: string, port: number, store: Record<string, string>): Promise<Runner> =>
  new Promise((resolve, reject) => {
    const child = ChildProcess.spawn(process.execPath, ["--import", "tsx", runnerScript], {
      cwd: root,
      env: { ...process.env, ...store, RUNNER_NAME: name, RUNNER_PORT: String(port), OLLAMA_HOST: server.baseUrls.ollama },
      stdio: ["ignore", "pipe", "pipe"]
    })
    const exited = new Promise<number | null>((done) => child.once("exit", (code) => done(code)))
    let output = ""
    const timer = setTimeout(() => reject(new Error(`runner ${name} not ready in 30 s:\n${output}`)), 30_000)
    child.stderr.on("data", (data) => (output += String(data)))
    child.stdout.on("data", (data) => {
      output += String(data)
      if (output.includes("ready")) {
        clearTimeout(timer)
        resolve({ name, process: child, exited })
      }
    })
    child.once("exit", (code) => reject(new Error(`runner ${name} exited (${code}):\n${output}`)))
  })

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

// Opt-in while it is being stabilised: on a loaded 2-core machine the shard
// spread after three runners join is not yet deterministic (see README, Open).
const multi = process.env.STREAMVISOR_CLUSTER_MULTI === "1"

describe.skipIf(pgUrl === undefined || !multi)("3 runner processes on PostgreSQL", () => {
  if (pgUrl === undefined) console.log(`skipped: ${pgSkipReason}`)
  else if (!multi) console.log("skipped: set STREAMVISOR_CLUSTER_MULTI=1 to run the multi-process cluster scenario")

  it.live("SIGKILL mid-turn: sessions move with their turns, the turn in flight fails typed; SIGTERM: no turn fails", () =>
    Effect.gen(function*() {
      const { url } = yield* withPgSchema(pgUrl!)
      const store = { STORE_PG_URL: url }
      const base = 41_000 + Math.floor(Math.random() * 10_000)
      const runners = yield* Effect.acquireRelease(
        Effect.promise(() => Promise.all(["r1", "r2", "r3"].map((name, i) => startRunner(name, base + i, store)))),
        (runners) => Effect.promise(() => Promise.all(runners.map((r) => { r.process.kill("SIGKILL"); return r.exited })))
      )
      const byName = new Map(runners.map((r) => [r.name, r]))
      const client = yield* Layer.build(ClusterSessions.layerClient({ shardingConfig }).pipe(
        Layer.provide(PgClient.layer({ url: Redacted.make(url), maxConnections: 4 }))
      ))
      const sessions = Context.get(client, Sessions.Sessions)
      const turn = (id: string, message: string) => Stream.runCollect(sessions.get(id).send(message))

      // 30 sessions, one committed turn each, spread over the three runners.
      yield* Effect.forEach(ids, (id) => sessions.create({ id, provider: "ollama", model: "m" }), { concurrency: 10 })
      // Shards spread once every runner has seen the others: wait for it as a
      // condition (every round commits one turn per session), bounded.
      let owner = new Map<string, string>()
      for (let round = 1; round <= 20; round++) {
        // While runners join, shards move and a turn in flight may be cut (RunnerLost): only a
        // round where every turn committed counts.
        const results = yield* Effect.forEach(ids, (id) => Effect.either(turn(id, `t${round} ${id}`)), { concurrency: 10 })
        owner = new Map(ids.map((id) => [id, servedBy(`t${round} ${id}`)!]))
        if (results.every(Either.isRight) && new Set(owner.values()).size === 3) break
        yield* Effect.sleep("250 millis")
      }
      const counts = new Map<string, number>()
      for (const name of owner.values()) counts.set(name, (counts.get(name) ?? 0) + 1)
      expect([...counts.keys()].sort()).toEqual(["r1", "r2", "r3"])

      // SIGKILL the runner with the most sessions while each of its sessions streams a turn.
      const victim = [...counts.entries()].sort((a, b) => b[1] - a[1])[0][0]
      const moved = ids.filter((id) => owner.get(id) === victim)
      const stayed = ids.filter((id) => owner.get(id) !== victim).slice(0, 5)
      const before = new Map<string, ReadonlyArray<unknown>>()
      for (const id of moved) before.set(id, (yield* sessions.get(id).history).map((m) => m.content))
      const inFlight = yield* Effect.forEach([...moved, ...stayed], (id) => Effect.fork(Effect.either(turn(id, `slow2 ${id}`))))
      yield* Effect.promise(() => server.waitFor((s) => s.inflight === moved.length + stayed.length, { timeoutMs: 10_000 }))
      byName.get(victim)!.process.kill("SIGKILL")
      const started = Date.now()
      const outcomes = yield* Effect.forEach(inFlight, (fiber) => fiber.await.pipe(Effect.flatten)).pipe(
        Effect.timeoutFail({ duration: "40 seconds", onTimeout: () => new Error("turns did not settle in 40 s") })
      )
      const killSettledMs = Date.now() - started
      outcomes.slice(0, moved.length).forEach((outcome) => {
        expect(Either.isLeft(outcome)).toBe(true)
        const error = Either.isLeft(outcome) ? outcome.left : undefined
        expect(error?._tag === "SessionUnavailable" && error.reason).toBe("RunnerLost")
      })
      // Sessions elsewhere keep running; a shard hand-over while the ring settles may still cut one (typed).
      outcomes.slice(moved.length).forEach((outcome) =>
        expect(Either.isRight(outcome) || outcome.left._tag === "SessionUnavailable").toBe(true))
      // The dead runner's responses were closed with its sockets.
      yield* Effect.promise(() => server.waitFor((s) => s.inflight === 0, { timeoutMs: 10_000 }))

      for (const id of moved) {
        // every committed turn is intact; the cut turn neither committed nor sent to the provider twice
        expect((yield* sessions.get(id).history).map((m) => m.content)).toEqual(before.get(id))
        expect(requestsFor(`slow2 ${id}`)).toBe(1)
        expect(text(yield* turn(id, `t3 ${id}`))).toBe(`re: t3 ${id}`)
        expect(servedBy(`t3 ${id}`)).not.toBe(victim)
        expect((yield* sessions.get(id).history).length).toBe(before.get(id)!.length + 2)
      }

      // SIGTERM a survivor while its sessions stream: they drain, nothing fails, and they move.
      const survivors = runners.map((r) => r.name).filter((name) => name !== victim)
      const leaving = survivors[0]
      const draining = ids.filter((id) => servedBy(`t3 ${id}`) === leaving || (owner.get(id) === leaving && !moved.includes(id)))
      const drained = yield* Effect.forEach(draining, (id) => Effect.fork(turn(id, `slow4 ${id}`)))
      yield* Effect.promise(() => server.waitFor((s) => s.inflight >= draining.length, { timeoutMs: 10_000 }))
      byName.get(leaving)!.process.kill("SIGTERM")
      const answers = yield* Effect.forEach(drained, (fiber) => fiber.await.pipe(Effect.flatten)).pipe(
        Effect.timeoutFail({ duration: "30 seconds", onTimeout: () => new Error("draining turns did not end in 30 s") })
      )
      expect(answers.every((events) => text(events).startsWith("0 1 2"))).toBe(true)
      const code = yield* Effect.promise(() => byName.get(leaving)!.exited)
      expect(code === 0 || code === null).toBe(true)
      for (const id of draining) {
        expect(text(yield* turn(id, `t5 ${id}`))).toBe(`re: t5 ${id}`)
        expect(servedBy(`t5 ${id}`)).toBe(survivors[1])
      }
      yield* Effect.promise(() => server.waitFor((s) => s.inflight === 0, { timeoutMs: 5_000 }))
      console.log(`multi-runner: ${moved.length} sessions moved off ${victim}; in-flight turns settled ${killSettledMs} ms after SIGKILL; ${draining.length} drained off ${leaving}`)
    }).pipe(Effect.scoped), 120_000)
})
