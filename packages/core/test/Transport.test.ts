/**
 * `Transport`: undici's and Node's ways of saying the connection failed.
 */
import { Transport } from "@streamvisor/core"
import { describe, expect, it } from "vitest"

const withCode = (message: string, code: string, cause?: unknown) =>
  Object.assign(new Error(message, cause === undefined ? undefined : { cause }), { code })

describe("Transport.isConnectionCut", () => {
  it("recognises undici's `TypeError: terminated`, alone or wrapped", () => {
    expect(Transport.isConnectionCut(new TypeError("terminated"))).toBe(true)
    expect(Transport.isConnectionCut(new Error("stream failed", { cause: new TypeError("terminated") }))).toBe(true)
  })

  it("recognises socket codes along the cause chain, on errors and plain objects", () => {
    for (const code of ["ECONNRESET", "ECONNABORTED", "ECONNREFUSED", "EPIPE", "UND_ERR_SOCKET", "UND_ERR_CLOSED"]) {
      expect(Transport.isConnectionCut(withCode("x", code)), code).toBe(true)
    }
    expect(Transport.isConnectionCut(new TypeError("terminated", { cause: withCode("other side closed", "UND_ERR_SOCKET") })))
      .toBe(true)
    expect(Transport.isConnectionCut(new Error("wrapped", { cause: { code: "ECONNRESET" } }))).toBe(true)
    expect(Transport.isConnectionCut(withCode("outer", "E_WRAPPED", withCode("inner", "EPIPE")))).toBe(true)
  })

  it("looks four links deep, no further", () => {
    const at = (depth: number) => {
      let error: Error = withCode("socket", "ECONNRESET")
      for (let i = 1; i < depth; i++) error = new Error(`wrap ${i}`, { cause: error })
      return error
    }
    expect(Transport.isConnectionCut(at(4))).toBe(true)
    expect(Transport.isConnectionCut(at(5))).toBe(false)
  })

  it("is false for other failures and for non-errors", () => {
    expect(Transport.isConnectionCut(new Error("boom"))).toBe(false)
    expect(Transport.isConnectionCut(withCode("not found", "ENOENT"))).toBe(false)
    expect(Transport.isConnectionCut(new TypeError("fetch failed"))).toBe(false)
    expect(Transport.isConnectionCut({ code: "ECONNRESET" })).toBe(false)
    expect(Transport.isConnectionCut("terminated")).toBe(false)
    expect(Transport.isConnectionCut(undefined)).toBe(false)
  })
})

describe("Transport.isFetchFailed", () => {
  it("is undici's `TypeError: fetch failed` only", () => {
    expect(Transport.isFetchFailed(new TypeError("fetch failed", { cause: withCode("refused", "ECONNREFUSED") }))).toBe(true)
    expect(Transport.isFetchFailed(new Error("fetch failed"))).toBe(false)
    expect(Transport.isFetchFailed(new TypeError("terminated"))).toBe(false)
  })
})

describe("Transport.causeCode", () => {
  it("is the first string code along the chain", () => {
    expect(Transport.causeCode(new TypeError("terminated", { cause: withCode("closed", "UND_ERR_SOCKET") }))).toBe("UND_ERR_SOCKET")
    expect(Transport.causeCode(withCode("outer", "E_OUTER", withCode("inner", "EPIPE")))).toBe("E_OUTER")
    expect(Transport.causeCode(Object.assign(new Error("numeric"), { code: 42 }))).toBeUndefined()
    expect(Transport.causeCode(new Error("none"))).toBeUndefined()
    expect(Transport.causeCode(null)).toBeUndefined()
  })
})
