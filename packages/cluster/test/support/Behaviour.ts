/**
 * The behaviour every `SessionStore` must have, as one suite run against each
 * implementation (memory, SQLite `:memory:`, SQLite file, PostgreSQL). Each
 * test gets a fresh, empty store from `fresh()`.
 */
import { describe, expect, it } from "@effect/vitest"
import { Clock, Effect, Either, Layer, Option } from "effect"
import { SessionStore } from "@streamvisor/supervisor"

type Store = SessionStore.SessionStore

export const withStore = <A, E>(
  fresh: () => Layer.Layer<Store, unknown>,
  f: (store: Store) => Effect.Effect<A, E>
) => Effect.flatMap(SessionStore.SessionStore, f).pipe(Effect.provide(fresh()), Effect.scoped)

const session = (id: string, extra: Partial<SessionStore.NewSession> = {}): SessionStore.NewSession => ({
  id,
  provider: "anthropic",
  model: "claude-sonnet-4-5",
  ...extra
})

/** A turn: the user's message, an assistant step calling a tool, its result, the answer. */
export const turnMessages = (n: number): ReadonlyArray<unknown> => [
  { role: "user", content: `question ${n}` },
  { role: "assistant", content: "", toolCalls: [{ id: `call-${n}`, name: "lookup", arguments: { n } }] },
  { role: "tool", toolCallId: `call-${n}`, name: "lookup", content: `result ${n}` },
  { role: "assistant", content: `answer ${n}` }
]

const usage = (n: number) => ({ inputTokens: 10 * n, outputTokens: n })

/** Commit turns `numbers` in order, each after the one before it. */
export const commitAll = (store: Store, id: string, numbers: ReadonlyArray<number>, after = 0) =>
  Effect.forEach(numbers, (turn, i) =>
    store.commitTurn(id, {
      after: i === 0 ? after : numbers[i - 1]!,
      turn,
      messages: turnMessages(turn),
      usage: usage(turn)
    }))

const reasonOf = <A>(effect: Effect.Effect<A, SessionStore.SessionStoreError>) =>
  Effect.map(Effect.either(effect), Either.match({ onLeft: (e) => e.reason, onRight: () => "succeeded" as const }))

/**
 * JSON that a careless codec would damage: nested objects and arrays, unicode
 * outside the BMP, a lone surrogate, escapes, NUL, numbers at the edges of
 * exactness, and message shapes the core model does not have yet (content
 * parts, reasoning with a signature).
 */
export const richMessages: ReadonlyArray<unknown> = [
  {
    role: "user",
    content: [
      { type: "text", text: "héllo wörld — 你好 — 🦀🧪 — e\u0301 — \u2028\u2029 — \"quoted\" \\ back\nline\ttab\u0000nul" },
      { type: "image", source: { type: "base64", mediaType: "image/png", data: "iVBORw0KGgo=" } }
    ]
  },
  {
    role: "assistant",
    content: [
      { type: "reasoning", text: "Let me think… 🤔", signature: "EqQBCkYIBxgCKkDk+/=" },
      { type: "text", text: "lone surrogate: \ud800, astral: 𝄞" }
    ],
    toolCalls: [{
      id: "call_1",
      name: "search",
      arguments: {
        query: "ünïcödé",
        deep: { a: [1, 2.5, -3e-7, 1e21, 9007199254740991, 0.1], b: null, c: true, d: {}, e: [], f: [[[]]] }
      }
    }]
  },
  { role: "tool", toolCallId: "call_1", name: "search", content: "{\"json\":\"in a string\"}", isError: false }
]

