/**
 * Benchmark 2, time to first event: from the call that starts a stream to the
 * consumer holding the first text delta, with a server that sends it at once
 * (`firstDelayMs` 0). Median over many runs, libraries alternating; the rest
 * of each (short) answer is read so connections go back to their pools.
 */
import type { Config } from "./Config.js"
import { type Client, type Library, libraries, type WireFormat, wireFormats } from "./libraries/index.js"
import type { Row } from "./Report.js"
import type { ServerClient } from "./ServerClient.js"
import { median } from "./Stats.js"

export const BENCHMARK = "time to first event"

const timeOne = async (client: Client): Promise<number> => {
  const start = performance.now()
  let first = Number.NaN
  await client.readAll("first", () => {
    first = performance.now()
  })
  if (Number.isNaN(first)) throw new Error("no text delta")
  return first - start
}

const runFormat = async (format: WireFormat, config: Config, server: ServerClient): Promise<Array<Omit<Row, "ratioToRawSdk">>> => {
  const rows: Array<Omit<Row, "ratioToRawSdk">> = []
  const entries: Array<{ library: Library; client: Client; samples: Array<number>; error?: string }> = []
  for (const library of libraries) {
    const client = library.client(format, server.urls)
    if (typeof client === "string") {
      rows.push({ benchmark: BENCHMARK, wireFormat: format, library: library.name, value: null, unit: "ms", note: client })
    } else {
      entries.push({ library, client, samples: [] })
    }
  }
  const { runs, warmup } = config.firstEvent
  for (let round = -warmup; round < runs; round++) {
    for (let k = 0; k < entries.length; k++) {
      const entry = entries[(k + Math.max(0, round)) % entries.length]
      if (entry.error !== undefined) continue
      try {
        const t = await timeOne(entry.client)
        if (round >= 0) entry.samples.push(t)
      } catch (cause) {
        entry.error = cause instanceof Error ? cause.message : String(cause)
      }
    }
  }
  for (const entry of entries) {
    rows.push({
      benchmark: BENCHMARK,
      wireFormat: format,
      library: entry.library.name,
      value: entry.error === undefined ? median(entry.samples) : null,
      unit: "ms",
      ...(entry.error === undefined ? {} : { note: `failed: ${entry.error}` })
    })
  }
  return rows
}

export const run = async (config: Config, server: ServerClient): Promise<Array<Omit<Row, "ratioToRawSdk">>> => {
  await server.setScript({ deltas: config.firstEvent.deltas, firstDelayMs: 0 })
  const rows: Array<Omit<Row, "ratioToRawSdk">> = []
  for (const format of wireFormats) rows.push(...(await runFormat(format, config, server)))
  await server.waitForIdle()
  return rows
}
