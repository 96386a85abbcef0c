/**
 * One backpressure measurement in a fresh process (RSS only grows within a
 * process, so each measurement needs its own): stream from the bench's server,
 * consume slowly (one event per millisecond, for a window) or fast (drain),
 * and report the peak RSS above the baseline taken just before the stream.
 * At the end of a slow window it asks the parent to look at the server
 * (how much it has written) before leaving. Started by `Backpressure.ts`.
 */
import { streamText } from "@streamvisor/core/promise"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"
import type { WireFormat } from "./libraries/Library.js"
import { provider, request } from "./libraries/Streamvisor.js"
import type { Urls } from "./ServerClient.js"
import { gc, sleep } from "./Stats.js"

export interface Job {
  readonly urls: Urls
  readonly format: WireFormat
  readonly api: "effect" | "promise"
  readonly mode: "slow" | "fast"
  readonly windowMs: number
  readonly model: string
  /** A model the server plays a short stream for: read once fast and once slowly before measuring. */
  readonly warmupModel: string
}

export interface Result {
  readonly type: "result"
  readonly baselineRss: number
  readonly peakRss: number
  readonly consumed: number
}

/** Sent at the end of a slow window; the parent answers `"continue"`. */
export interface WindowEnd {
  readonly type: "windowEnd"
}

const job = JSON.parse(process.argv[2]) as Job
const llm = provider(job.format, job.urls)

const windowEnd = (): Promise<void> =>
  new Promise((resolve) => {
    process.once("message", () => resolve())
    process.send!({ type: "windowEnd" } satisfies WindowEnd)
  })

/**
 * Reads `model`'s stream: drains it (fast), or takes one event per
 * millisecond for `windowMs`, calls `atWindowEnd`, and leaves (slow).
 * Resolves with the number of events consumed.
 */
const consume = async (
  model: string,
  mode: Job["mode"],
  windowMs: number,
  atWindowEnd: () => Promise<void>
): Promise<number> => {
  let consumed = 0
  if (job.api === "effect") {
    const events = llm.stream(request(model))
    if (mode === "fast") {
      await Effect.runPromise(Stream.runForEachChunk(events, (chunk) => Effect.sync(() => void (consumed += chunk.length))))
      return consumed
    }
    const fiber = Effect.runFork(Stream.runForEach(events, () => Effect.sleep(1).pipe(Effect.tap(() => void consumed++))))
    await sleep(windowMs)
    await atWindowEnd()
    await Effect.runPromise(Fiber.interrupt(fiber))
    return consumed
  }
  const deadline = performance.now() + windowMs
  for await (const _event of streamText(llm, request(model))) {
    consumed++
    if (mode === "fast") continue
    await sleep(1)
    if (performance.now() >= deadline) {
      await atWindowEnd()
      break
    }
  }
  return consumed
}

// Warm-up: the first seconds of any run grow RSS by tens of MB whatever the
// stream does (JIT compilation, allocator arenas); pay that before the baseline.
await consume(job.warmupModel, "fast", 0, async () => {})
await consume(job.warmupModel, "slow", Math.min(job.windowMs, 500), async () => {})
gc()
await sleep(50)
gc()
const baselineRss = process.memoryUsage.rss()
let peakRss = baselineRss
const sampler = setInterval(() => {
  const rss = process.memoryUsage.rss()
  if (rss > peakRss) peakRss = rss
}, 5)
const consumed = await consume(job.model, job.mode, job.windowMs, windowEnd)
clearInterval(sampler)
peakRss = Math.max(peakRss, process.memoryUsage.rss())
process.send!({ type: "result", baselineRss, peakRss, consumed } satisfies Result)
process.disconnect()
