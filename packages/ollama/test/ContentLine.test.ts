/**
 * The decoder's recogniser of Ollama's common line (`contentOf`) against
 * `JSON.parse`: whatever it accepts is valid JSON of exactly that shape with
 * that content, it accepts every such line the server writes, and lines it
 * refuses still decode (or fail) through the full path as before.
 */
import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import { contentOf } from "../src/internal/Decoder.js"

const common = (model: string, createdAt: string, content: string) =>
  JSON.stringify({ model, created_at: createdAt, message: { role: "assistant", content }, done: false })

/** What the full path would conclude: the content if the line is exactly the common shape. */
const byJsonParse = (line: string): string | undefined => {
  let value: any
  try {
    value = JSON.parse(line)
  } catch {
    return undefined
  }
  const ok = typeof value === "object" && value !== null && !Array.isArray(value) &&
    Object.keys(value).join() === "model,created_at,message,done" && typeof value.model === "string" &&
    typeof value.created_at === "string" && value.done === false && typeof value.message === "object" &&
    value.message !== null && Object.keys(value.message).join() === "role,content" &&
    value.message.role === "assistant" && typeof value.message.content === "string"
  return ok ? value.message.content : undefined
}

const text = fc.string({ unit: "binary", maxLength: 40 })

describe("contentOf", () => {
  it("reads the content of every common line, escapes, control characters and astral characters included", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme-ascii", maxLength: 12 }), text, (model, content) => {
        const line = common(model.replace(/["\\]/g, ""), "2026-12-02T11:40:48.000Z", content)
        expect(contentOf(line)).toBe(content)
      }),
      { numRuns: 500 }
    )
  })

  it("accepts nothing JSON.parse would not read as that exact shape and content", () => {
    const base = fc.tuple(text, text, text).map(([m, c, t]) => common(m, c, t))
    const edit = fc.tuple(base, fc.nat(), fc.nat({ max: 3 }), fc.string({ unit: "binary", maxLength: 3 })).map(
      ([line, at, del, insert]) => {
        const i = at % (line.length + 1)
        return line.slice(0, i) + insert + line.slice(i + del)
      }
    )
    fc.assert(
      fc.property(fc.oneof(base, edit), (line) => {
        const fast = contentOf(line)
        if (fast !== undefined) expect(byJsonParse(line)).toBe(fast)
      }),
      { numRuns: 3000 }
    )
  })

  it("leaves every other line to the full path", () => {
    for (
      const line of [
        `{"model":"m","created_at":"t","message":{"role":"assistant","content":"hi","thinking":"x"},"done":false}`,
        `{"model":"m","created_at":"t","message":{"role":"assistant","content":"hi"},"done":true}`,
        `{"model":"m","created_at":"t","message":{"role":"assistant","content":"hi"},"done":false} `,
        `{"model":"m","created_at":"t","message":{"role":"assistant","content":"hi"},"done":false}\r`,
        `{"model":"m","created_at":"t","message":{"role":"assistant","content":"a\tb"},"done":false}`,
        `{"model":"m","created_at":"t","message":{"role":"assistant","content":"\\x"},"done":false}`,
        `{"model":"m","created_at":"t","message":{"role":"assistant","content":"hi"},"done":false}}`,
        `{"model":"m\\"","created_at":"t","message":{"role":"assistant","content":"hi"},"done":false}`,
        `{"model":"m","created_at":"t","message":{"role":"assistant","content":"hi"},"done":false,"error":"x"}`
      ]
    ) expect(contentOf(line), line).toBeUndefined()
  })
})
