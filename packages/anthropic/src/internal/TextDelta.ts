/**
 * The event Anthropic sends for every text delta, recognised without
 * `JSON.parse`: `{"type":"content_block_delta","index":N,"delta":{"type":
 * "text_delta","text":"…"}}` (the `delta`'s two fields come in either order
 * in recorded traffic). It is most of a stream's frames, and parsing them was
 * the largest part of the byte path's cost. Any other frame — another field,
 * whitespace, a control character — returns `undefined` and is parsed as
 * before; a property test holds this to `JSON.parse`.
 *
 * @internal
 */
import type AnthropicSdk from "@anthropic-ai/sdk"
import { JsonScan } from "@streamvisor/core"

const PREFIX = `{"type":"content_block_delta","index":`
const TYPE_FIRST = `,"delta":{"type":"text_delta","text":"`
const TEXT_FIRST = `,"delta":{"text":"`
const TYPE_LAST = `","type":"text_delta"}}`
const END = `"}}`

/** The event of a text-delta frame's data, or `undefined` for any other data. @internal */
export const textDeltaOf = (data: string): AnthropicSdk.RawContentBlockDeltaEvent | undefined => {
  if (!data.startsWith(PREFIX)) return undefined
  const indexEnd = JsonScan.naturalEnd(data, PREFIX.length)
  if (indexEnd === -1) return undefined
  let start: number
  let tail: string
  if (data.startsWith(TYPE_FIRST, indexEnd)) {
    start = indexEnd + TYPE_FIRST.length
    tail = END
  } else if (data.startsWith(TEXT_FIRST, indexEnd)) {
    start = indexEnd + TEXT_FIRST.length
    tail = TYPE_LAST
  } else return undefined
  const end = JsonScan.stringEnd(data, start)
  if (end === -1 || end + tail.length !== data.length || !data.endsWith(tail)) return undefined
  const text = JsonScan.stringValue(data, start, end)
  if (text === undefined) return undefined
  return {
    type: "content_block_delta",
    index: Number(data.slice(PREFIX.length, indexEnd)),
    delta: { type: "text_delta", text }
  }
}
