/**
 * Runner processes for the multi-process suites: start one (`runner.ts` under
 * tsx), and wait until the cluster has settled on a set of runners — every
 * shard locked by one of them, every one of them holding shards and marked
 * healthy, the same for a second in a row — so a test's turns are not cut by
 * shards still moving while runners join or leave.
 */
import * as ChildProcess from "node:child_process"
import * as Net from "node:net"
import * as Path from "node:path"
import * as Url from "node:url"
import type * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"
import { shardingConfig } from "./Timings.js"

export const root = Path.resolve(Path.dirname(Url.fileURLToPath(import.meta.url)), "../../../..")
const runnerScript = Path.join(root, "packages/cluster/test/support/runner.ts")

export interface Runner {
  readonly name: string
  readonly port: number
  readonly process: ChildProcess.ChildProcess
  readonly exited: Promise<number | null>
  /** Everything the process printed. */
  readonly output: () => string
}

/**
 * `count` distinct ports free right now, from the OS (all held open until
 * each is known, so no two are the same). A random pick in 41000–51000 (tried
 * first) sits in Linux's ephemeral range, where outgoing connections take
 * ports too: a runner that cannot listen logs it and keeps running unreachable.
 */
export const freePorts = async (count: number): Promise<ReadonlyArray<number>> => {
  const servers = await Promise.all(Array.from({ length: count }, () =>
    new Promise<Net.Server>((resolve, reject) => {
      const server = Net.createServer()
      server.once("error", reject)
      server.listen(0, "127.0.0.1", () => resolve(server))
    })))
  const ports = servers.map((server) => (server.address() as Net.AddressInfo).port)
  await Promise.all(servers.map((server) => new Promise((done) => server.close(done))))
  return ports
}

/** Starts `runner.ts` as a process; resolves once it printed "ready" (30 s bound). */
export const startRunner = (name: string, port: number, env: Record<string, string>): Promise<Runner> =>
  new Promise((resolve, reject) => {
    const child = ChildProcess.spawn(process.execPath, ["--import", "tsx", runnerScript], {
      cwd: root,
      env: { ...process.env, ...env, RUNNER_NAME: name, RUNNER_PORT: String(port) },
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
        resolve({ name, port, process: child, exited, output: () => output })
      }
    })
    child.once("exit", (code) => {
      clearTimeout(timer)
      reject(new Error(`runner ${name} exited (${code}):\n${output}`))
    })
  })

/** Shards locked per runner port, and the ports of the runners marked healthy. */
const snapshot = (sql: SqlClient.SqlClient) =>
  Effect.gen(function*() {
    const locks = yield* sql<{ address: string; shards: unknown }>`SELECT address, COUNT(*) AS shards FROM cluster_locks GROUP BY address`
    // A runner the others see: marked healthy, with a heartbeat newer than the lock expiry (a
    // SIGKILLed one leaves the ring by its heartbeat, possibly before a health check marks it).
    const fresh = sql.onDialectOrElse({
      pg: () => sql`last_heartbeat > NOW() - INTERVAL '6 seconds'`,
      orElse: () => sql`last_heartbeat > datetime('now', '-6 seconds')`
    })
    const runners = yield* sql<{ address: string; healthy: unknown }>`SELECT address, healthy FROM cluster_runners WHERE ${fresh}`
    const port = (address: string) => Number(address.slice(address.lastIndexOf(":") + 1))
    return {
      shards: new Map(locks.map((row) => [port(row.address), Number(row.shards)])),
      healthy: runners.filter((row) => Boolean(row.healthy)).map((row) => port(row.address)).sort()
    }
  })

/**
 * Waits until exactly `ports` hold all the shards between them (each some)
 * and are exactly the healthy runners, unchanged over 5 looks 250 ms apart.
 * Fails after `timeoutMs`, saying what it saw last. Returns shards per port.
 */
export const waitSettled = (sql: SqlClient.SqlClient, ports: ReadonlyArray<number>, timeoutMs = 30_000) =>
  Effect.gen(function*() {
    const want = [...ports].sort().join(",")
    const started = Date.now()
    let stable = 0
    let last = ""
    let seen: Map<number, number> = new Map()
    while (true) {
      const now = yield* Effect.orDie(snapshot(sql))
      const key = JSON.stringify([[...now.shards].sort(), now.healthy])
      const total = [...now.shards.values()].reduce((a, b) => a + b, 0)
      const ok = [...now.shards.keys()].sort().join(",") === want && now.healthy.join(",") === want &&
        total === shardingConfig.shardsPerGroup
      stable = ok && key === last ? stable + 1 : ok ? 1 : 0
      last = key
      seen = now.shards
      if (stable >= 5) return { shards: seen, settledMs: Date.now() - started }
      if (Date.now() - started > timeoutMs) {
        return yield* Effect.dieMessage(`cluster not settled on ${want} in ${timeoutMs} ms; last seen ${key}`)
      }
      yield* Effect.sleep("250 millis")
    }
  })
