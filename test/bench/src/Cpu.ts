/**
 * The CPU benchmark (issue #14 §5): what one stream of N text deltas costs the
 * consuming thread, per wire format and library, measured so that a run is
 * not billed for another's garbage:
 *
 * - no forced `gc()` anywhere (one before a timed run billed 15–450 ms of
 *   background GC to the next reader, see SDK-FACTS.md);
 * - main-thread CPU from `/proc/thread-self/schedstat` (process CPU where
 *   that file is missing) beside wall time;
 * - readers interleaved round-robin, the order rotated each round, after
 *   untimed warm-up rounds; ≥15 rounds by default;
 * - min, median and IQR per reader; the spread (IQR / median) stated;
 * - cost per delta (µs) and deltas per core-second, hence how many
 *   concurrent 50-token/s streams one core sustains.
 *
 * Ratios are to the raw SDK `for await` loop (Ollama: a hand-written fetch +
 * `JSON.parse` loop). `BENCH_QUICK=1`: 1,000 deltas, 3 rounds, a smoke test.
 */
import { readFileSync } from "node:fs"
import { Anthropic } from "@streamvisor/anthropic"
import { Google } from "@streamvisor/google"
import { OpenAI } from "@streamvisor/openai"
import type { Provider } from "@streamvisor/core"
import { bytesFloor, type Client, type Library, libraries, type WireFormat, wireFormats } from "./libraries/index.js"
import { API_KEY } from "./libraries/Library.js"
import { effectClient } from "./libraries/Streamvisor.js"
import type { Urls } from "./ServerClient.js"

/** Nanoseconds this thread has run on a CPU, or the process's CPU where Linux's per-thread file is missing. */
export const threadCpuNs: () => number = (() => {
  try {
    readFileSync("/proc/thread-self/schedstat", "utf8")
    return () => Number(readFileSync("/proc/thread-self/schedstat", "utf8").split(" ")[0])
  } catch {
    return () => {
      const usage = process.cpuUsage()
      return (usage.user + usage.system) * 1000
    }
  }
})()

export const CPU_SOURCE = (() => {
  try {
    readFileSync("/proc/thread-self/schedstat", "utf8")
    return "main-thread CPU (/proc/thread-self/schedstat)"
  } catch {
    return "process CPU (process.cpuUsage)"
  }
})()

/** The SDK-iterator path of streamvisor, to compare with the byte path (the default). */
const sdkPathProvider = (format: WireFormat, urls: Urls): Provider.Provider | string => {
  switch (format) {
    case "anthropic":
      return Anthropic.make({ apiKey: API_KEY, baseURL: urls.anthropic, transport: "sdk" })
    case "openai-chat":
      return OpenAI.make({ apiKey: API_KEY, baseURL: urls.openai, api: "chat", transport: "sdk" })
    case "openai-responses":
      return OpenAI.make({ apiKey: API_KEY, baseURL: urls.openai, api: "responses", transport: "sdk" })
    case "gemini":
      return Google.make({ apiKey: API_KEY, baseURL: urls.gemini, transport: "sdk" })
    case "ollama":
      return "no SDK: the HttpClient path is the alternative"
  }
}

const sdkPath: Library = {
  name: "streamvisor (sdk transport)",
  client: (format, urls) => {
    const provider = sdkPathProvider(format, urls)
    return typeof provider === "string" ? provider : effectClient(provider)
  }
}

export interface Stats {
  readonly min: number
  readonly median: number
  readonly q1: number
  readonly q3: number
}

const quantile = (sorted: ReadonlyArray<number>, q: number): number => {
  const at = (sorted.length - 1) * q
  const lo = Math.floor(at)
  const hi = Math.ceil(at)
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (at - lo)
}

export const stats = (samples: ReadonlyArray<number>): Stats => {
  const sorted = [...samples].sort((a, b) => a - b)
  return { min: sorted[0], median: quantile(sorted, 0.5), q1: quantile(sorted, 0.25), q3: quantile(sorted, 0.75) }
}

export interface CpuRow {
  readonly format: WireFormat
  readonly library: string
  readonly runs: number
  readonly cpu: Stats | undefined
  readonly wall: Stats | undefined
  readonly note?: string
}

interface Reader {
  readonly library: string
  readonly client: Client
  readonly cpu: Array<number>
  readonly wall: Array<number>
  warm?: number
  slow?: boolean
  error?: string
}

const timeOne = async (reader: Reader, deltas: number): Promise<void> => {
  const wallStart = performance.now()
  const cpuStart = threadCpuNs()
  const seen = await reader.client.readAll("bench")
  const cpu = (threadCpuNs() - cpuStart) / 1e6
  const wall = performance.now() - wallStart
  if (reader.library !== bytesFloor.name && seen !== deltas) throw new Error(`saw ${seen} text deltas, expected ${deltas}`)
  reader.cpu.push(cpu)
  reader.wall.push(wall)
}

