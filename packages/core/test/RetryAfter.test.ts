/**
 * `RetryAfter.fromHeaders` over any headers shape: milliseconds, seconds, an
 * HTTP date, and what is not a usable hint.
 */
import { RetryAfter } from "@streamvisor/core"
import * as Duration from "effect/Duration"
import { describe, expect, it } from "vitest"

const record = (headers: Record<string, string>): RetryAfter.HeaderGetter => (name) => headers[name]
const now = Date.parse("2030-01-01T00:00:00Z")

describe("RetryAfter.fromHeaders", () => {
  it("reads retry-after-ms as milliseconds, before retry-after", () => {
    expect(RetryAfter.fromHeaders(record({ "retry-after-ms": "250" }))).toEqual(Duration.millis(250))
    expect(RetryAfter.fromHeaders(record({ "retry-after-ms": "1500", "retry-after": "9" }))).toEqual(Duration.millis(1500))
    expect(RetryAfter.fromHeaders(record({ "retry-after-ms": "0" }))).toEqual(Duration.zero)
  })

  it("reads retry-after as seconds, fractions included", () => {
    expect(RetryAfter.fromHeaders(record({ "retry-after": "7" }))).toEqual(Duration.seconds(7))
    expect(RetryAfter.fromHeaders(record({ "retry-after": " 1.5 " }))).toEqual(Duration.millis(1500))
  })

  it("reads retry-after as an HTTP date, zero once it has passed", () => {
    expect(RetryAfter.fromHeaders(record({ "retry-after": "Tue, 01 Jan 2030 00:00:30 GMT" }), now)).toEqual(Duration.seconds(30))
    expect(RetryAfter.fromHeaders(record({ "retry-after": "Mon, 31 Dec 2029 00:00:00 GMT" }), now)).toEqual(Duration.zero)
    const live = RetryAfter.fromHeaders(record({ "retry-after": new Date(Date.now() + 10_000).toUTCString() }))!
    expect(Duration.toMillis(live)).toBeGreaterThan(8_000)
    expect(Duration.toMillis(live)).toBeLessThanOrEqual(10_000)
  })

  it("ignores garbage and empty values", () => {
    expect(RetryAfter.fromHeaders(record({ "retry-after": "soon" }))).toBeUndefined()
    expect(RetryAfter.fromHeaders(record({ "retry-after": "" }))).toBeUndefined()
    expect(RetryAfter.fromHeaders(record({ "retry-after": "   " }))).toBeUndefined()
    expect(RetryAfter.fromHeaders(record({}))).toBeUndefined()
    // an unreadable retry-after-ms falls back to retry-after
    expect(RetryAfter.fromHeaders(record({ "retry-after-ms": "soon", "retry-after": "2" }))).toEqual(Duration.seconds(2))
    expect(RetryAfter.fromHeaders(record({ "retry-after-ms": "", "retry-after": "2" }))).toEqual(Duration.seconds(2))
  })

  it("ignores negative values", () => {
    expect(RetryAfter.fromHeaders(record({ "retry-after": "-5" }))).toBeUndefined()
    expect(RetryAfter.fromHeaders(record({ "retry-after-ms": "-100" }))).toBeUndefined()
    expect(RetryAfter.fromHeaders(record({ "retry-after-ms": "-100", "retry-after": "3" }))).toEqual(Duration.seconds(3))
  })

  it("takes any headers shape through its getter: `Headers.get` returns null when absent", () => {
    const headers = new Headers({ "Retry-After": "4" })
    expect(RetryAfter.fromHeaders((name) => headers.get(name))).toEqual(Duration.seconds(4))
    expect(RetryAfter.fromHeaders((name) => new Headers().get(name))).toBeUndefined()
  })
})
