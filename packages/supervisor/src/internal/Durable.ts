/**
 * Sessions and the supervisor's `SessionStore`: where a spawn starts from
 * (a new session, a saved `Session.State`, or a stored conversation resumed),
 * and committing a turn — to the store first, then to memory, as one step.
 *
 * History is trimmed by turns, with the store's rule (`SessionStore.trim`),
 * so a session that was resumed and one that ran all along send the same
 * context.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import type { ChatRequest, Provider } from "@streamvisor/core"
import * as Session from "../Session.js"
import { CommitFailed } from "../SessionError.js"
import * as SessionStore from "../SessionStore.js"
import { InvalidOptions, ResumeMismatch } from "../SupervisorError.js"
import type { SessionImpl, Start } from "./SessionState.js"

/** A spawn's settings once resolved against the store. */
export interface Resolved {
  readonly id: string | undefined
  readonly model: string
  readonly system: string | undefined
  readonly options: Session.RequestOptions | undefined
  readonly maxTurns: number | undefined
  readonly start: Start
}

/** How many messages each turn of a saved history holds: a turn starts at each user message. */
const turnSizes = (history: ReadonlyArray<ChatRequest.Message>): ReadonlyArray<number> => {
  const sizes: Array<number> = []
  for (const message of history) {
    if (message.role === "user" || sizes.length === 0) sizes.push(1)
    else sizes[sizes.length - 1]++
  }
  return sizes
}

/**
 * Append a committed turn's messages and drop the oldest turns past
 * `maxTurns`, whole (`SessionStore.trim`).
 */
export const append = (
  history: ReadonlyArray<ChatRequest.Message>,
  kept: ReadonlyArray<number>,
  messages: ReadonlyArray<ChatRequest.Message>,
  maxTurns: number | undefined
): { readonly history: ReadonlyArray<ChatRequest.Message>; readonly kept: ReadonlyArray<number> } => {
  const sizes = [...kept, messages.length]
  const drop = SessionStore.trim(sizes.map((_, i) => i), maxTurns).length
  let skip = 0
  for (let i = 0; i < drop; i++) skip += sizes[i]
  return { history: [...history.slice(skip), ...messages], kept: sizes.slice(drop) }
}

const fresh = (
  history: ReadonlyArray<ChatRequest.Message>,
  nextTurn: number,
  maxTurns: number | undefined
): Start => {
  const sizes = turnSizes(history)
  const drop = SessionStore.trim(sizes.map((_, i) => i), maxTurns).length
  let skip = 0
  for (let i = 0; i < drop; i++) skip += sizes[i]
  return { history: history.slice(skip), kept: sizes.slice(drop), nextTurn, lastCommitted: 0, committed: 0 }
}

const required = (model: string | undefined) =>
  model === undefined
    ? Effect.fail(new InvalidOptions({ operation: "spawn", issue: "[\"model\"]\n└─ is missing (required for a new session)" }))
    : Effect.succeed(model)

/** Key-order-free JSON equality, for settings that went through the store as JSON. */
const canonical = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v) ?? "undefined"

const encodeOptions = Schema.encode(Session.RequestOptions)
const decodeOptions = Schema.decodeUnknown(Session.RequestOptions)

/**
 * Resolve a spawn against the store: an id the store knows is resumed (its
 * settings must agree with the ones given), any other is created there.
 * Without a store: a new session, or a saved `Session.State`.
 */
export const resolve = (
  spawn: Session.SpawnOptions<any>,
  store: SessionStore.SessionStore | undefined
): Effect.Effect<Resolved, InvalidOptions | ResumeMismatch | SessionStore.SessionStoreError> =>
  Effect.gen(function*() {
    if (store === undefined) {
      return {
        id: spawn.id,
        model: yield* required(spawn.model),
        system: spawn.system,
        options: spawn.options,
        maxTurns: spawn.maxTurns,
        start: fresh(spawn.history ?? [], spawn.nextTurn ?? 1, spawn.maxTurns)
      }
    }
    if (spawn.history !== undefined || spawn.nextTurn !== undefined) {
      return yield* new InvalidOptions({
        operation: "spawn",
        issue: "history and nextTurn cannot be given to a supervisor with a store: the store holds both"
      })
    }
    // a generated id never meets a stored conversation
    const id = spawn.id ?? `session-${crypto.randomUUID()}`
    const stored = spawn.id === undefined ? Option.none() : yield* store.load(id)
    if (Option.isSome(stored)) return yield* resume(spawn.provider, spawn, stored.value)
    const created = yield* create(store, id, spawn)
    return Option.isSome(created) ? yield* resume(spawn.provider, spawn, created.value) : {
      id,
      model: yield* required(spawn.model),
      system: spawn.system,
      options: spawn.options,
      maxTurns: spawn.maxTurns,
      start: fresh([], 1, spawn.maxTurns)
    }
  })

