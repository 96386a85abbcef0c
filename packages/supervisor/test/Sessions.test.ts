/**
 * `Sessions.layerLocal`: the same `create` / `get(id)` API the cluster layers
 * give, over a local Supervisor and a provider registry.
 */
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Layer, Stream } from "effect"
import { Sessions } from "../src/index.js"
import * as Fake from "./support/Fake.js"

const layer = Sessions.layerLocal().pipe(Layer.provide(Sessions.layerProviders({ fake: Fake.make().provider })))

describe("Sessions.layerLocal", () => {
  it.live("create, send, tell, history, stop; unknown ids and providers are SessionUnavailable", () =>
    Effect.gen(function*() {
      const sessions = yield* Sessions.Sessions
      const chat = yield* sessions.create({ id: "a", provider: "fake", model: "m" })
      const events = yield* Stream.runCollect(chat.send("hi"))
      expect(Chunk.toArray(events).some((e) => e._tag === "Finish")).toBe(true)
      expect(yield* sessions.get("a").tell("again")).toBe(2)
      expect((yield* chat.history).slice(0, 2).map((m) => m.content)).toEqual(["hi", "re: hi"])
      const taken = yield* Effect.flip(sessions.create({ id: "a", provider: "fake", model: "m" }))
      expect(taken._tag === "SessionUnavailable" && taken.reason).toBe("AlreadyExists")
      yield* sessions.get("a").stop
      // a stopped local session is gone from the supervisor: later turns are refused
      const refused = yield* Effect.flip(Stream.runCollect(chat.send("later")))
      expect(["SessionStopped", "SessionUnavailable"]).toContain(refused._tag)
      const missing = yield* Effect.flip(Stream.runCollect(sessions.get("b").send("x")))
      expect(missing._tag === "SessionUnavailable" && missing.reason).toBe("NotFound")
      const unknown = yield* Effect.flip(sessions.create({ id: "c", provider: "nope", model: "m" }))
      expect(unknown._tag === "SessionUnavailable" && unknown.reason).toBe("UnknownProvider")
    }).pipe(Effect.provide(layer)))
})
