/**
 * Sizes and repetitions, from the environment:
 * - `BENCH_DELTAS` text deltas per throughput stream (default 20,000)
 * - `BENCH_QUICK=1` every benchmark at tiny sizes (a smoke run, seconds)
 * - `BENCH_ONLY=throughput,cleanup` run only these benchmarks
 * - `BENCH_OUTPUT` where to write the JSON (default `bench-results.json` at the repo root)
 */
import * as path from "node:path"
import { benchDir } from "./ServerClient.js"

export type BenchmarkName = "throughput" | "first-event" | "cleanup" | "leaks" | "backpressure" | "supervisor"

export const benchmarkNames: ReadonlyArray<BenchmarkName> = [
  "throughput",
  "first-event",
  "cleanup",
  "leaks",
  "backpressure",
  "supervisor"
]

export interface Config {
  readonly quick: boolean
  readonly only: ReadonlySet<BenchmarkName>
  readonly output: string
  readonly throughput: {
    readonly deltas: number
    /** Timed runs of the fast libraries (median taken), and of the slow ones. */
    readonly runs: number
    readonly slowRuns: number
    readonly warmup: number
  }
  readonly firstEvent: { readonly runs: number; readonly warmup: number; readonly deltas: number }
  readonly cleanup: { readonly runs: number; readonly deltas: number; readonly delayMs: number; readonly cutAfter: number }
  readonly leaks: { readonly deltas: number; readonly delayMs: number; readonly after: number; readonly waitMs: number }
  readonly backpressure: {
    readonly lengths: ReadonlyArray<number>
    readonly windowMs: number
    readonly formats: ReadonlyArray<string>
    readonly apis: ReadonlyArray<"effect" | "promise">
  }
  readonly supervisor: { readonly idle: number; readonly streaming: number; readonly deltas: number }
}

const int = (name: string, fallback: number): number => {
  const value = process.env[name]
  if (value === undefined || value === "") return fallback
  const n = Number(value)
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, got ${value}`)
  return n
}

export const fromEnv = (): Config => {
  const quick = process.env.BENCH_QUICK === "1"
  const onlyText = process.env.BENCH_ONLY
  const only = new Set<BenchmarkName>(
    onlyText === undefined || onlyText === ""
      ? benchmarkNames
      : onlyText.split(",").map((s) => {
        const name = s.trim() as BenchmarkName
        if (!benchmarkNames.includes(name)) throw new Error(`BENCH_ONLY: unknown benchmark ${s}`)
        return name
      })
  )
  const output = process.env.BENCH_OUTPUT ?? path.resolve(benchDir, "..", "..", "bench-results.json")
  const all = ["anthropic", "openai-chat", "openai-responses", "gemini", "ollama"]
  if (quick) {
    return {
      quick,
      only,
      output,
      throughput: { deltas: int("BENCH_DELTAS", 200), runs: 1, slowRuns: 1, warmup: 0 },
      firstEvent: { runs: 2, warmup: 1, deltas: 5 },
      cleanup: { runs: 2, deltas: 10, delayMs: 10, cutAfter: 3 },
      leaks: { deltas: 20, delayMs: 20, after: 3, waitMs: 150 },
      backpressure: { lengths: [300, 600], windowMs: 100, formats: ["anthropic"], apis: ["effect"] },
      supervisor: { idle: 100, streaming: 10, deltas: 20 }
    }
  }
  return {
    quick,
    only,
    output,
    throughput: { deltas: int("BENCH_DELTAS", 20_000), runs: 9, slowRuns: 3, warmup: 4 },
    firstEvent: { runs: 30, warmup: 3, deltas: 5 },
    cleanup: { runs: 50, deltas: 30, delayMs: 20, cutAfter: 3 },
    leaks: { deltas: 100, delayMs: 50, after: 3, waitMs: 1_000 },
    backpressure: { lengths: [10_000, 100_000], windowMs: 3_000, formats: all, apis: ["effect", "promise"] },
    supervisor: { idle: 10_000, streaming: 1_000, deltas: 100 }
  }
}
