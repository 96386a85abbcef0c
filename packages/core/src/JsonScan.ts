/**
 * For decoders: recognise a JSON string inside a known line without parsing
 * the line. An adapter whose provider writes its hot event in one fixed shape
 * (Ollama's content line, Anthropic's `text_delta`) checks the shape's fixed
 * parts with `startsWith` and reads the strings with these; any line that does
 * not match exactly goes to `JSON.parse` as before. Only valid JSON is ever
 * accepted: a raw control character or an unterminated string is a miss, and
 * a string with escapes is read by `JSON.parse` of that one literal.
 *
 * @example
 * ```ts
 * import { JsonScan } from "@streamvisor/core"
 *
 * const PREFIX = `{"text":"`
 * const line = `{"text":"hi \\"there\\""}`
 * const end = JsonScan.stringEnd(line, PREFIX.length)
 * const text = line.startsWith(PREFIX) && end !== -1 && line.slice(end) === `"}`
 *   ? JsonScan.stringValue(line, PREFIX.length, end)
 *   : undefined // hi "there"
 * ```
 *
 * @since 0.3.0
 */

const QUOTE = 34
const BACKSLASH = 92

/**
 * The index of the closing quote of the JSON string whose text starts at
 * `from` (just after its opening quote), escapes skipped; -1 if it holds a raw
 * control character (not JSON) or does not end.
 *
 * @since 0.3.0
 * @category scanning
 */
export const stringEnd = (text: string, from: number): number => {
  for (let i = from; i < text.length; i++) {
    const code = text.charCodeAt(i)
    if (code === QUOTE) return i
    if (code < 0x20) return -1
    if (code === BACKSLASH) i++
  }
  return -1
}

/**
 * Like `stringEnd`, but a string with any escape is a miss too (-1): for
 * strings whose value is not needed, so their escapes need no checking.
 *
 * @since 0.3.0
 * @category scanning
 */
export const plainStringEnd = (text: string, from: number): number => {
  for (let i = from; i < text.length; i++) {
    const code = text.charCodeAt(i)
    if (code === QUOTE) return i
    if (code < 0x20 || code === BACKSLASH) return -1
  }
  return -1
}

/**
 * The value of the JSON string between `from` and `end` (as `stringEnd`
 * found them): the slice itself when it has no escape, else `JSON.parse` of
 * the literal; `undefined` for an invalid escape.
 *
 * @since 0.3.0
 * @category scanning
 */
export const stringValue = (text: string, from: number, end: number): string | undefined => {
  const slash = text.indexOf("\\", from)
  if (slash === -1 || slash >= end) return text.slice(from, end)
  try {
    return JSON.parse(text.slice(from - 1, end + 1)) as string
  } catch {
    return undefined
  }
}

/**
 * The index just past the JSON non-negative integer at `from` (`0` or a
 * digit 1–9 followed by digits); -1 if there is none there.
 *
 * @since 0.3.0
 * @category scanning
 */
export const naturalEnd = (text: string, from: number): number => {
  const first = text.charCodeAt(from)
  if (first === 48) return from + 1
  if (!(first >= 49 && first <= 57)) return -1
  let i = from + 1
  while (i < text.length) {
    const code = text.charCodeAt(i)
    if (code < 48 || code > 57) break
    i++
  }
  return i
}
