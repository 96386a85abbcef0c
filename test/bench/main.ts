/**
 * `pnpm bench`: every benchmark against one FakeLlmServer child, a markdown
 * table per benchmark on stdout, and `bench-results.json` at the repo root.
 * See src/Config.ts for the environment variables.
 */
import * as Backpressure from "./src/Backpressure.js"
import * as Cleanup from "./src/Cleanup.js"
import * as Config from "./src/Config.js"
import * as FirstEvent from "./src/FirstEvent.js"
import * as Leaks from "./src/Leaks.js"
import * as Report from "./src/Report.js"
import { ServerClient } from "./src/ServerClient.js"
import * as Supervisor from "./src/Supervisor.js"
import * as Throughput from "./src/Throughput.js"

type Rows = Array<Omit<Report.Row, "ratioToRawSdk">>

const config = Config.fromEnv()
const steps: ReadonlyArray<readonly [Config.BenchmarkName, (config: Config.Config, server: ServerClient) => Promise<Rows>]> = [
  ["throughput", Throughput.run],
  ["first-event", FirstEvent.run],
  ["cleanup", Cleanup.run],
  ["leaks", Leaks.run],
  ["backpressure", Backpressure.run],
  ["supervisor", Supervisor.run]
]

const started = performance.now()
const server = await ServerClient.start()
const rows: Rows = []
try {
  for (const [name, run] of steps) {
    if (!config.only.has(name)) continue
    const t = performance.now()
    rows.push(...(await run(config, server)))
    await server.reset()
    console.error(`[bench] ${name} done in ${((performance.now() - t) / 1000).toFixed(1)} s`)
  }
} finally {
  await server.close()
}

const compared = new Map<string, string>([
  ...[Throughput.BENCHMARK, Throughput.CPU, FirstEvent.BENCHMARK, Cleanup.P50, Cleanup.P99].map((b) => [b, b] as const),
  ...["p50", "p99"].flatMap((p) =>
    [Supervisor.RAW_CUT, Supervisor.STREAM_CUT, Supervisor.SESSION_CUT].map((b) => [`${b} ${p}`, `${Supervisor.RAW_CUT} ${p}`] as const)
  )
])
const all = Report.withRatios(rows, compared)
const { cleanup, firstEvent, throughput } = config
const tables: ReadonlyArray<readonly [string, (benchmark: string) => boolean]> = [
  [`Throughput: ${throughput.deltas} text deltas, wall time (median; ratio to the raw SDK)`, (b) => b === Throughput.BENCHMARK],
  [`Throughput: ${throughput.deltas} text deltas, CPU time of the bench process (median)`, (b) => b === Throughput.CPU],
  [`Time to first text delta (median of ${firstEvent.runs})`, (b) => b === FirstEvent.BENCHMARK],
  [`Cleanup: stop decided → server-observed close, p50 of ${cleanup.runs}`, (b) => b === Cleanup.P50],
  [`Cleanup: stop decided → server-observed close, p99 of ${cleanup.runs}`, (b) => b === Cleanup.P99],
  ["Leaks under early exit: responses still in flight", (b) => b.startsWith("leaks:")],
  ["Backpressure (one event per ms vs drain)", (b) => b.startsWith("backpressure:")],
  ["Supervisor scale and mass cuts", (b) => b.startsWith("supervisor:") || b.startsWith("mass cut:")]
]
for (const [title, includes] of tables) {
  const selected = all.filter((r) => includes(r.benchmark))
  if (selected.length === 0) continue
  console.log(Report.table(title, selected))
  console.log("")
}
Report.write(config.output, Report.results(all, { ...config, only: [...config.only] }))
console.error(`[bench] wrote ${config.output} (${((performance.now() - started) / 1000).toFixed(0)} s in all)`)
