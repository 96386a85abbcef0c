/**
 * An incremental JSON parser for `streamObject`: text is pushed as it
 * arrives and each character is read exactly once, so a long answer costs
 * linear time in total — re-parsing the growing text on every delta (what a
 * `JSON.parse` of a "repaired" prefix does) is quadratic: 20,000 deltas of a
 * 100 kB answer would re-read ~1 GB.
 *
 * `snapshot()` is the value so far: finished values as they are, the string
 * being read cut where the text is, unfinished numbers and literals left out.
 * Containers that are closed are final and shared between snapshots; only the
 * open ones (the path from the root to the cursor) are copied, shallowly.
 *
 * @internal
 */

type Frame =
  | { readonly kind: "array"; readonly value: Array<unknown> }
  | { readonly kind: "object"; readonly value: Record<string, unknown>; key: string | undefined }

type Expect = "value" | "value-or-end" | "key" | "key-or-end" | "colon" | "comma-or-end" | "eof"

type Token = "none" | "string" | "number" | "literal"

const NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/

const ESCAPES: Record<string, string> = { "\"": "\"", "\\": "\\", "/": "/", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t" }

const isNumberChar = (c: number): boolean =>
  (c >= 48 && c <= 57) || c === 45 /* - */ || c === 43 /* + */ || c === 46 /* . */ || c === 101 /* e */ ||
  c === 69 /* E */

const isWhitespace = (c: number): boolean => c === 32 || c === 10 || c === 13 || c === 9

/** Thrown by `push` and `end` on text that is not JSON. @internal */
export class JsonSyntaxError extends Error {}

const set = (object: Record<string, unknown>, key: string, value: unknown): void => {
  // `object[key] = value` would set the prototype for "__proto__"; JSON.parse
  // makes it an own property.
  if (key === "__proto__") Object.defineProperty(object, key, { value, writable: true, enumerable: true, configurable: true })
  else object[key] = value
}

/** @internal */
export class PartialJson {
  private readonly stack: Array<Frame> = []
  private root: unknown = undefined
  private hasRoot = false
  private expect: Expect = "value"
  private token: Token = "none"
  private isKey = false
  private text = ""
  private escape: string | undefined = undefined
  private position = 0
  private changed = false

  /** Read more text. Throws `JsonSyntaxError` where the text stops being JSON. */
  push(chunk: string): void {
    const n = chunk.length
    let i = 0
    while (i < n) {
      switch (this.token) {
        case "string":
          i = this.readString(chunk, i)
          continue
        case "number": {
          const start = i
          while (i < n && isNumberChar(chunk.charCodeAt(i))) i++
          this.text += chunk.slice(start, i)
          if (i < n) this.endNumber()
          continue
        }
        case "literal": {
          const target = this.text[0] === "t" ? "true" : this.text[0] === "f" ? "false" : "null"
          while (i < n && this.text.length < target.length) {
            if (chunk[i] !== target[this.text.length]) this.fail(`unexpected "${chunk[i]}" in ${target}`, i)
            this.text += chunk[i++]
          }
          if (this.text.length === target.length) this.commit(target === "true" ? true : target === "false" ? false : null)
          continue
        }
      }
      const c = chunk.charCodeAt(i)
      if (isWhitespace(c)) {
        i++
        continue
      }
      this.readPunctuation(chunk[i]!, i)
      i++
    }
    this.position += n
  }

  /** The text is over: the complete value, or a `JsonSyntaxError` if it is cut or empty. */
  end(): unknown {
    if (this.token === "number") this.endNumber()
    if (this.expect !== "eof") throw new JsonSyntaxError(this.hasRoot || this.token !== "none" ? "the JSON text is cut short" : "no JSON value")
    return this.root
  }

  /** Whether the value changed since the last snapshot. */
  get hasChanged(): boolean {
    return this.changed
  }

  /** The value so far (`undefined` before anything is known). */
  snapshot(): unknown {
    this.changed = false
    const pending = this.token === "string" && !this.isKey ? this.text : undefined
    if (this.stack.length === 0) return this.expect === "eof" ? this.root : pending
    let inner: unknown = pending
    let hasInner = pending !== undefined
    for (let d = this.stack.length - 1; d >= 0; d--) {
      const frame = this.stack[d]!
      if (frame.kind === "array") {
        const copy = frame.value.slice()
        if (hasInner) {
          if (d === this.stack.length - 1) copy.push(inner)
          else copy[copy.length - 1] = inner
        }
        inner = copy
      } else {
        const copy = { ...frame.value }
        if (hasInner && frame.key !== undefined) set(copy, frame.key, inner)
        inner = copy
      }
      hasInner = true
    }
    return inner
  }

  private fail(message: string, offset: number): never {
    throw new JsonSyntaxError(`${message} at character ${this.position + offset}`)
  }

  private readString(chunk: string, from: number): number {
    const n = chunk.length
    let i = from
    while (i < n) {
      if (this.escape !== undefined) {
        const ch = chunk[i++]!
        if (this.escape === "") {
          if (ch === "u") this.escape = "u"
          else if (ESCAPES[ch] !== undefined) {
            this.text += ESCAPES[ch]
            this.escape = undefined
          } else this.fail(`bad escape "\\${ch}"`, i - 1)
        } else {
          if (!/[0-9a-fA-F]/.test(ch)) this.fail(`bad \\u escape`, i - 1)
          this.escape += ch
          if (this.escape.length === 5) {
            this.text += String.fromCharCode(parseInt(this.escape.slice(1), 16))
            this.escape = undefined
          }
        }
        continue
      }
      const start = i
      let c = 0
      while (i < n && (c = chunk.charCodeAt(i)) !== 34 && c !== 92 && c >= 32) i++
      if (i > start) {
        this.text += chunk.slice(start, i)
        if (!this.isKey) this.changed = true
      }
      if (i === n) return i
      if (c < 32) this.fail("a control character in a string", i)
      i++
      if (c === 92) {
        this.escape = ""
        continue
      }
      // The closing quote.
      const value = this.text
      this.token = "none"
      this.text = ""
      if (this.isKey) {
        const frame = this.stack[this.stack.length - 1] as Extract<Frame, { kind: "object" }>
        frame.key = value
        this.expect = "colon"
      } else {
        this.commit(value)
      }
      return i
    }
    return i
  }

  private endNumber(): void {
    const text = this.text
    this.token = "none"
    this.text = ""
    if (!NUMBER.test(text)) throw new JsonSyntaxError(`bad number "${text}" before character ${this.position}`)
    this.commit(Number(text))
  }

  private readPunctuation(ch: string, i: number): void {
    switch (this.expect) {
      case "value":
      case "value-or-end":
        if (ch === "{") return this.open({ kind: "object", value: {}, key: undefined })
        if (ch === "[") return this.open({ kind: "array", value: [] })
        if (ch === "\"") return this.startToken("string", "", false)
        if (ch === "-" || (ch >= "0" && ch <= "9")) return this.startToken("number", ch, false)
        if (ch === "t" || ch === "f" || ch === "n") return this.startToken("literal", ch, false)
        if (ch === "]" && this.expect === "value-or-end") return this.close()
        return this.fail(`unexpected "${ch}" where a value belongs`, i)
      case "key":
      case "key-or-end":
        if (ch === "\"") return this.startToken("string", "", true)
        if (ch === "}" && this.expect === "key-or-end") return this.close()
        return this.fail(`unexpected "${ch}" where a key belongs`, i)
      case "colon":
        if (ch === ":") {
          this.expect = "value"
          return
        }
        return this.fail(`expected ":" but found "${ch}"`, i)
      case "comma-or-end": {
        const top = this.stack[this.stack.length - 1]!
        if (ch === ",") {
          this.expect = top.kind === "array" ? "value" : "key"
          return
        }
        if (ch === "]" && top.kind === "array") return this.close()
        if (ch === "}" && top.kind === "object") return this.close()
        return this.fail(`unexpected "${ch}" after a value`, i)
      }
      case "eof":
        return this.fail(`unexpected "${ch}" after the JSON value`, i)
    }
  }

  private startToken(token: Token, text: string, isKey: boolean): void {
    this.token = token
    this.text = text
    this.isKey = isKey
  }

  private attach(value: unknown): void {
    this.changed = true
    const top = this.stack[this.stack.length - 1]
    if (top === undefined) {
      this.root = value
      this.hasRoot = true
    } else if (top.kind === "array") top.value.push(value)
    else set(top.value, top.key!, value)
  }

  private commit(value: unknown): void {
    this.token = "none"
    this.text = ""
    this.attach(value)
    this.expect = this.stack.length === 0 ? "eof" : "comma-or-end"
  }

  private open(frame: Frame): void {
    this.attach(frame.value)
    this.stack.push(frame)
    this.expect = frame.kind === "array" ? "value-or-end" : "key-or-end"
  }

  private close(): void {
    this.stack.pop()
    this.changed = true
    this.expect = this.stack.length === 0 ? "eof" : "comma-or-end"
  }
}
