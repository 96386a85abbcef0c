/**
 * Benchmark 6, supervisor scale (`@streamvisor/supervisor`, Anthropic wire
 * format):
 * - memory per idle session: heap after a forced GC with N sessions spawned,
 *   minus before, over N (target < 10 KB); and how long the shutdown of N
 *   idle sessions takes;
 * - M sessions streaming at once from the server: text deltas per second
 *   across all of them;
 * - M streams mid-answer (a slow script), all cut at one moment: p50 / p99
 *   from that moment to the server seeing each response closed (shared clock,
 *   as in `Cleanup.ts`), for supervisor sessions, and as baselines for plain
 *   provider streams and the raw SDK (`AbortController.abort()` each).
 * The supervisor package is loaded lazily: if it is missing or broken, the
 * rows say so instead of failing the run.
 */
import AnthropicSdk from "@anthropic-ai/sdk"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Stream from "effect/Stream"
import { now } from "./Clock.js"
import type { Config } from "./Config.js"
import { API_KEY, type LibraryName } from "./libraries/Library.js"
import { provider, request } from "./libraries/Streamvisor.js"
import type { Row } from "./Report.js"
import type { ServerClient } from "./ServerClient.js"
import { gc, percentile, sleep } from "./Stats.js"

type SupervisorModule = typeof import("@streamvisor/supervisor")

const FORMAT = "anthropic"
export const MEMORY = "supervisor: heap per idle session"
export const SHUTDOWN = "supervisor: shutdown of the idle sessions"
export const RATE = "supervisor: text deltas per second, sessions streaming at once"
/** `${name} p50` / `${name} p99`: from the cut to the server seeing each response closed. */
export const RAW_CUT = "mass cut: all streams aborted at once → server close"
export const STREAM_CUT = "mass cut: all streams interrupted at once → server close"
export const SESSION_CUT = "supervisor: all sessions interrupted at once → server close"

const heapAfterGc = async (): Promise<number> => {
  for (let i = 0; i < 3; i++) {
    gc()
    await sleep(10)
  }
  return process.memoryUsage().heapUsed
}

const isText = (event: { readonly _tag: string }) => event._tag === "TextDelta"

/** Runs a supervisor program without its Info logs (shutdown reports) on stdout. */
const runQuiet = <A, E>(program: Effect.Effect<A, E>): Promise<A> =>
  Effect.runPromise(Logger.withMinimumLogLevel(program, LogLevel.Warning))

