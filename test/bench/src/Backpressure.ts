/**
 * Benchmark 5, backpressure (issue 4): a server writing N events as fast as it
 * can; a consumer taking one event per millisecond for a window, against one
 * that drains. Each measurement runs in a fresh process
 * (`BackpressureWorker.ts`) so RSS starts from the same place. Reported per
 * wire format and streamvisor API: peak RSS growth of both consumers, their
 * ratio (target < 2×, and the same for every N), and how much of the answer
 * the server had managed to write when the slow window ended (with
 * backpressure, a small share: the socket pushed back).
 */
import { fork } from "node:child_process"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import type { Result, Job, WindowEnd } from "./BackpressureWorker.js"
import type { Config } from "./Config.js"
import type { LibraryName, WireFormat } from "./libraries/Library.js"
import type { Row } from "./Report.js"
import { benchDir, type ServerClient } from "./ServerClient.js"

const worker = path.join(path.dirname(fileURLToPath(import.meta.url)), "BackpressureWorker.ts")

const MB = 1024 * 1024

export const FAST = (n: number) => `backpressure: fast consumer, peak RSS growth, ${n} events`
export const SLOW = (n: number) => `backpressure: slow consumer, peak RSS growth, ${n} events`
export const RATIO = (n: number) => `backpressure: slow / fast RSS growth, ${n} events`
export const WRITTEN = (n: number) => `backpressure: share of the answer written by the window's end, ${n} events`
export const TAKEN = (n: number) => `backpressure: events the slow consumer took in its window, ${n} events`

/** Runs one job; `onWindowEnd` runs while the slow consumer waits at its window's end. */
const runJob = (job: Job, onWindowEnd: () => Promise<void>): Promise<Result> =>
  new Promise((resolve, reject) => {
    const child = fork(worker, [JSON.stringify(job)], {
      cwd: benchDir,
      execArgv: ["--expose-gc", "--import", "tsx"],
      stdio: ["ignore", "inherit", "inherit", "ipc"]
    })
    let result: Result | undefined
    child.on("message", (message: Result | WindowEnd) => {
      if (message.type === "windowEnd") {
        onWindowEnd().then(() => child.send("continue"), reject)
      } else {
        result = message
      }
    })
    child.once("error", reject)
    child.once("exit", (code) =>
      result !== undefined ? resolve(result) : reject(new Error(`backpressure worker exited (${code}) without a result`))
    )
  })

const libraryOf: Record<Job["api"], LibraryName> = { effect: "streamvisor", promise: "streamvisor (promise)" }

export const run = async (config: Config, server: ServerClient): Promise<Array<Omit<Row, "ratioToRawSdk">>> => {
  const { apis, formats, lengths, windowMs } = config.backpressure
  const rows: Array<Omit<Row, "ratioToRawSdk">> = []
  let jobId = 0
  const warmupModel = "bp-warmup"
  await server.scriptFor(warmupModel, { deltas: 5_000 })
  for (const format of formats as ReadonlyArray<WireFormat>) {
    for (const api of apis) {
      const library = libraryOf[api]
      for (const length of lengths) {
        await server.setScript({ deltas: length })
        const base = { urls: server.urls, format, api, windowMs, warmupModel }
        const row = (benchmark: string, value: number | null, unit: string, note?: string) =>
          rows.push({ benchmark, wireFormat: format, library, value, unit, ...(note === undefined ? {} : { note }) })
        try {
          const fastModel = `bp-${++jobId}`
          const fast = await runJob({ ...base, mode: "fast", model: fastModel }, async () => {})
          const body = (await server.closeOf(fastModel, 5_000))?.bytesWritten
          let written: number | undefined
          const slowModel = `bp-${++jobId}`
          const slow = await runJob({ ...base, mode: "slow", model: slowModel }, async () => {
            written = (await server.inflight()).find((r) => r.model === slowModel)?.bytesWritten
          })
          await server.waitForIdle()
          const fastGrowth = (fast.peakRss - fast.baselineRss) / MB
          const slowGrowth = (slow.peakRss - slow.baselineRss) / MB
          row(FAST(length), fastGrowth, "MB")
          row(SLOW(length), slowGrowth, "MB")
          if (fastGrowth > 0) row(RATIO(length), slowGrowth / fastGrowth, "×")
          else row(RATIO(length), null, "×", "the fast consumer's RSS did not grow")
          // Not in flight any more at the window's end means the server had written everything.
          if (body === undefined) row(WRITTEN(length), null, "%", "the fast run's response size was not reported")
          else row(WRITTEN(length), written === undefined ? 100 : (100 * written) / body, "%")
          row(TAKEN(length), slow.consumed, "events")
        } catch (cause) {
          const note = `failed: ${cause instanceof Error ? cause.message : String(cause)}`
          for (const benchmark of [FAST(length), SLOW(length), RATIO(length), WRITTEN(length), TAKEN(length)]) {
            row(benchmark, null, "MB", note)
          }
        }
      }
    }
  }
  return rows
}
