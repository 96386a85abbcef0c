/**
 * The ledger counts every provider stream opened and released and lists the
 * ones still live. Tests, the demo and the supervisor's shutdown report read it;
 * `acquire` is the only writer.
 *
 * `Ledger` is a `Context.Reference`: a program that provides none writes to one
 * process-wide ledger, and a test provides a fresh one with `Ledger.layer`.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { globalValue } from "effect/GlobalValue"
import * as Layer from "effect/Layer"

/**
 * How a stream ended: read to its end, failed, or cut short by its consumer
 * (interruption, `take`, `break`, abort, timeout).
 *
 * @since 0.1.0
 * @category models
 */
export type Outcome = "completed" | "failed" | "cancelled"

/**
 * @since 0.1.0
 * @category models
 */
export interface TokenCount {
  readonly inputTokens: number
  readonly outputTokens: number
  /** The usage detail (see `StreamEvent.Usage`), present once some was recorded. */
  readonly cachedInputTokens?: number
  readonly cacheWriteTokens?: number
  readonly reasoningTokens?: number
}

/**
 * The usage detail a decoder may record with its token counts.
 *
 * @since 0.2.0
 */
export interface UsageDetail {
  readonly cachedInputTokens?: number | undefined
  readonly cacheWriteTokens?: number | undefined
  readonly reasoningTokens?: number | undefined
}

const DETAIL = ["cachedInputTokens", "cacheWriteTokens", "reasoningTokens"] as const

type Detail = { -readonly [K in (typeof DETAIL)[number]]: number }

const withDetail = (inputTokens: number, outputTokens: number, detail: Detail | undefined): TokenCount => {
  if (detail === undefined) return { inputTokens, outputTokens }
  const out: { -readonly [K in keyof TokenCount]: TokenCount[K] } = { inputTokens, outputTokens }
  for (const key of DETAIL) if (detail[key] > 0) out[key] = detail[key]
  return out
}

/**
 * A stream that has been opened and not yet released.
 *
 * @since 0.1.0
 * @category models
 */
export interface LiveStream {
  readonly id: number
  readonly provider: string
  readonly model: string
  readonly openedAt: Date
  readonly usage: TokenCount
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Snapshot {
  readonly opened: number
  readonly released: number
  readonly live: ReadonlyArray<LiveStream>
  readonly outcomes: Readonly<Record<Outcome, number>>
  /** Tokens recorded by every stream, released or live, including cut ones. */
  readonly usage: TokenCount
}

/**
 * One stream's line in the ledger. `release` returns `true` the first time and
 * `false` after that, so double release is visible.
 *
 * @since 0.1.0
 * @category models
 */
export interface Entry {
  readonly id: number
  readonly isReleased: boolean
  /** The counts so far (not increments); `detail` likewise. */
  readonly recordUsage: (inputTokens: number, outputTokens: number, detail?: UsageDetail) => void
  readonly release: (outcome: Outcome) => boolean
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  readonly open: (provider: string, model: string) => Entry
  readonly snapshot: () => Snapshot
  /**
   * Calls `listener` once no stream is live (at once if none is); returns a
   * function that cancels the wait.
   */
  readonly onNoneLive: (listener: () => void) => () => void
  /** Extra releases attempted after the first; a non-zero value is a bug. */
  readonly doubleReleases: () => number
}

class EntryImpl implements Entry {
  usageIn = 0
  usageOut = 0
  detail: Detail | undefined = undefined
  isReleased = false
  constructor(
    readonly ledger: LedgerImpl,
    readonly id: number,
    readonly provider: string,
    readonly model: string,
    readonly openedAt: Date
  ) {}
  recordUsage = (inputTokens: number, outputTokens: number, detail?: UsageDetail): void => {
    this.ledger.usageIn += inputTokens - this.usageIn
    this.ledger.usageOut += outputTokens - this.usageOut
    this.usageIn = inputTokens
    this.usageOut = outputTokens
    if (detail === undefined) return
    const mine = this.detail ??= { cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 }
    const total = this.ledger.detail ??= { cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 }
    for (const key of DETAIL) {
      const value = detail[key]
      if (value === undefined) continue
      total[key] += value - mine[key]
      mine[key] = value
    }
  }
  release = (outcome: Outcome): boolean => {
    if (this.isReleased) {
      this.ledger.doubles++
      return false
    }
    this.isReleased = true
    this.ledger.close(this, outcome)
    return true
  }
}

class LedgerImpl implements Service {
  nextId = 1
  opened = 0
  released = 0
  doubles = 0
  usageIn = 0
  usageOut = 0
  detail: Detail | undefined = undefined
  readonly outcomes: Record<Outcome, number> = { completed: 0, failed: 0, cancelled: 0 }
  readonly live = new Map<number, EntryImpl>()
  waiters = new Set<() => void>()

