/**
 * `Redaction`: the scrub, the sanitized `Unknown.cause`, and the SDK logger.
 */
import { Redaction } from "@streamvisor/core"
import * as util from "node:util"
import { afterEach, describe, expect, it, vi } from "vitest"

const KEY = "sk-SECRET-KEY-1234567890"
const scrub = Redaction.makeScrub(() => [KEY])

describe("makeScrub", () => {
  it("replaces the bare key wherever it appears in a message", () => {
    expect(scrub(`invalid key ${KEY}`)).toBe("invalid key <redacted>")
    expect(scrub(`${KEY}${KEY} and "${KEY}"`)).toBe(`<redacted><redacted> and "<redacted>"`)
    expect(scrub("nothing secret here")).toBe("nothing secret here")
  })

  it("replaces `Bearer <key>` as a whole, or keeps `Bearer` when asked", () => {
    expect(scrub(`Authorization: Bearer ${KEY}`)).toBe("Authorization: <redacted>")
    const keep = Redaction.makeScrub(() => [KEY], { keepBearer: true })
    expect(keep(`Authorization: Bearer ${KEY} (${KEY})`)).toBe("Authorization: Bearer <redacted> (<redacted>)")
  })

  it("replaces any other bearer token too, case-insensitively", () => {
    expect(scrub("sent bearer abc.def-123, then")).toBe("sent <redacted>, then")
    expect(Redaction.makeScrub(() => [], { keepBearer: true })(`header "Bearer xyz"`)).toBe(`header "Bearer <redacted>"`)
    expect(scrub("a forbearer stays")).toBe("a forbearer stays")
  })

  it("leaves short, empty and missing secrets untouched", () => {
    const short = Redaction.makeScrub(() => [null, undefined, "", "abc", "1234567"])
    expect(short("abc 1234567 abc")).toBe("abc 1234567 abc")
    expect(Redaction.makeScrub(() => ["12345678"])("x 12345678 y")).toBe("x <redacted> y")
  })

  it("reads the secrets at each call", () => {
    const secrets: Array<string> = []
    const rotating = Redaction.makeScrub(() => secrets)
    expect(rotating(`k ${KEY}`)).toBe(`k ${KEY}`)
    secrets.push(KEY)
    expect(rotating(`k ${KEY}`)).toBe("k <redacted>")
  })
})

describe("sanitizeCause", () => {
  it("copies name, status, type, code and request id, with message and stack scrubbed", () => {
    const original = Object.assign(new Error(`failed with ${KEY}`), {
      status: 401,
      type: `auth ${KEY}`,
      code: "invalid_api_key",
      requestID: "req_1",
      headers: { authorization: `Bearer ${KEY}` },
      client: { apiKey: KEY }
    })
    original.name = "AuthenticationError"
    const copy = Redaction.sanitizeCause(original, scrub) as Error & Record<string, unknown>
    expect(copy).toBeInstanceOf(Error)
    expect(copy).not.toBe(original)
    expect(copy.name).toBe("AuthenticationError")
    expect(copy.message).toBe("failed with <redacted>")
    expect(copy.stack).toContain("<redacted>")
    expect(copy.stack).not.toContain(KEY)
    expect(copy).toMatchObject({ status: 401, type: "auth <redacted>", code: "invalid_api_key", requestID: "req_1" })
    expect("headers" in copy).toBe(false)
    expect("client" in copy).toBe(false)
  })

  it("sanitizes a nested cause chain, three levels deep", () => {
    const root = Object.assign(new Error(`socket for ${KEY}`), { code: "ECONNRESET" })
    const middle = new TypeError(`terminated ${KEY}`, { cause: root })
    const top = new Error(`outer ${KEY}`, { cause: middle })
    const copy = Redaction.sanitizeCause(top, scrub) as Error & { cause: Error & { cause: Error & { code: string } } }
    expect(copy.message).toBe("outer <redacted>")
    expect(copy.cause.name).toBe("TypeError")
    expect(copy.cause.message).toBe("terminated <redacted>")
    expect(copy.cause.cause.message).toBe("socket for <redacted>")
    expect(copy.cause.cause.code).toBe("ECONNRESET")
    expect(copy.cause.cause).not.toBe(root)
    expect(util.inspect(copy, { depth: 10, showHidden: true })).not.toContain(KEY)

    let deep: Error = new Error("bottom")
    for (let i = 0; i < 6; i++) deep = new Error(`level ${i}`, { cause: deep })
    let depth = 0
    for (let link: unknown = Redaction.sanitizeCause(deep, scrub); link instanceof Error; link = link.cause) depth++
    expect(depth).toBe(4)
  })

  it("turns non-errors into scrubbed text and keeps harmless primitives", () => {
    expect(Redaction.sanitizeCause({ key: KEY }, scrub)).toBe(`{"key":"<redacted>"}`)
    expect(Redaction.sanitizeCause(`plain ${KEY}`, scrub)).toBe("plain <redacted>")
    expect(Redaction.sanitizeCause(undefined, scrub)).toBeUndefined()
    expect(Redaction.sanitizeCause(null, scrub)).toBeNull()
    expect(Redaction.sanitizeCause(42, scrub)).toBe(42)
    const cyclic: Record<string, unknown> = { key: KEY }
    cyclic.self = cyclic
    const text = Redaction.sanitizeCause(cyclic, scrub)
    expect(typeof text).toBe("string")
    expect(text).not.toContain(KEY)
  })

  it("keeps Gemini's errorDetails as scrubbed JSON", () => {
    const original = Object.assign(new Error("quota"), { status: 429, statusText: "Too Many Requests", errorDetails: [{ key: KEY }] })
    const copy = Redaction.sanitizeCause(original, scrub) as Error & Record<string, unknown>
    expect(copy).toMatchObject({ status: 429, statusText: "Too Many Requests", errorDetails: `[{"key":"<redacted>"}]` })
  })
})

describe("scrubbingLogger", () => {
  afterEach(() => {
    vi.restoreAllMocks()
  })

  it("scrubs the message, strings, errors and objects holding the key before `console`", () => {
    const lines: Array<Array<unknown>> = []
    for (const method of ["error", "warn", "info", "debug"] as const) {
      vi.spyOn(console, method).mockImplementation((...args: Array<unknown>) => {
        lines.push([method, ...args])
      })
    }
    const logger = Redaction.scrubbingLogger(scrub)
    const clean = { ok: true }
    logger.warn(`Could not parse ${KEY}`, `raw ${KEY}`, new Error(`boom ${KEY}`), { headers: { authorization: `Bearer ${KEY}` } }, clean, 3)
    logger.debug("request", [KEY])
    expect(lines[0][0]).toBe("warn")
    expect(lines[0][1]).toBe("Could not parse <redacted>")
    expect(lines[0][2]).toBe("raw <redacted>")
    expect((lines[0][3] as Error).message).toBe("boom <redacted>")
    expect(lines[0][4]).toBe("{ headers: { authorization: '<redacted>' } }")
    expect(lines[0][5]).toBe(clean)
    expect(lines[0][6]).toBe(3)
    expect(lines[1]).toEqual(["debug", "request", "[ '<redacted>' ]"])
    expect(util.inspect(lines, { depth: 10 })).not.toContain(KEY)
  })
})
