/**
 * What `Supervisor.make`, `spawn`, `send` and `tell` accept, as `effect/Schema`s:
 * bad input is refused where it is given, with a typed error carrying the
 * readable Schema message, instead of dying later inside a session (where a
 * bad provider would use up the restart intensity, and with `escalate` take
 * the supervisor down).
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { ChatRequest } from "@streamvisor/core"
import * as Session from "../Session.js"
import { InvalidMessage } from "../SessionError.js"
import { InvalidOptions } from "../SupervisorError.js"

const Fn = Schema.declare((u: unknown): u is (...args: ReadonlyArray<never>) => unknown => typeof u === "function", {
  identifier: "Function"
})

const DurationInput = Schema.declare(
  (u: unknown): u is Duration.DurationInput => Duration.decodeUnknown(u)._tag === "Some",
  { identifier: "DurationInput", description: "a Duration, a number of milliseconds or a string like \"5 seconds\"" }
)

const PositiveInt = Schema.Int.pipe(Schema.greaterThanOrEqualTo(1))
const NonNegativeInt = Schema.Int.pipe(Schema.greaterThanOrEqualTo(0))
const Restart = Schema.Literal("permanent", "transient", "temporary")

/** What `spawn` checks (the provider only as far as a session uses it). */
const SpawnOptions = Schema.Struct({
  id: Schema.optional(Schema.NonEmptyString),
  provider: Schema.Struct({ name: Schema.String, stream: Fn }),
  model: Schema.optional(Schema.NonEmptyString),
  system: Schema.optional(Schema.String),
  options: Schema.optional(Session.RequestOptions),
  maxTurns: Schema.optional(PositiveInt),
  policies: Schema.optional(Fn),
  history: Schema.optional(Schema.Array(ChatRequest.Message)),
  nextTurn: Schema.optional(PositiveInt),
  restart: Schema.optional(Restart),
  idleTimeout: Schema.optional(DurationInput),
  tools: Schema.optional(Schema.Struct({ tools: Schema.Object, definitions: Schema.Array(Schema.Unknown) })),
  maxSteps: Schema.optional(PositiveInt),
  toolTimeout: Schema.optional(DurationInput)
})

/** What the promise face's `spawn` checks of its `tools` (core's `PromiseTool`s) before turning them into a toolkit. */
const PromiseTools = Schema.Struct({
  tools: Schema.optional(Schema.Record({
    key: Schema.String,
    value: Schema.Struct({
      description: Schema.optional(Schema.String),
      parameters: Schema.optional(Schema.Object),
      execute: Fn,
      failureMode: Schema.optional(Schema.Literal("result", "error"))
    })
  }))
})

const SupervisorOptions = Schema.Struct({
  name: Schema.optional(Schema.String),
  maxConcurrentStreams: Schema.optional(Schema.Union(PositiveInt, Schema.Literal(Number.POSITIVE_INFINITY))),
  restart: Schema.optional(Restart),
  maxRestarts: Schema.optional(NonNegativeInt),
  window: Schema.optional(DurationInput),
  backoff: Schema.optional(Schema.Object),
  escalate: Schema.optional(Schema.Boolean),
  shutdownTimeout: Schema.optional(DurationInput),
  idleTimeout: Schema.optional(DurationInput),
  retainTerminated: Schema.optional(NonNegativeInt),
  store: Schema.optional(Schema.Struct({ create: Fn, load: Fn, commitTurn: Fn }))
})

const check = <A, I>(schema: Schema.Schema<A, I>, input: unknown) =>
  Either.mapLeft(
    Schema.decodeUnknownEither(schema, { onExcessProperty: "ignore", errors: "all" })(input),
    (error) => ParseResult.TreeFormatter.formatErrorSync(error)
  )

/** Refuse `spawn` options a session could not run with. */
export const spawnOptions = (input: unknown): Effect.Effect<void, InvalidOptions> =>
  Either.match(check(SpawnOptions, input), {
    onLeft: (issue) => Effect.fail(new InvalidOptions({ operation: "spawn", issue })),
    onRight: () => Effect.void
  })

/** Refuse the promise face's `spawn` options whose `tools` are not `PromiseTool`s by name. */
export const promiseTools = (input: unknown): Effect.Effect<void, InvalidOptions> =>
  Either.match(check(PromiseTools, input), {
    onLeft: (issue) => Effect.fail(new InvalidOptions({ operation: "spawn", issue })),
    onRight: () => Effect.void
  })

/** Refuse `Supervisor.make` options. */
export const supervisorOptions = (input: unknown): Effect.Effect<void, InvalidOptions> =>
  Either.match(check(SupervisorOptions, input), {
    onLeft: (issue) => Effect.fail(new InvalidOptions({ operation: "make", issue })),
    onRight: () => Effect.void
  })

/** Refuse a message that is not a non-empty string. */
export const messageText = (sessionId: string, text: unknown): Effect.Effect<string, InvalidMessage> =>
  typeof text === "string" && text.length > 0
    ? Effect.succeed(text)
    : Effect.fail(
      new InvalidMessage({
        sessionId,
        issue: typeof text === "string" ? "the text is empty" : `expected a string, got ${text === null ? "null" : typeof text}`
      })
    )