/**
 * Create the session in the store. `Some` when another spawn created it
 * first (between our `load` and `create`): it is resumed instead, and the
 * registry refuses the second one if the first is still running.
 */
const create = (
  store: SessionStore.SessionStore,
  id: string,
  spawn: Session.SpawnOptions<any>
): Effect.Effect<Option.Option<SessionStore.StoredSession>, InvalidOptions | SessionStore.SessionStoreError> =>
  Effect.gen(function*() {
    const model = yield* required(spawn.model)
    const options = spawn.options === undefined
      ? undefined
      : yield* encodeOptions(spawn.options).pipe(
        Effect.mapError((error) => new InvalidOptions({ operation: "spawn", issue: error.message }))
      )
    const session: SessionStore.NewSession = {
      id,
      provider: spawn.provider.name,
      model,
      ...(spawn.system === undefined ? {} : { system: spawn.system }),
      ...(options === undefined ? {} : { options }),
      ...(spawn.maxTurns === undefined ? {} : { maxTurns: spawn.maxTurns })
    }
    return yield* store.create(session).pipe(
      Effect.as(Option.none<SessionStore.StoredSession>()),
      Effect.catchIf((error) => error.reason === "AlreadyExists", () => store.load(id))
    )
  })

const resume = (
  provider: Provider.Provider,
  spawn: Session.SpawnOptions<any>,
  stored: SessionStore.StoredSession
): Effect.Effect<Resolved, ResumeMismatch | SessionStore.SessionStoreError> =>
  Effect.gen(function*() {
    const mismatch = (field: ResumeMismatch["field"], storedValue: unknown, given: unknown) =>
      new ResumeMismatch({ sessionId: stored.id, field, stored: canonical(storedValue), given: canonical(given) })
    if (provider.name !== stored.provider) return yield* mismatch("provider", stored.provider, provider.name)
    if (spawn.model !== undefined && spawn.model !== stored.model) return yield* mismatch("model", stored.model, spawn.model)
    if (spawn.system !== undefined && spawn.system !== stored.system) return yield* mismatch("system", stored.system, spawn.system)
    if (spawn.maxTurns !== undefined && spawn.maxTurns !== stored.maxTurns) {
      return yield* mismatch("maxTurns", stored.maxTurns, spawn.maxTurns)
    }
    if (spawn.options !== undefined) {
      const given = yield* encodeOptions(spawn.options).pipe(Effect.orElseSucceed(() => spawn.options))
      if (canonical(given) !== canonical(stored.options)) return yield* mismatch("options", stored.options, given)
    }
    const options = stored.options === undefined ? undefined : yield* decodeOptions(stored.options).pipe(
      Effect.mapError((error) =>
        new SessionStore.SessionStoreError({ reason: "InvalidInput", sessionId: stored.id, detail: error.message })
      )
    )
    const history = yield* SessionStore.history(stored)
    return {
      id: stored.id,
      model: stored.model,
      system: stored.system,
      options,
      maxTurns: stored.maxTurns,
      start: {
        history,
        kept: stored.turns.map((turn) => turn.messages.length),
        nextTurn: stored.lastTurn + 1,
        lastCommitted: stored.lastTurn,
        committed: stored.turns.length
      }
    }
  })

/**
 * Write a finished turn to the store (if the session has one), then to
 * memory. Runs where the turn is settled, uninterruptibly, so the store and
 * memory never disagree: a failed commit changes neither, and fails the turn
 * with `CommitFailed`. Only the session's own fiber commits, so reading the
 * state first and updating it after is safe.
 */
export const commit = (
  s: SessionImpl,
  turn: number,
  messages: ReadonlyArray<ChatRequest.Message>,
  usage: Provider.Generation["usage"]
): Effect.Effect<void, CommitFailed> =>
  Effect.gen(function*() {
    const store = s.config.store
    if (store !== undefined) {
      const { lastCommitted } = yield* Ref.get(s.state)
      yield* SessionStore.encode(messages).pipe(
        Effect.flatMap((encoded) =>
          store.commitTurn(s.config.id, {
            after: lastCommitted,
            turn,
            messages: encoded,
            ...(usage === undefined ? {} : { usage })
          })
        ),
        // a store that dies is a store that failed: the turn is settled either way
        Effect.catchAllDefect((defect) =>
          Effect.fail(
            new SessionStore.SessionStoreError({ reason: "Backend", sessionId: s.config.id, detail: "the store died", cause: defect })
          )
        ),
        Effect.mapError((error) => new CommitFailed({ sessionId: s.config.id, turn, error }))
      )
    }
    yield* Ref.update(s.state, (st) => ({
      ...st,
      ...append(st.history, st.kept, messages, s.config.maxTurns),
      committed: st.committed + 1,
      lastCommitted: turn
    }))
  })
