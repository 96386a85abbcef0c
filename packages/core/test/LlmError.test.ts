import { LlmError, Redaction } from "@streamvisor/core"
import { Duration, Schema } from "effect"
import { describe, expect, it } from "vitest"

const encode = Schema.encodeSync(LlmError.LlmError)
const decode = Schema.decodeUnknownSync(LlmError.LlmError)
const json = (error: LlmError.LlmError) => decode(JSON.parse(JSON.stringify(encode(error))))

const members: ReadonlyArray<LlmError.LlmError> = [
  new LlmError.RateLimited({ provider: "openai", retryAfter: Duration.millis(1500) }),
  new LlmError.RateLimited({ provider: "openai", message: "openai: slow down" }),
  new LlmError.Overloaded({ provider: "anthropic" }),
  new LlmError.Unauthorized({ provider: "google", status: 401 }),
  new LlmError.InvalidRequest({ provider: "ollama", status: 404, message: "ollama: model not found" }),
  new LlmError.ServerError({ provider: "openai", status: 502 }),
  new LlmError.Timeout({ provider: "anthropic", phase: "idle" }),
  new LlmError.Disconnected({ provider: "google" }),
  new LlmError.ProtocolError({ provider: "ollama" }),
  new LlmError.Unknown({ provider: "openai", cause: { code: "weird", type: undefined } })
]

describe("LlmError", () => {
  it.each(members.map((error) => [error._tag, error] as const))("%s round-trips through JSON", (_, error) => {
    const back = json(error)
    expect(back).toBeInstanceOf(error.constructor)
    expect(LlmError.isLlmError(back)).toBe(true)
    expect(back._tag).toBe(error._tag)
    expect(back.message).toBe(error.message)
    expect(back.provider).toBe(error.provider)
    expect(back.retryable).toBe(error.retryable)
    expect(encode(back)).toEqual(encode(error))
  })

  it("keeps the constructors' default messages", () => {
    expect(new LlmError.ServerError({ provider: "x", status: 503 }).message).toBe("x: server error (HTTP 503)")
    expect(new LlmError.Timeout({ provider: "x", phase: "total" }).message).toBe("x: timed out (total)")
  })

  it("encodes retryAfter as milliseconds and decodes it to a Duration", () => {
    const error = new LlmError.RateLimited({ provider: "p", retryAfter: Duration.seconds(2) })
    expect(encode(error)).toEqual({ _tag: "RateLimited", provider: "p", message: "p: rate limited", retryAfter: 2000 })
    const back = json(error) as LlmError.RateLimited
    expect(Duration.toMillis(back.retryAfter!)).toBe(2000)
  })

  it("encodes a sanitised Error cause with its SDK fields and chain, without the stack or the key", () => {
    const key = "sk-test-0123456789abcdef"
    const scrub = Redaction.makeScrub(() => [key])
    const thrown = Object.assign(new Error(`bad key ${key}`, { cause: new TypeError("terminated") }), {
      name: "APIError",
      status: 418,
      code: "teapot",
      client: { apiKey: key }
    })
    const error = new LlmError.Unknown({ provider: "p", cause: Redaction.sanitizeCause(thrown, scrub) })
    const wire = JSON.stringify(encode(error))
    expect(wire).not.toContain(key)
    expect(wire).not.toContain("stack")
    expect(wire).not.toContain("client")
    const cause = (json(error) as LlmError.Unknown).cause as Error & { status: number; code: string }
    expect(cause).toBeInstanceOf(Error)
    expect(cause.name).toBe("APIError")
    expect(cause.message).toBe("bad key <redacted>")
    expect(cause.status).toBe(418)
    expect(cause.code).toBe("teapot")
    expect((cause.cause as Error).message).toBe("terminated")
  })

  it("isLlmError accepts only LlmErrors", () => {
    expect(LlmError.isLlmError(new LlmError.Overloaded({ provider: "p" }))).toBe(true)
    expect(LlmError.isLlmError({ _tag: "Overloaded", provider: "p", message: "" })).toBe(false)
    expect(LlmError.isLlmError(new Error("x"))).toBe(false)
    expect(LlmError.isLlmError(null)).toBe(false)
  })

  it("rejects an unknown tag on decode", () => {
    expect(() => decode({ _tag: "Nope", provider: "p", message: "m" })).toThrow()
  })
})
