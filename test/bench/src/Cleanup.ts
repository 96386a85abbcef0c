/**
 * Benchmark 3, cleanup latency: from the moment a consumer decides to stop
 * (after `cutAfter` text deltas of a slow answer) to the server seeing the
 * response closed. The consumer stops the library's idiomatic way: `break`
 * (raw SDK, promise facade), `Fiber.interrupt` (Effect APIs), `abortSignal`
 * and `break` (Vercel).
 *
 * The two ends are in different processes. Both are read on the machine-wide
 * monotonic clock (`Clock.ts`): the bench stamps the decision, the server
 * child stamps its response's `close` event and sends it over IPC, so IPC
 * delays do not count. Each run uses its own model name to pair the two.
 * Where a stop does not cut the request (the Gemini SDK on `break`), the
 * latency is to the answer's natural end, and the row says so.
 */
import type { Config } from "./Config.js"
import { type Client, type Library, libraries, type WireFormat, wireFormats } from "./libraries/index.js"
import type { Row } from "./Report.js"
import type { ServerClient } from "./ServerClient.js"
import { percentile } from "./Stats.js"

export const P50 = "cleanup latency p50"
export const P99 = "cleanup latency p99"

const CLOSE_TIMEOUT_MS = 10_000

interface Entry {
  readonly index: number
  readonly library: Library
  readonly client: Client
  readonly samples: Array<number>
  notCut: number
  error?: string
}

const runFormat = async (format: WireFormat, config: Config, server: ServerClient): Promise<Array<Omit<Row, "ratioToRawSdk">>> => {
  const rows: Array<Omit<Row, "ratioToRawSdk">> = []
  const entries: Array<Entry> = []
  libraries.forEach((library, index) => {
    const client = library.client(format, server.urls)
    if (typeof client === "string") {
      for (const benchmark of [P50, P99]) {
        rows.push({ benchmark, wireFormat: format, library: library.name, value: null, unit: "ms", note: client })
      }
    } else {
      entries.push({ index, library, client, samples: [], notCut: 0 })
    }
  })
  const { cutAfter, runs } = config.cleanup
  for (let round = 0; round < runs; round++) {
    for (let k = 0; k < entries.length; k++) {
      const entry = entries[(k + round) % entries.length]
      if (entry.error !== undefined || entry.client.cutAfter === undefined) continue
      const model = `cut-${format}-${entry.index}-${round}`
      try {
        const cutAt = await entry.client.cutAfter(model, cutAfter)
        const closed = await server.closeOf(model, CLOSE_TIMEOUT_MS)
        if (closed === undefined) throw new Error(`the server saw no close within ${CLOSE_TIMEOUT_MS} ms`)
        if (!closed.byClient) entry.notCut++
        entry.samples.push(closed.closedAt - cutAt)
      } catch (cause) {
        entry.error = cause instanceof Error ? cause.message : String(cause)
      }
    }
  }
  for (const entry of entries) {
    const note = entry.error !== undefined
      ? `failed: ${entry.error}`
      : entry.notCut > 0
      ? `not cut: in ${entry.notCut} of ${entry.samples.length} runs the server wrote the whole answer; the latency is to its end`
      : undefined
    for (const [benchmark, p] of [[P50, 50], [P99, 99]] as const) {
      rows.push({
        benchmark,
        wireFormat: format,
        library: entry.library.name,
        value: entry.error === undefined ? percentile(entry.samples, p) : null,
        unit: "ms",
        ...(note === undefined ? {} : { note })
      })
    }
  }
  return rows
}

export const run = async (config: Config, server: ServerClient): Promise<Array<Omit<Row, "ratioToRawSdk">>> => {
  const { deltas, delayMs } = config.cleanup
  await server.setScript({ deltas, delayMs })
  const rows: Array<Omit<Row, "ratioToRawSdk">> = []
  for (const format of wireFormats) rows.push(...(await runFormat(format, config, server)))
  await server.waitForIdle()
  return rows
}
