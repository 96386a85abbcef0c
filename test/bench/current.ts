/**
 * `pnpm --filter @streamvisor/bench run bench:current` (root: `pnpm run
 * bench:current`): the CPU bench of src/Cpu.ts on the current line (issue
 * #17) — Node 22 (`npx -p node@22.23.3`), `openai` 7 and the Vercel AI SDK 7
 * beside `openai` 6 and the Vercel AI SDK 6 — as markdown on stdout and
 * `bench-current.json` beside this file. Needs Node ≥22 (openai 7, ai 7).
 *
 * Environment as `cpu.ts`: BENCH_QUICK=1, BENCH_DELTAS, BENCH_ROUNDS (default
 * 15), BENCH_FORMATS (default: the four SSE formats), BENCH_SKIP.
 */
import { writeFileSync } from "node:fs"
import * as path from "node:path"
import * as Cpu from "./src/Cpu.js"
import { currentLibraries } from "./src/libraries/Current.js"
import type { WireFormat } from "./src/libraries/index.js"
import { benchDir, ServerClient } from "./src/ServerClient.js"

const major = Number(process.versions.node.split(".")[0])
if (major < 22) {
  console.error(`[bench:current] needs Node ≥22 (openai 7, ai 7); this is ${process.version}: run it with npx --yes -p node@22.23.3 node --import tsx current.ts`)
  process.exit(1)
}
const quick = process.env.BENCH_QUICK === "1"
const list = (name: string): Array<string> => (process.env[name] ?? "").split(",").map((s) => s.trim()).filter((s) => s !== "")
const deltas = Number(process.env.BENCH_DELTAS ?? (quick ? 1_000 : 20_000))
const rounds = Number(process.env.BENCH_ROUNDS ?? (quick ? 3 : 15))
const formats: Array<WireFormat> = list("BENCH_FORMATS").length > 0
  ? (list("BENCH_FORMATS") as Array<WireFormat>)
  : ["anthropic", "openai-chat", "openai-responses", "gemini"]
const config: Cpu.CpuConfig = {
  deltas,
  rounds,
  warmup: quick ? 1 : 2,
  slowRounds: quick ? 1 : 5,
  formats,
  skip: new Set(list("BENCH_SKIP")),
  libraries: currentLibraries
}

const started = performance.now()
const server = await ServerClient.start()
let rows: Array<Cpu.CpuRow>
try {
  rows = await Cpu.run(config, server)
} finally {
  await server.close()
}
const seconds = (performance.now() - started) / 1000
console.log(`## The current line: CPU per stream, ${Cpu.CPU_SOURCE}, ${rounds} interleaved rounds after ${config.warmup} warm-up, no forced GC`)
console.log(`Node ${process.version}, ${deltas} text deltas per stream, ${seconds.toFixed(0)} s; "raw SDK" is openai 7 for the OpenAI formats`)
console.log(Cpu.report(rows, deltas))
writeFileSync(
  path.join(benchDir, quick ? "bench-current-quick.json" : "bench-current.json"),
  JSON.stringify({ node: process.version, deltas, rounds, cpuSource: Cpu.CPU_SOURCE, rows }, null, 2) + "\n"
)
if (rows.some((row) => row.note !== undefined && row.note !== "skipped" && row.runs > 0)) {
  console.error("[bench:current] a reader failed")
  process.exitCode = 1
}
