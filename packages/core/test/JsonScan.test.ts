import { describe, expect, it } from "@effect/vitest"
import { JsonScan } from "@streamvisor/core"
import * as fc from "fast-check"

describe("JsonScan", () => {
  it("finds the end of any JSON string literal and reads its value back", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), fc.string(), (value, rest) => {
        const literal = JSON.stringify(value)
        const text = literal + rest
        const end = JsonScan.stringEnd(text, 1)
        expect(end).toBe(literal.length - 1)
        expect(JsonScan.stringValue(text, 1, end)).toBe(value)
        const plain = JsonScan.plainStringEnd(text, 1)
        expect(plain).toBe(literal.includes("\\") ? -1 : literal.length - 1)
      })
    )
  })

  it("misses what is not JSON: a raw control character, an unterminated string, a bad escape", () => {
    expect(JsonScan.stringEnd(`a\tb"`, 0)).toBe(-1)
    expect(JsonScan.stringEnd(`abc`, 0)).toBe(-1)
    expect(JsonScan.stringEnd(`ab\\"`, 0)).toBe(-1)
    const bad = `\\q"`
    expect(JsonScan.stringValue(bad, 0, JsonScan.stringEnd(bad, 0))).toBeUndefined()
  })

  it("reads JSON's non-negative integers only", () => {
    expect(JsonScan.naturalEnd(`0,`, 0)).toBe(1)
    expect(JsonScan.naturalEnd(`120,`, 0)).toBe(3)
    expect(JsonScan.naturalEnd(`-1`, 0)).toBe(-1)
    expect(JsonScan.naturalEnd(`x`, 0)).toBe(-1)
    expect(JsonScan.naturalEnd(`01`, 0)).toBe(1)
  })
})