export const run = async (config: Config, server: ServerClient): Promise<Array<Omit<Row, "ratioToRawSdk">>> => {
  const { deltas, idle, streaming } = config.supervisor
  const row = (benchmark: string, value: number | null, unit: string, note?: string): Omit<Row, "ratioToRawSdk"> => ({
    benchmark,
    wireFormat: benchmark === MEMORY || benchmark === SHUTDOWN ? "-" : FORMAT,
    library: "streamvisor",
    value,
    unit,
    ...(note === undefined ? {} : { note })
  })
  let module: SupervisorModule
  try {
    module = await import("@streamvisor/supervisor")
  } catch (cause) {
    const note = `TODO: @streamvisor/supervisor did not load (${cause instanceof Error ? cause.message : String(cause)})`
    return [MEMORY, SHUTDOWN, RATE, `${SESSION_CUT} p50`, `${SESSION_CUT} p99`].map((b) => row(b, null, "-", note))
  }
  const { Supervisor } = module
  const llm = provider(FORMAT, server.urls)
  const rows: Array<Omit<Row, "ratioToRawSdk">> = []

  // Idle sessions: heap per session, then the shutdown (the scope closing).
  {
    const before = await heapAfterGc()
    const measured = await runQuiet(Effect.scoped(Effect.gen(function*() {
      const supervisor = yield* Supervisor.make({ name: "bench-idle" })
      yield* Effect.forEach(
        Array.from({ length: idle }, (_, i) => i),
        (i) => supervisor.spawn({ id: `idle-${i}`, provider: llm, model: "idle" }),
        { discard: true }
      )
      const heap = yield* Effect.promise(heapAfterGc)
      return { heap, shutdownFrom: performance.now() }
    })))
    const shutdownMs = performance.now() - measured.shutdownFrom
    rows.push(row(MEMORY, (measured.heap - before) / idle / 1024, "KB", `${idle} sessions`))
    rows.push(row(SHUTDOWN, shutdownMs, "ms", `${idle} sessions`))
  }

  // Sessions streaming at once: throughput.
  await server.setScript({ deltas })
  {
    const start = performance.now()
    const counts = await runQuiet(Effect.scoped(Effect.gen(function*() {
      const supervisor = yield* Supervisor.make({ name: "bench-rate" })
      return yield* Effect.forEach(
        Array.from({ length: streaming }, (_, i) => i),
        (i) =>
          Effect.gen(function*() {
            const session = yield* supervisor.spawn({ id: `rate-${i}`, provider: llm, model: `rate-${i}` })
            let n = 0
            yield* Stream.runForEachChunk(session.send("Hi"), (chunk) =>
              Effect.sync(() => {
                for (const event of chunk) if (isText(event)) n++
              }))
            return n
          }),
        { concurrency: "unbounded" }
      )
    })))
    const elapsed = (performance.now() - start) / 1000
    const total = counts.reduce((a, b) => a + b, 0)
    rows.push(row(RATE, total / elapsed, "events/s", `${streaming} sessions × ${deltas} deltas`))
  }
  await server.waitForIdle(30_000)

  // Many streams mid-answer, all cut at once: raw SDK (abort), plain
  // provider streams (Fiber.interruptAll), supervisor sessions (the same).
  await server.setScript({ deltas: 100, delayMs: 50 })
  const sdk = new AnthropicSdk({ apiKey: API_KEY, baseURL: server.urls.anthropic, maxRetries: 0 })
  const after = config.cleanup.cutAfter
  const variants: ReadonlyArray<readonly [string, LibraryName, (models: ReadonlyArray<string>, reached: () => void) => Promise<() => Promise<void>>]> = [
    [RAW_CUT, "raw SDK", async (models, reached) => {
      const controllers = models.map(() => new AbortController())
      const runs = models.map(async (model, i) => {
        let n = 0
        try {
          const events = await sdk.messages.create(
            { model, max_tokens: 1024, messages: [{ role: "user", content: "Hi" }], stream: true },
            { signal: controllers[i].signal }
          )
          for await (const event of events) {
            if (event.type === "content_block_delta" && event.delta.type === "text_delta" && ++n === after) reached()
          }
        } catch {
          // aborted
        }
      })
      return async () => {
        for (const controller of controllers) controller.abort()
        await Promise.all(runs)
      }
    }],
    [STREAM_CUT, "streamvisor", async (models, reached) => {
      const fibers = models.map((model) => {
        let n = 0
        return Effect.runFork(Stream.runForEachChunk(llm.stream(request(model)), (chunk) =>
          Effect.sync(() => {
            for (const event of chunk) if (isText(event) && ++n === after) reached()
          })))
      })
      return () => Effect.runPromise(Fiber.interruptAll(fibers))
    }],
    [SESSION_CUT, "streamvisor", (models, reached) =>
      new Promise((started, failed) => {
        // The supervisor lives until the cut is done; then its scope closes.
        runQuiet(Effect.scoped(Effect.gen(function*() {
          const supervisor = yield* Supervisor.make({ name: "bench-cut" })
          const fibers = yield* Effect.forEach(models, (model) =>
            Effect.gen(function*() {
              const session = yield* supervisor.spawn({ id: model, provider: llm, model })
              let n = 0
              return yield* Effect.fork(Stream.runForEachChunk(session.send("Hi"), (chunk) =>
                Effect.sync(() => {
                  for (const event of chunk) if (isText(event) && ++n === after) reached()
                })))
            }))
          const done = yield* Deferred.make<void>()
          started(async () => {
            await Effect.runPromise(Fiber.interruptAll(fibers))
            await Effect.runPromise(Deferred.succeed(done, undefined))
          })
          yield* Deferred.await(done)
        }))).catch(failed)
      })]
  ]
  for (const [benchmark, library, start] of variants) {
    const models = Array.from({ length: streaming }, (_, i) => `${benchmark === RAW_CUT ? "raw" : benchmark === STREAM_CUT ? "sv" : "sup"}-cut-${i}`)
    let count = 0
    let allReached!: () => void
    const ready = new Promise<void>((resolve) => (allReached = resolve))
    const cut = await start(models, () => {
      if (++count === streaming) allReached()
    })
    await ready
    const cutAt = now()
    await cut()
    const latencies: Array<number> = []
    let missing = 0
    for (const model of models) {
      const closed = await server.closeOf(model, 10_000)
      if (closed === undefined || !closed.byClient) missing++
      else latencies.push(closed.closedAt - cutAt)
    }
    const note = missing > 0 ? `${missing} of ${streaming} responses were not cut by the client` : undefined
    rows.push({ ...row(`${benchmark} p50`, percentile(latencies, 50), "ms", note), library })
    rows.push({ ...row(`${benchmark} p99`, percentile(latencies, 99), "ms", note), library })
    await server.waitForIdle(30_000)
  }
  return rows
}
