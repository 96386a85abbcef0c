/**
 * `pnpm bench:cpu` (and `pnpm bench:quick` at the root, `BENCH_QUICK=1`): the
 * CPU benchmark of src/Cpu.ts and the SSE parser comparison of src/Parser.ts,
 * as markdown on stdout and `bench-cpu.json` beside this file.
 *
 * Environment: BENCH_QUICK=1 (1,000 deltas, 3 rounds: a smoke test, ≤60 s),
 * BENCH_DELTAS, BENCH_ROUNDS (default 15), BENCH_FORMATS (comma list),
 * BENCH_SKIP (library names, comma list).
 */
import { writeFileSync } from "node:fs"
import * as path from "node:path"
import * as Cpu from "./src/Cpu.js"
import type { WireFormat } from "./src/libraries/index.js"
import { wireFormats } from "./src/libraries/index.js"
import * as Parser from "./src/Parser.js"
import { benchDir, ServerClient } from "./src/ServerClient.js"

const quick = process.env.BENCH_QUICK === "1"
const list = (name: string): Array<string> => (process.env[name] ?? "").split(",").map((s) => s.trim()).filter((s) => s !== "")
const deltas = Number(process.env.BENCH_DELTAS ?? (quick ? 1_000 : 20_000))
const rounds = Number(process.env.BENCH_ROUNDS ?? (quick ? 3 : 15))
const formats = list("BENCH_FORMATS").length > 0 ? (list("BENCH_FORMATS") as Array<WireFormat>) : wireFormats
const config: Cpu.CpuConfig = { deltas, rounds, warmup: quick ? 1 : 2, slowRounds: quick ? 1 : 5, formats, skip: new Set(list("BENCH_SKIP")) }

const started = performance.now()
const server = await ServerClient.start()
let rows: Array<Cpu.CpuRow>
let parserRows: Array<Parser.ParserRow>
try {
  rows = await Cpu.run(config, server)
  parserRows = await Parser.run(formats, rounds, server, deltas)
} finally {
  await server.close()
}
const seconds = (performance.now() - started) / 1000
console.log(`## CPU per stream: ${Cpu.CPU_SOURCE}, ${rounds} interleaved rounds after ${config.warmup} warm-up, no forced GC`)
console.log(`Node ${process.version}, ${deltas} text deltas per stream, ${seconds.toFixed(0)} s`)
console.log(Cpu.report(rows, deltas))
console.log(Parser.report(parserRows))
writeFileSync(
  path.join(benchDir, quick ? "bench-cpu-quick.json" : "bench-cpu.json"),
  JSON.stringify({ node: process.version, deltas, rounds, cpuSource: Cpu.CPU_SOURCE, rows, parsers: parserRows }, null, 2) + "\n"
)
if (rows.some((row) => row.note !== undefined && row.note !== "skipped" && row.runs > 0)) {
  console.error("[bench:cpu] a reader failed")
  process.exitCode = 1
}