export interface CpuConfig {
  readonly deltas: number
  readonly rounds: number
  readonly warmup: number
  /** Timed runs for readers ≥5× the raw SDK in warm-up. */
  readonly slowRounds: number
  readonly formats: ReadonlyArray<WireFormat>
  readonly skip: ReadonlySet<string>
  /**
   * The readers, the first being the baseline ("raw SDK" names the ratio's
   * base); by default every library, the SDK path and the bytes-only floor.
   */
  readonly libraries?: ReadonlyArray<CpuLibrary> | undefined
}

/** A reader of the CPU bench: a `Library`, or a variant the current-line bench adds (any name). */
export interface CpuLibrary {
  readonly name: string
  client(format: WireFormat, urls: Urls): Client | string
}

export const run = async (
  config: CpuConfig,
  server: { setScript(script: { deltas: number }): Promise<void>; urls: Urls }
): Promise<Array<CpuRow>> => {
  const rows: Array<CpuRow> = []
  for (const format of config.formats) {
    await server.setScript({ deltas: config.deltas })
    const readers: Array<Reader> = []
    for (const library of config.libraries ?? [...libraries, sdkPath, bytesFloor]) {
      if (config.skip.has(library.name)) {
        rows.push({ format, library: library.name, runs: 0, cpu: undefined, wall: undefined, note: "skipped" })
        continue
      }
      const client = library.client(format, server.urls)
      if (typeof client === "string") {
        rows.push({ format, library: library.name, runs: 0, cpu: undefined, wall: undefined, note: client })
      } else {
        readers.push({ library: library.name, client, cpu: [], wall: [] })
      }
    }
    for (let round = 0; round < config.warmup + config.rounds; round++) {
      const order = readers.map((_, i) => readers[(i + round) % readers.length])
      for (const reader of order) {
        if (reader.error !== undefined) continue
        // A reader ≥5× the raw SDK in warm-up (the Vercel AI SDK, @effect/ai)
        // gets `slowRounds` timed runs: its median is not in doubt, and its
        // runs would take most of the bench's time.
        if (round >= config.warmup + config.slowRounds && reader.slow) continue
        try {
          await timeOne(reader, config.deltas)
        } catch (cause) {
          reader.error = cause instanceof Error ? cause.message : String(cause)
        }
        if (round < config.warmup) {
          if (reader.cpu.length > 0) reader.warm = reader.cpu[0]
          const base = readers[0].warm // the raw SDK
          if (reader.warm !== undefined && base !== undefined && reader.warm > 5 * base) reader.slow = true
          reader.cpu.length = 0
          reader.wall.length = 0
        }
      }
      // Let the runs' own garbage be collected in an untimed gap, as in a
      // service between requests, rather than billing it to one reader.
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
    for (const reader of readers) {
      rows.push({
        format,
        library: reader.library,
        runs: reader.cpu.length,
        cpu: reader.cpu.length > 0 ? stats(reader.cpu) : undefined,
        wall: reader.wall.length > 0 ? stats(reader.wall) : undefined,
        ...(reader.error !== undefined ? { note: reader.error } : {})
      })
    }
    console.error(`[bench:cpu] ${format} done`)
  }
  return rows
}

const f = (n: number, digits = 1): string => n.toFixed(digits)

/** Markdown: one table per wire format. */
export const report = (rows: ReadonlyArray<CpuRow>, deltas: number, baseline = "raw SDK"): string => {
  const out: Array<string> = []
  for (const format of wireFormats) {
    const mine = rows.filter((row) => row.format === format)
    if (mine.length === 0) continue
    const base = mine.find((row) => row.library === baseline)?.cpu?.median
    out.push(
      `\n### ${format} (${deltas} deltas; ratio to ${
        format === "ollama" ? "hand-written fetch + JSON.parse" : baseline === "raw SDK" ? "the raw SDK loop" : baseline
      })\n`,
      "| library | CPU median ms | min | IQR | spread | ratio | wall median ms | µs/delta | deltas/core-s | 50-tok/s streams/core | runs |",
      "|---|---|---|---|---|---|---|---|---|---|---|"
    )
    for (const row of mine) {
      if (row.cpu === undefined || row.wall === undefined) {
        out.push(`| ${row.library} | n/a (${row.note ?? ""}) | | | | | | | | | 0 |`)
        continue
      }
      const { cpu, wall } = row
      const perDelta = (cpu.median * 1000) / deltas
      const perCoreSecond = deltas / (cpu.median / 1000)
      out.push(
        `| ${row.library} | ${f(cpu.median)} | ${f(cpu.min)} | ${f(cpu.q1)}–${f(cpu.q3)} | ±${
          f(((cpu.q3 - cpu.q1) / 2 / cpu.median) * 100, 0)
        }% | ${base === undefined ? "" : f(cpu.median / base, 2)}× | ${f(wall.median)} | ${f(perDelta, 2)} | ${
          Math.round(perCoreSecond).toLocaleString("en")
        } | ${Math.round(perCoreSecond / 50).toLocaleString("en")} | ${row.runs}${row.note ? ` (${row.note})` : ""} |`
      )
    }
  }
  return out.join("\n")
}

