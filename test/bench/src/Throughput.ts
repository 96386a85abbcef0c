/**
 * Benchmark 1, throughput: the time to read a stream of N text deltas, per
 * wire format and library. Libraries alternate run by run (the order rotates
 * each round) and the median is reported; libraries much slower than the raw
 * SDK in the warm-up get fewer timed runs.
 */
import type { Config } from "./Config.js"
import { bytesFloor, type Client, type Library, libraries, type WireFormat, wireFormats } from "./libraries/index.js"
import type { Row } from "./Report.js"
import type { ServerClient } from "./ServerClient.js"
import { gc, median } from "./Stats.js"

export const BENCHMARK = "throughput"
/** The same runs, as CPU time of the bench process (user + system): steadier on a busy machine. */
export const CPU = "throughput, bench-process CPU time"

interface Entry {
  readonly library: Library
  readonly client: Client
  readonly samples: Array<number>
  readonly cpu: Array<number>
  runs: number
  error?: string
}

const errorText = (cause: unknown): string => {
  let text = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause)
  const inner = cause instanceof Error ? cause.cause : undefined
  if (inner instanceof Error) text += ` (${inner.message})`
  return text.length > 160 ? `${text.slice(0, 157)}...` : text
}

/** One timed read (wall and CPU ms); throws when the library did not see every delta. */
const timeOne = async (entry: Entry, expected: number): Promise<{ wall: number; cpu: number }> => {
  gc()
  const start = performance.now()
  const cpuStart = process.cpuUsage()
  const seen = await entry.client.readAll("bench")
  const cpu = process.cpuUsage(cpuStart)
  const wall = performance.now() - start
  if (entry.library !== bytesFloor && seen !== expected) {
    throw new Error(`saw ${seen} text deltas, expected ${expected}`)
  }
  return { wall, cpu: (cpu.user + cpu.system) / 1000 }
}

const runFormat = async (format: WireFormat, config: Config, server: ServerClient): Promise<Array<Omit<Row, "ratioToRawSdk">>> => {
  const { deltas, runs, slowRuns, warmup } = config.throughput
  await server.setScript({ deltas })
  const rows: Array<Omit<Row, "ratioToRawSdk">> = []
  const entries: Array<Entry> = []
  // BENCH_SKIP names libraries left out of this run (e.g. "@effect/ai" at 100k
  // deltas, where its quadratic SSE parser takes minutes per run)
  const skipped = new Set((process.env.BENCH_SKIP ?? "").split(",").map((s) => s.trim()).filter((s) => s !== ""))
  for (const library of [...libraries, bytesFloor]) {
    const client = skipped.has(library.name) ? `not run (BENCH_SKIP)` : library.client(format, server.urls)
    if (typeof client === "string") {
      for (const benchmark of [BENCHMARK, CPU]) {
        rows.push({ benchmark, wireFormat: format, library: library.name, value: null, unit: "ms", note: client })
      }
    } else {
      entries.push({ library, client, samples: [], cpu: [], runs })
    }
  }
  // Warm-up: JIT, connection pools; also tells the slow libraries apart.
  const warm = new Map<Entry, number>()
  for (let i = 0; i < warmup; i++) {
    for (const entry of entries) {
      if (entry.error !== undefined || (i > 0 && isSlow(entry))) continue
      try {
        warm.set(entry, (await timeOne(entry, deltas)).wall)
      } catch (cause) {
        entry.error = errorText(cause)
      }
    }
  }
  function isSlow(entry: Entry): boolean {
    const base = warm.get(entries[0])
    const t = warm.get(entry)
    return base !== undefined && t !== undefined && t > 3 * base
  }
  for (const entry of entries) if (isSlow(entry)) entry.runs = slowRuns
  const rounds = Math.max(...entries.map((e) => e.runs))
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < entries.length; k++) {
      const entry = entries[(k + round) % entries.length]
      if (entry.error !== undefined || entry.samples.length >= entry.runs) continue
      try {
        const { cpu, wall } = await timeOne(entry, deltas)
        entry.samples.push(wall)
        entry.cpu.push(cpu)
      } catch (cause) {
        entry.error = errorText(cause)
      }
    }
  }
  for (const entry of entries) {
    for (const [benchmark, samples] of [[BENCHMARK, entry.samples], [CPU, entry.cpu]] as const) {
      rows.push({
        benchmark,
        wireFormat: format,
        library: entry.library.name,
        value: entry.error === undefined ? median(samples) : null,
        unit: "ms",
        ...(entry.error === undefined ? {} : { note: `failed: ${entry.error}` })
      })
    }
  }
  return rows
}

export const run = async (config: Config, server: ServerClient): Promise<Array<Omit<Row, "ratioToRawSdk">>> => {
  const rows: Array<Omit<Row, "ratioToRawSdk">> = []
  for (const format of wireFormats) {
    rows.push(...(await runFormat(format, config, server)))
    await server.waitForIdle()
  }
  return rows
}
