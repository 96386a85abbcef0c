/**
 * Benchmark 4, leaks under early exit. Against a slow answer (100 deltas, one
 * per 50 ms), every library × wire format at once, two consumers:
 * - "break": leaves after 3 text deltas with a plain `break` (Effect APIs:
 *   `Fiber.interrupt`, their only way to leave);
 * - "stop reading": takes 3 text deltas, then keeps the iterator and never
 *   calls `next()` again (Effect APIs: a `Stream.toPull` whose scope is left
 *   open, the nearest they can express).
 * Reported: responses the server still has in flight 1 s later; for "stop
 * reading" also after the consumers drop what they held and a forced GC (the
 * promise facade's `FinalizationRegistry` backstop releases then).
 */
import type { Config } from "./Config.js"
import { type Held, libraries, type LibraryName, wireFormats } from "./libraries/index.js"
import type { Row } from "./Report.js"
import type { ServerClient } from "./ServerClient.js"
import { gc, sleep } from "./Stats.js"

export const BREAK = "leaks: break after 3, in flight after 1 s"
export const STOP = "leaks: stop reading, in flight after 1 s"
export const STOP_GC = "leaks: stop reading, in flight after drop + GC"

interface Case {
  readonly model: string
  readonly library: LibraryName
  readonly format: string
  /** Starts the consumer; resolves once it has stopped (what it holds, for "stop reading"). */
  readonly start: () => Promise<Held | undefined>
  note?: string
  /** Set when the library has no client for the format, or its consumer failed. */
  missing?: boolean
}

/** How each library's consumer leaves, where it is not the plain `break` / kept iterator. */
const how: Partial<Record<LibraryName, { readonly break?: string; readonly stop?: string }>> = {
  "streamvisor": {
    break: "Fiber.interrupt (an Effect consumer's way to leave)",
    stop: "a Stream.toPull whose scope is left open (the Effect API cannot stop pulling otherwise; closing the scope releases it)"
  },
  "@effect/ai": {
    break: "Fiber.interrupt (an Effect consumer's way to leave)",
    stop: "a Stream.toPull whose scope is left open (the Effect API cannot stop pulling otherwise; closing the scope releases it)"
  },
  "Vercel AI SDK": { break: "plain break out of textStream, no abortSignal" }
}

const cases = (server: ServerClient, scenario: "break" | "stop", after: number): Array<Case> => {
  const out: Array<Case> = []
  for (const format of wireFormats) {
    libraries.forEach((library, index) => {
      const client = library.client(format, server.urls)
      const model = `leak-${scenario}-${format}-${index}`
      if (typeof client === "string") {
        out.push({ model, library: library.name, format, start: () => Promise.resolve(undefined), note: client, missing: true })
        return
      }
      const start = scenario === "break"
        ? () => (client.breakAfter ?? client.cutAfter)!.call(client, model, after).then(() => undefined)
        : () => client.stopAfter!(model, after)
      const note = how[library.name]?.[scenario]
      out.push({ model, library: library.name, format, start, ...(note === undefined ? {} : { note }) })
    })
  }
  return out
}

/** Responses in flight per model. */
const inflightByModel = async (server: ServerClient): Promise<Map<string, number>> => {
  const counts = new Map<string, number>()
  for (const r of await server.inflight()) {
    if (r.model !== undefined) counts.set(r.model, (counts.get(r.model) ?? 0) + 1)
  }
  return counts
}

const errorText = (cause: unknown): string => (cause instanceof Error ? cause.message : String(cause))

/** Starts a case's consumer; a failure is recorded on the case. */
const start = (c: Case): Promise<Held | undefined> =>
  c.start().catch((cause) => {
    c.note = `failed: ${errorText(cause)}`
    c.missing = true
    return undefined
  })

export const run = async (config: Config, server: ServerClient): Promise<Array<Omit<Row, "ratioToRawSdk">>> => {
  const { after, delayMs, deltas, waitMs } = config.leaks
  await server.setScript({ deltas, delayMs })
  const rows: Array<Omit<Row, "ratioToRawSdk">> = []
  const row = (benchmark: string, c: Case, value: number | null) =>
    rows.push({
      benchmark,
      wireFormat: c.format,
      library: c.library,
      value,
      unit: "responses",
      ...(c.note === undefined ? {} : { note: c.note })
    })

  // "break"
  const breaking = cases(server, "break", after)
  await Promise.all(breaking.map(start))
  await sleep(waitMs)
  let live = await inflightByModel(server)
  for (const c of breaking) row(BREAK, c, c.missing === true ? null : live.get(c.model) ?? 0)
  await server.waitForIdle(deltas * delayMs + 5_000)

  // "stop reading": the consumers' holdings live in `held` only.
  const stopping = cases(server, "stop", after)
  const held: Array<Held | undefined> = await Promise.all(stopping.map(start))
  await sleep(waitMs)
  live = await inflightByModel(server)
  for (const c of stopping) row(STOP, c, c.missing === true ? null : live.get(c.model) ?? 0)
  // Drop everything the consumers held, collect, give finalizers a moment.
  held.length = 0
  for (let i = 0; i < 3; i++) {
    gc()
    await sleep(50)
  }
  await sleep(Math.min(waitMs, 250))
  live = await inflightByModel(server)
  for (const c of stopping) row(STOP_GC, c, c.missing === true ? null : live.get(c.model) ?? 0)
  await server.waitForIdle(deltas * delayMs + 5_000)
  return rows
}
