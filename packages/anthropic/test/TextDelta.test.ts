/**
 * The byte path's recogniser of Anthropic's text-delta frame against
 * `JSON.parse`: it reads every such frame the API writes (both field orders,
 * any text), and accepts nothing `JSON.parse` would not read as exactly that
 * event.
 */
import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import { textDeltaOf } from "../src/internal/TextDelta.js"

const typeFirst = (index: number, text: string) =>
  JSON.stringify({ type: "content_block_delta", index, delta: { type: "text_delta", text } })
const textFirst = (index: number, text: string) =>
  JSON.stringify({ type: "content_block_delta", index, delta: { text, type: "text_delta" } })

/** What `JSON.parse` reads: the event, if the data is exactly a text delta. */
const byJsonParse = (data: string): unknown => {
  let value: any
  try {
    value = JSON.parse(data)
  } catch {
    return undefined
  }
  const delta = value?.delta
  const ok = typeof value === "object" && value !== null && Object.keys(value).join() === "type,index,delta" &&
    value.type === "content_block_delta" && Number.isInteger(value.index) && value.index >= 0 &&
    typeof delta === "object" && delta !== null && Object.keys(delta).sort().join() === "text,type" &&
    delta.type === "text_delta" && typeof delta.text === "string"
  return ok ? { type: "content_block_delta", index: value.index, delta: { type: "text_delta", text: delta.text } } : undefined
}

const text = fc.string({ unit: "binary", maxLength: 40 })

describe("textDeltaOf", () => {
  it("reads every text-delta frame, in both field orders", () => {
    fc.assert(
      fc.property(fc.nat({ max: 1000 }), text, fc.boolean(), (index, value, first) => {
        const data = first ? typeFirst(index, value) : textFirst(index, value)
        expect(textDeltaOf(data)).toEqual({ type: "content_block_delta", index, delta: { type: "text_delta", text: value } })
      }),
      { numRuns: 500 }
    )
  })

  it("accepts nothing JSON.parse would not read as exactly that event", () => {
    const base = fc.tuple(fc.nat({ max: 1000 }), text, fc.boolean()).map(([i, t, f]) => (f ? typeFirst(i, t) : textFirst(i, t)))
    const edit = fc.tuple(base, fc.nat(), fc.nat({ max: 3 }), fc.string({ unit: "binary", maxLength: 3 })).map(
      ([data, at, del, insert]) => {
        const i = at % (data.length + 1)
        return data.slice(0, i) + insert + data.slice(i + del)
      }
    )
    fc.assert(
      fc.property(fc.oneof(base, edit), (data) => {
        const fast = textDeltaOf(data)
        if (fast !== undefined) expect(fast).toEqual(byJsonParse(data))
      }),
      { numRuns: 3000 }
    )
  })

  it("leaves every other frame to JSON.parse", () => {
    for (
      const data of [
        `{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"x"}}`,
        `{"type":"content_block_delta","index":01,"delta":{"type":"text_delta","text":"x"}}`,
        `{"type":"content_block_delta","index":-1,"delta":{"type":"text_delta","text":"x"}}`,
        `{"type":"content_block_delta", "index":0,"delta":{"type":"text_delta","text":"x"}}`,
        `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"x"}} `,
        `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"a\nb"}}`,
        `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"\\q"}}`,
        `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"x","extra":1}}`
      ]
    ) expect(textDeltaOf(data), data).toBeUndefined()
  })
})
