/**
 * `hedge` asks a second provider when the first is slow to start, and keeps
 * whichever produces an event first.
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import type * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { ChatRequest } from "./ChatRequest.js"
import type { LlmError } from "./LlmError.js"
import * as Provider from "./Provider.js"
import type { StreamEvent } from "./StreamEvent.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface HedgeOptions {
  /** How long the first provider may go without an event before the second starts. */
  readonly after: Duration.DurationInput
}

type Pull = Effect.Effect<Chunk.Chunk<StreamEvent>, Option.Option<LlmError>>

interface Contender {
  readonly scope: Scope.CloseableScope
  readonly pull: Pull
  readonly first: Fiber.RuntimeFiber<Chunk.Chunk<StreamEvent>, Option.Option<LlmError>>
}

/** Pull until the first non-empty chunk (or the end, or a failure). */
const firstChunk = (pull: Pull): Pull =>
  Effect.flatMap(pull, (chunk) => (chunk.length > 0 ? Effect.succeed(chunk) : firstChunk(pull)))

const start = (events: Stream.Stream<StreamEvent, LlmError>) =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const pull = yield* Scope.extend(Stream.toPull(events), scope)
    // `start` runs as an uninterruptible acquire, and a fiber forked there would
    // inherit that: the race must be able to interrupt the loser.
    const first = yield* Effect.forkDaemon(Effect.interruptible(firstChunk(pull)))
    return { scope, pull, first } satisfies Contender
  })

const discard = (contender: Contender) =>
  Effect.zipRight(Fiber.interrupt(contender.first), Scope.close(contender.scope, Exit.void))

/** Continue a contender's stream from its first pull's result. */
const follow = (contender: Contender, first: FirstExit): Stream.Stream<StreamEvent, LlmError> => {
  let pending: Pull | undefined = first
  const pull = Effect.suspend(() => {
    const next = pending ?? contender.pull
    pending = undefined
    return next
  })
  return Stream.ensuring(Stream.repeatEffectChunkOption(pull), Scope.close(contender.scope, Exit.void))
}

type FirstExit = Exit.Exit<Chunk.Chunk<StreamEvent>, Option.Option<LlmError>>

/**
 * Whether a contender's first pull ended its part in the race: an event (or a
 * clean end), or a failure that another provider would not cure. Only a
 * retryable `LlmError` before any event lets the other contender take over.
 */
const settles = (exit: FirstExit): boolean => {
  if (Exit.isSuccess(exit)) return true
  const failure = Cause.failureOption(exit.cause)
  if (Option.isNone(failure)) return true
  return Option.isNone(failure.value) || !failure.value.value.retryable
}

/**
 * A provider that starts `primary`, and if it has produced no event within
 * `after`, starts `secondary` as well. The first to produce an event wins; the
 * other is interrupted and its connection released before the winner's events
 * flow on. If one fails before any event, the other is used alone.
 *
 * @example
 * ```ts
 * import { hedge, type Provider } from "@streamvisor/core"
 *
 * declare const claude: Provider.Provider, gpt: Provider.Provider
 * const fast = hedge([claude, gpt], { after: "800 millis" })
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const hedge = (
  providers: readonly [Provider.Provider, Provider.Provider],
  options: HedgeOptions
): Provider.Provider => {
  const [primary, secondary] = providers
  const after = Duration.decode(options.after)
  const stream = (request: ChatRequest): Stream.Stream<StreamEvent, LlmError> =>
    Stream.unwrapScoped(Effect.gen(function*() {
      const first = yield* Effect.acquireRelease(start(primary.stream(request)), discard)
      const early = yield* Fiber.await(first.first).pipe(Effect.timeout(after), Effect.option)
      if (Option.isSome(early) && settles(early.value)) {
        return follow(first, early.value)
      }
      if (Option.isSome(early)) {
        // the primary failed (retryably) before any event: the secondary alone
        yield* discard(first)
        const second = yield* Effect.acquireRelease(start(secondary.stream(request)), discard)
        return follow(second, yield* Fiber.await(second.first))
      }
      const second = yield* Effect.acquireRelease(start(secondary.stream(request)), discard)
      const winner = yield* race(first, second)
      return follow(winner.contender, winner.exit)
    }))
  return Provider.make({ name: `hedge(${primary.name},${secondary.name})`, stream })
}

/**
 * Wait for both contenders' first chunk: the first to settle wins and the other
 * is discarded; when the first fails retryably, the other is used alone.
 */
const race = (a: Contender, b: Contender) =>
  Effect.gen(function*() {
    const winner = yield* Effect.raceFirst(
      Effect.map(Fiber.await(a.first), (exit) => ({ self: a, other: b, exit })),
      Effect.map(Fiber.await(b.first), (exit) => ({ self: b, other: a, exit }))
    )
    if (settles(winner.exit)) {
      yield* discard(winner.other)
      return { contender: winner.self, exit: winner.exit }
    }
    yield* discard(winner.self)
    return { contender: winner.other, exit: yield* Fiber.await(winner.other.first) }
  })