  open = (provider: string, model: string): Entry => {
    const entry = new EntryImpl(this, this.nextId++, provider, model, new Date())
    this.opened++
    this.live.set(entry.id, entry)
    return entry
  }
  close(entry: EntryImpl, outcome: Outcome): void {
    this.released++
    this.outcomes[outcome]++
    this.live.delete(entry.id)
    if (this.live.size === 0 && this.waiters.size > 0) {
      const waiters = Array.from(this.waiters)
      this.waiters.clear()
      for (const wake of waiters) wake()
    }
  }
  snapshot = (): Snapshot => ({
    opened: this.opened,
    released: this.released,
    outcomes: { ...this.outcomes },
    usage: withDetail(this.usageIn, this.usageOut, this.detail),
    live: Array.from(this.live.values(), (e) => ({
      id: e.id,
      provider: e.provider,
      model: e.model,
      openedAt: e.openedAt,
      usage: withDetail(e.usageIn, e.usageOut, e.detail)
    }))
  })
  onNoneLive = (listener: () => void): () => void => {
    if (this.live.size === 0) {
      listener()
      return () => {}
    }
    this.waiters.add(listener)
    return () => {
      this.waiters.delete(listener)
    }
  }
  doubleReleases = (): number => this.doubles
}

/**
 * Make a fresh, empty ledger.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (): Service => new LedgerImpl()

/**
 * The process-wide ledger used when a program provides none: one per process
 * even when two copies of core are installed (`globalValue`).
 *
 * @since 0.1.0
 * @category ledgers
 */
export const global: Service = globalValue(Symbol.for("@streamvisor/core/Ledger/global"), make)

/**
 * The ledger service. A `Context.Reference`, so it never appears in a
 * stream's requirements; it defaults to {@link global}.
 *
 * @since 0.1.0
 * @category tags
 */
export class Ledger extends Context.Reference<Ledger>()("@streamvisor/core/Ledger", {
  defaultValue: (): Service => global
}) {}

/**
 * A layer with a fresh ledger, for tests and isolated programs.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<Ledger> = Layer.sync(Ledger, make)

/**
 * The current ledger's counts and live streams.
 *
 * @since 0.1.0
 * @category accessors
 */
export const snapshot: Effect.Effect<Snapshot> = Effect.map(Ledger, (ledger) => ledger.snapshot())

/**
 * Raised by {@link assertNoneLive} when streams are still open.
 *
 * @since 0.1.0
 * @category errors
 */
export class LeakDetected extends Data.TaggedError("LeakDetected")<{
  readonly message: string
  readonly live: ReadonlyArray<LiveStream>
}> {}

const describe = (live: ReadonlyArray<LiveStream>): string =>
  `${live.length} stream(s) still live: ` +
  live.map((s) => `#${s.id} ${s.provider}/${s.model} since ${s.openedAt.toISOString()}`).join(", ")

/**
 * Fails with `LeakDetected` if any stream is live right now.
 *
 * @since 0.1.0
 * @category assertions
 */
export const assertNoneLive: Effect.Effect<void, LeakDetected> = Effect.flatMap(Ledger, (ledger) => {
  const live = ledger.snapshot().live
  return live.length === 0 ? Effect.void : Effect.fail(new LeakDetected({ message: describe(live), live }))
})

/**
 * Waits, at most `timeout`, until no stream is live; fails with `LeakDetected`
 * listing the survivors otherwise. For releases that finish on another fiber
 * or at garbage collection.
 *
 * @since 0.1.0
 * @category assertions
 */
export const awaitNoneLive = (timeout: Duration.DurationInput): Effect.Effect<void, LeakDetected> =>
  Effect.flatMap(Ledger, (ledger) =>
    Effect.async<void>((resume) => {
      const cancel = ledger.onNoneLive(() => resume(Effect.void))
      return Effect.sync(cancel)
    }).pipe(
      Effect.timeoutFail({
        duration: Duration.decode(timeout),
        onTimeout: () => {
          const live = ledger.snapshot().live
          return new LeakDetected({ message: describe(live), live })
        }
      })
    ))
