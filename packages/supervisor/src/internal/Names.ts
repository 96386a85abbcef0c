/**
 * The names of the supervisors running in this process. Metrics are tagged
 * by supervisor name and Effect's metric registry is process-wide, so two
 * live supervisors with one name would add into each other's series: a name
 * is held from `make` until its scope closes, and a second claim is refused.
 *
 * The set is a `globalValue`, like Effect's metric registry, so two copies of
 * this package loaded in one process still see each other.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import { globalValue } from "effect/GlobalValue"
import type * as Scope from "effect/Scope"
import { NameInUse } from "../SupervisorError.js"

const live = globalValue(Symbol.for("@streamvisor/supervisor/liveNames"), () => new Set<string>())

/** The name a supervisor made without one gets: `supervisor`, or `supervisor-2`, `-3`… while those are held. */
const DEFAULT = "supervisor"

const firstFree = (): string => {
  if (!live.has(DEFAULT)) return DEFAULT
  let n = 2
  while (live.has(`${DEFAULT}-${n}`)) n++
  return `${DEFAULT}-${n}`
}

/**
 * Hold `name` (or the first free default) until the scope closes. Claim it
 * before anything else the supervisor adds to its scope, so it is released
 * last, after the shutdown has updated the metrics for the last time.
 */
export const claim = (name: string | undefined): Effect.Effect<string, NameInUse, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.suspend(() => {
      const claimed = name ?? firstFree()
      if (live.has(claimed)) return Effect.fail(new NameInUse({ name: claimed }))
      live.add(claimed)
      return Effect.succeed(claimed)
    }),
    (claimed) => Effect.sync(() => live.delete(claimed))
  )
