/**
 * The SessionStore module on its own: the in-memory store's isolation and
 * JSON semantics, the trimming rule as a function, the history codec against
 * core's message model, and the error's Schema round trip. (The behaviour
 * every store shares runs against this one too, in packages/cluster.)
 */
import { describe, expect, it } from "@effect/vitest"
import type { ChatRequest } from "@streamvisor/core"
import { Effect, Option, Schema } from "effect"
import { SessionStore } from "../src/index.js"

const withMemory = <A, E>(f: (store: SessionStore.SessionStore) => Effect.Effect<A, E>) =>
  Effect.flatMap(SessionStore.SessionStore, f).pipe(Effect.provide(SessionStore.layerMemory))

describe("SessionStore", () => {
  it("trim keeps the newest maxTurns turns, never a part of one", () => {
    expect(SessionStore.trim([1, 2, 3], undefined)).toEqual([])
    expect(SessionStore.trim([1, 2, 3], 3)).toEqual([])
    expect(SessionStore.trim([1, 2, 4, 7], 2)).toEqual([1, 2])
    expect(SessionStore.trim([5], 1)).toEqual([])
  })

  it.effect("each layerMemory is its own store", () =>
    Effect.gen(function*() {
      yield* withMemory((store) => store.create({ id: "a", provider: "p", model: "m" }))
      expect(yield* withMemory((store) => store.load("a"))).toEqual(Option.none())
    }))

  it.effect("the memory store keeps JSON, not references: later mutation does not reach it", () =>
    withMemory((store) =>
      Effect.gen(function*() {
        const message = { role: "user", content: "hi", dropped: undefined as unknown }
        yield* store.create({ id: "a", provider: "p", model: "m" })
        yield* store.commitTurn("a", { after: 0, turn: 1, messages: [message] })
        message.content = "changed"
        const loaded = Option.getOrThrow(yield* store.load("a"))
        // As the SQL store gives it back: an `undefined` property is not JSON, so it is gone.
        expect(loaded.turns[0]!.messages).toEqual([{ role: "user", content: "hi" }])
        expect(Object.keys(loaded.turns[0]!.messages[0] as object)).toEqual(["role", "content"])
      })))

  it.effect("encode then history gives back core's messages; a message that does not fit is InvalidInput", () =>
    withMemory((store) =>
      Effect.gen(function*() {
        const turn: ReadonlyArray<ChatRequest.Message> = [
          { role: "user", content: "weather?" },
          { role: "assistant", content: "", toolCalls: [{ id: "c1", name: "weather", arguments: { city: "Zürich" } }] },
          { role: "tool", toolCallId: "c1", name: "weather", content: "12°C" },
          { role: "assistant", content: "12°C in Zürich." }
        ]
        yield* store.create({ id: "h", provider: "p", model: "m" })
        yield* store.commitTurn("h", { after: 0, turn: 1, messages: yield* SessionStore.encode(turn) })
        const loaded = Option.getOrThrow(yield* store.load("h"))
        expect(yield* SessionStore.history(loaded)).toEqual(turn)

        yield* store.commitTurn("h", { after: 1, turn: 2, messages: [{ role: "robot", content: 1 }] })
        const bad = yield* Effect.flip(SessionStore.history(Option.getOrThrow(yield* store.load("h"))))
        expect(bad).toMatchObject({ reason: "InvalidInput", sessionId: "h" })
      })))

  it.effect("SessionStoreError crosses a process boundary: Schema encode then decode gives it back", () =>
    Effect.gen(function*() {
      const error = SessionStore.conflict("s", 3, 4)
      const codec = Schema.parseJson(SessionStore.SessionStoreError)
      const decoded = yield* Schema.decode(codec)(yield* Schema.encode(codec)(error))
      expect(decoded).toBeInstanceOf(SessionStore.SessionStoreError)
      expect(decoded).toMatchObject({ reason: "Conflict", sessionId: "s", lastTurn: 4 })
      expect(decoded.message).toBe("Conflict (session s): commit expected last turn 3, the store has 4")
      expect(SessionStore.isSessionStoreError(decoded)).toBe(true)
    }))
})
