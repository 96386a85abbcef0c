/**
 * What a `Send` reply's failure becomes on the wire and back: every error is
 * encoded, put through JSON (what the cluster's serialization does) and
 * decoded into the same class, with `retryable` and its fields as they were.
 */
import { describe, expect, it } from "@effect/vitest"
import { LlmError } from "@streamvisor/core"
import { SessionError, Sessions } from "@streamvisor/supervisor"
import { Duration, Schema } from "effect"
import { SessionEntity } from "../src/index.js"

const failure = SessionEntity.Send.successSchema.failure
const roundTrip = (error: typeof failure.Type) =>
  Schema.decodeUnknownSync(failure)(JSON.parse(JSON.stringify(Schema.encodeSync(failure)(error))))

describe("SessionEntity.Send errors on the wire", () => {
  it("rebuild core's LlmError classes with their fields and retryable", () => {
    const errors: ReadonlyArray<LlmError.LlmError> = [
      new LlmError.RateLimited({ provider: "ollama", retryAfter: Duration.seconds(2) }),
      new LlmError.Overloaded({ provider: "ollama" }),
      new LlmError.Unauthorized({ provider: "ollama", status: 401 }),
      new LlmError.InvalidRequest({ provider: "ollama", message: "no" }),
      new LlmError.ServerError({ provider: "ollama", status: 502 }),
      new LlmError.Timeout({ provider: "ollama", phase: "idle" }),
      new LlmError.Disconnected({ provider: "ollama" }),
      new LlmError.ProtocolError({ provider: "ollama" }),
      new LlmError.Unknown({ provider: "ollama", cause: "socket hang up" })
    ]
    for (const error of errors) {
      const back = roundTrip(error)
      expect(back).toBeInstanceOf(error.constructor)
      expect(LlmError.isLlmError(back)).toBe(true)
      expect(back._tag === error._tag && (back as LlmError.LlmError).retryable).toBe(error.retryable)
      expect(back.message).toBe(error.message)
    }
    const rate = roundTrip(errors[0])
    expect(rate._tag === "RateLimited" && rate.retryAfter && Duration.toMillis(rate.retryAfter)).toBe(2000)
    const server = roundTrip(errors[4])
    expect(server._tag === "ServerError" && server.status).toBe(502)
  })

  it("rebuild the session errors", () => {
    const lost = roundTrip(
      new Sessions.SessionUnavailable({ sessionId: "s", reason: "RunnerLost", detail: "cut", turn: 3 })
    )
    expect(lost).toBeInstanceOf(Sessions.SessionUnavailable)
    expect(lost._tag === "SessionUnavailable" && [lost.reason, lost.turn]).toEqual(["RunnerLost", 3])
    const stopped = roundTrip(new SessionError.SessionStopped({ sessionId: "s", reason: "stopped" }))
    expect(stopped).toBeInstanceOf(SessionError.SessionStopped)
  })
})