export const behaviour = (name: string, fresh: () => Layer.Layer<Store, unknown>) =>
  describe(`SessionStore behaviour: ${name}`, () => {
    it.live("create then load gives back the settings, no turns, lastTurn 0", () =>
      withStore(fresh, (store) =>
        Effect.gen(function*() {
          const before = yield* Clock.currentTimeMillis
          const created = yield* store.create(
            session("a", { system: "be brief", options: { maxTokens: 512, temperature: 0.2, stop: ["\n\n"] }, maxTurns: 50 })
          )
          const loaded = yield* store.load("a")
          expect(Option.getOrThrow(loaded)).toEqual(created)
          expect(created).toMatchObject({
            id: "a",
            provider: "anthropic",
            model: "claude-sonnet-4-5",
            system: "be brief",
            options: { maxTokens: 512, temperature: 0.2, stop: ["\n\n"] },
            maxTurns: 50,
            lastTurn: 0,
            turns: []
          })
          expect(created.createdAt).toBeGreaterThanOrEqual(before)
          // Absent settings stay absent (not null, not undefined keys).
          const b = yield* store.create(session("b", { system: undefined, options: undefined, maxTurns: undefined }))
          expect(Option.getOrThrow(yield* store.load("b"))).toStrictEqual(b)
          expect(Object.keys(b).sort()).toEqual(
            ["createdAt", "id", "lastTurn", "model", "provider", "turns", "updatedAt"]
          )
          expect(yield* store.load("nobody")).toEqual(Option.none())
          expect(yield* reasonOf(store.create(session("a")))).toBe("AlreadyExists")
        })))

    it.live("commits append in order, keep turn numbers (gaps included) and usage", () =>
      withStore(fresh, (store) =>
        Effect.gen(function*() {
          yield* store.create(session("s"))
          // Turn 3 failed in the session: it used its number and committed nothing.
          const results = yield* commitAll(store, "s", [1, 2, 4])
          expect(results).toEqual([{ lastTurn: 1, trimmed: 0 }, { lastTurn: 2, trimmed: 0 }, { lastTurn: 4, trimmed: 0 }])
          yield* store.commitTurn("s", { after: 4, turn: 5, messages: [{ role: "user", content: "no usage" }] })
          const loaded = Option.getOrThrow(yield* store.load("s"))
          expect(loaded.lastTurn).toBe(5)
          expect(loaded.turns.map((t) => t.turn)).toEqual([1, 2, 4, 5])
          expect(loaded.turns[2]).toMatchObject({ turn: 4, messages: turnMessages(4), usage: usage(4) })
          expect("usage" in loaded.turns[3]!).toBe(false)
          expect(SessionStore.messages(loaded)).toEqual([
            ...turnMessages(1),
            ...turnMessages(2),
            ...turnMessages(4),
            { role: "user", content: "no usage" }
          ])
          expect(loaded.updatedAt).toBeGreaterThanOrEqual(loaded.createdAt)
        })))

    it.live("trimming keeps the newest maxTurns turns whole; lastTurn goes on", () =>
      withStore(fresh, (store) =>
        Effect.gen(function*() {
          yield* store.create(session("t", { maxTurns: 2 }))
          const results = yield* commitAll(store, "t", [1, 2, 3, 4, 5])
          expect(results.map((r) => r.trimmed)).toEqual([0, 0, 1, 1, 1])
          const loaded = Option.getOrThrow(yield* store.load("t"))
          expect(loaded.lastTurn).toBe(5)
          expect(loaded.turns.map((t) => t.turn)).toEqual([4, 5])
          // Never split: kept history starts with a user message and every tool call is answered.
          const history = SessionStore.messages(loaded) as ReadonlyArray<any>
          expect(history[0]).toEqual({ role: "user", content: "question 4" })
          const calls = history.flatMap((m) => m.toolCalls ?? []).map((c: any) => c.id)
          const answered = history.filter((m) => m.role === "tool").map((m) => m.toolCallId)
          expect(calls).toEqual(answered)
          // Unbounded sessions keep everything.
          yield* store.create(session("u"))
          yield* commitAll(store, "u", [1, 2, 3, 4, 5])
          expect(Option.getOrThrow(yield* store.load("u")).turns).toHaveLength(5)
        })))

    it.live("a commit after the wrong turn is a Conflict and writes nothing", () =>
      withStore(fresh, (store) =>
        Effect.gen(function*() {
          yield* store.create(session("c"))
          yield* commitAll(store, "c", [1])
          const before = Option.getOrThrow(yield* store.load("c"))
          // A second writer that also saw turn 0 loses.
          const error = yield* Effect.flip(store.commitTurn("c", { after: 0, turn: 1, messages: turnMessages(99) }))
          expect(error).toMatchObject({ _tag: "SessionStoreError", reason: "Conflict", sessionId: "c", lastTurn: 1 })
          expect(yield* reasonOf(store.commitTurn("c", { after: 5, turn: 6, messages: [] }))).toBe("Conflict")
          expect(Option.getOrThrow(yield* store.load("c"))).toEqual(before)
          expect(yield* reasonOf(store.commitTurn("nobody", { after: 0, turn: 1, messages: [] }))).toBe("NotFound")
        })))

    it.live("of 8 concurrent commits after the same turn exactly one wins", () =>
      withStore(fresh, (store) =>
        Effect.gen(function*() {
          yield* store.create(session("race"))
          const outcomes = yield* Effect.all(
            Array.from({ length: 8 }, (_, i) =>
              reasonOf(store.commitTurn("race", { after: 0, turn: 1, messages: [{ role: "user", content: `w${i}` }] }))),
            { concurrency: "unbounded" }
          )
          expect(outcomes.filter((o) => o === "succeeded")).toHaveLength(1)
          expect(outcomes.filter((o) => o === "Conflict")).toHaveLength(7)
          const loaded = Option.getOrThrow(yield* store.load("race"))
          expect(loaded.turns).toHaveLength(1)
        })))

    it.live("bad input is InvalidInput before anything is written", () =>
      withStore(fresh, (store) =>
        Effect.gen(function*() {
          expect(yield* reasonOf(store.create(session("")))).toBe("InvalidInput")
          expect(yield* reasonOf(store.create(session("z", { maxTurns: 0 })))).toBe("InvalidInput")
          expect(yield* reasonOf(store.create(session("z", { options: { n: 1n } })))).toBe("InvalidInput")
          expect(yield* store.list).toEqual([])
          yield* store.create(session("v"))
          yield* commitAll(store, "v", [1])
          const before = Option.getOrThrow(yield* store.load("v"))
          expect(yield* reasonOf(store.commitTurn("v", { after: 1, turn: 1, messages: [] }))).toBe("InvalidInput")
          expect(yield* reasonOf(store.commitTurn("v", { after: 1, turn: 2.5, messages: [] }))).toBe("InvalidInput")
          expect(yield* reasonOf(store.commitTurn("v", { after: 1, turn: 2, messages: [{ big: 1n }] }))).toBe("InvalidInput")
          const cyclic: Record<string, unknown> = {}
          cyclic.self = cyclic
          expect(yield* reasonOf(store.commitTurn("v", { after: 1, turn: 2, messages: [], usage: cyclic }))).toBe(
            "InvalidInput"
          )
          expect(Option.getOrThrow(yield* store.load("v"))).toEqual(before)
        })))

    it.live("list summarises by id; remove forgets the session and its turns", () =>
      withStore(fresh, (store) =>
        Effect.gen(function*() {
          yield* store.create(session("b", { model: "m-b" }))
          yield* store.create(session("a", { provider: "openai", model: "m-a" }))
          yield* commitAll(store, "b", [1, 2])
          const list = yield* store.list
          expect(list.map(({ id, lastTurn, model, provider }) => ({ id, provider, model, lastTurn }))).toEqual([
            { id: "a", provider: "openai", model: "m-a", lastTurn: 0 },
            { id: "b", provider: "anthropic", model: "m-b", lastTurn: 2 }
          ])
          expect(yield* store.remove("b")).toBe(true)
          expect(yield* store.remove("b")).toBe(false)
          expect(yield* store.load("b")).toEqual(Option.none())
          expect((yield* store.list).map((s) => s.id)).toEqual(["a"])
          // The id is free again, and nothing of the old conversation comes back.
          yield* store.create(session("b"))
          yield* commitAll(store, "b", [1])
          expect(Option.getOrThrow(yield* store.load("b")).turns.map((t) => t.turn)).toEqual([1])
        })))

    it.live("rich JSON round-trips exactly: nesting, unicode, escapes, shapes the model does not have yet", () =>
      withStore(fresh, (store) =>
        Effect.gen(function*() {
          const options = { providerOptions: { anthropic: { thinking: { budgetTokens: 2048 } } }, "ключ": "значение 🗝" }
          yield* store.create(session("rich", { system: "système 🤖\n\"quoted\"", options }))
          const richUsage = { inputTokens: 12, outputTokens: 3, cachedInputTokens: 8, reasoningTokens: 2, detail: { a: [null] } }
          yield* store.commitTurn("rich", { after: 0, turn: 1, messages: richMessages, usage: richUsage })
          const loaded = Option.getOrThrow(yield* store.load("rich"))
          expect(loaded.system).toBe("système 🤖\n\"quoted\"")
          expect(loaded.options).toEqual(options)
          expect(loaded.turns[0]!.messages).toEqual(richMessages)
          expect(loaded.turns[0]!.usage).toEqual(richUsage)
          // Exactly: the same JSON text, key order included.
          expect(JSON.stringify(loaded.turns[0]!.messages)).toBe(JSON.stringify(richMessages))
          expect(JSON.stringify(loaded.options)).toBe(JSON.stringify(options))
        })))
  })
