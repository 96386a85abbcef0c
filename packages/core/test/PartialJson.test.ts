import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import { JsonSyntaxError, PartialJson } from "../src/internal/PartialJson.js"

/** Split `text` at the given cut points (sorted, deduplicated, in range). */
const split = (text: string, cuts: ReadonlyArray<number>): Array<string> => {
  const points = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b)
  const pieces: Array<string> = []
  let from = 0
  for (const p of points) {
    pieces.push(text.slice(from, p))
    from = p
  }
  pieces.push(text.slice(from))
  return pieces
}

/** `partial` is what `final` looks like part-way: every known piece agrees with it. */
const isPrefixOf = (partial: unknown, final: unknown): boolean => {
  if (typeof partial === "string") return typeof final === "string" && final.startsWith(partial)
  if (Array.isArray(partial)) {
    if (!Array.isArray(final) || partial.length > final.length) return false
    return partial.every((item, i) => isPrefixOf(item, final[i]))
  }
  if (typeof partial === "object" && partial !== null) {
    if (typeof final !== "object" || final === null || Array.isArray(final)) return false
    return Object.keys(partial).every((key) =>
      Object.prototype.hasOwnProperty.call(final, key) &&
      isPrefixOf((partial as Record<string, unknown>)[key], (final as Record<string, unknown>)[key])
    )
  }
  return Object.is(partial, final) || partial === final
}

const parseAll = (pieces: ReadonlyArray<string>) => {
  const parser = new PartialJson()
  const snapshots: Array<unknown> = []
  for (const piece of pieces) {
    parser.push(piece)
    if (parser.hasChanged) snapshots.push(parser.snapshot())
  }
  return { value: parser.end(), snapshots }
}

const accepts = (text: string): boolean => {
  try {
    JSON.parse(text)
    return true
  } catch {
    return false
  }
}

const parses = (pieces: ReadonlyArray<string>): boolean => {
  try {
    parseAll(pieces)
    return true
  } catch (error) {
    if (!(error instanceof JsonSyntaxError)) throw error
    return false
  }
}

describe("PartialJson", () => {
  it("shows the object as it grows: open strings cut, unfinished numbers and literals left out", () => {
    const parser = new PartialJson()
    const seen: Array<unknown> = []
    for (const piece of ["{\"na", "me\": \"Os", "lo\", \"pop", "\": 70", "9000, \"tags\": [\"cap", "ital\", tr", "ue]}"]) {
      parser.push(piece)
      seen.push(parser.snapshot())
    }
    expect(seen).toEqual([
      {},
      { name: "Os" },
      { name: "Oslo" },
      { name: "Oslo" },
      { name: "Oslo", pop: 709000, tags: ["cap"] },
      { name: "Oslo", pop: 709000, tags: ["capital"] },
      { name: "Oslo", pop: 709000, tags: ["capital", true] }
    ])
    expect(parser.end()).toEqual({ name: "Oslo", pop: 709000, tags: ["capital", true] })
  })

  it("shares closed containers between snapshots and never changes a snapshot already given", () => {
    const parser = new PartialJson()
    parser.push("{\"a\": {\"b\": [1, 2]}, \"c\": [")
    const first = parser.snapshot() as { a: unknown; c: Array<unknown> }
    parser.push("3, 4")
    const second = parser.snapshot() as { a: unknown; c: Array<unknown> }
    expect(first).toEqual({ a: { b: [1, 2] }, c: [] })
    expect(second.a).toBe(first.a)
    parser.push("]}")
    expect(second).toEqual({ a: { b: [1, 2] }, c: [3] })
    expect(parser.end()).toEqual({ a: { b: [1, 2] }, c: [3, 4] })
  })

  it("decodes escapes split across pushes, and keeps __proto__ an own property", () => {
    const { value } = parseAll(["[\"a\\", "u00", "e9\\n\\\"\", {\"__proto__\": 1}]"])
    expect(value).toEqual(JSON.parse("[\"a\\u00e9\\n\\\"\", {\"__proto__\": 1}]"))
    expect(Object.getPrototypeOf((value as Array<object>)[1])).toBe(Object.prototype)
  })

  it.each([
    ["", "no JSON value"],
    ["{\"a\": 1", "cut short"],
    ["[1,]", "unexpected \"]\""],
    ["{\"a\" 1}", "expected \":\""],
    ["01", "bad number"],
    ["tru", "cut short"],
    ["trux", "unexpected \"x\""],
    ["{} {}", "after the JSON value"],
    ["\"a\u0001\"", "control character"]
  ])("rejects %j (%s)", (text, message) => {
    expect(() => parseAll([text])).toThrow(message)
  })

  it("property: any split of any JSON text ends in JSON.parse's value, through snapshots that are prefixes of it", () => {
    fc.assert(
      fc.property(
        fc.jsonValue(),
        fc.boolean(),
        fc.array(fc.nat(), { maxLength: 12 }),
        (json, pretty, cuts) => {
          const text = pretty ? JSON.stringify(json, null, 2) : JSON.stringify(json)
          const expected = JSON.parse(text)
          const { snapshots, value } = parseAll(split(text, cuts))
          expect(value).toEqual(expected)
          for (const snapshot of snapshots) expect(isPrefixOf(snapshot, expected)).toBe(true)
        }
      ),
      { numRuns: 300 }
    )
  })

  it("property: accepts exactly what JSON.parse accepts, however the text is split", () => {
    const jsonish = fc.stringMatching(/^[\s{}[\]",:0-9.eE+\-tfrunlsa\\]{0,24}$/)
    fc.assert(
      fc.property(fc.oneof(jsonish, fc.json()), fc.array(fc.nat(), { maxLength: 6 }), (text, cuts) => {
        expect(parses(split(text, cuts))).toBe(accepts(text))
      }),
      { numRuns: 1000 }
    )
  })
})
