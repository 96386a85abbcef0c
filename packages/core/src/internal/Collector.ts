/**
 * The fold behind `Provider.collect`, as a plain object fed chunk by chunk:
 * `collect` runs a stream into it, and the agent loop feeds it each step's
 * chunks as they pass (so a step is folded without running a second stream).
 *
 * Text and reasoning are appended to two strings; a part only records where
 * its slice starts, and the slices are cut once at the end — so a delta costs
 * one string append and one comparison.
 *
 * @internal
 */
import type * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import type * as ChatRequest from "../ChatRequest.js"
import { Disconnected } from "../LlmError.js"
import type { Generation, Usage } from "../Provider.js"
import type * as StreamEvent from "../StreamEvent.js"

type Mark =
  | { readonly kind: "text"; readonly start: number }
  | { readonly kind: "reasoning"; readonly start: number; end: number | undefined; data?: StreamEvent.ReasoningEnd }
  | { readonly kind: "tool-call"; readonly index: number }

const usageOf = (event: StreamEvent.Usage): Usage => {
  const { _tag: _, ...usage } = event
  return usage
}

/** @internal */
export class Collector {
  private text = ""
  private reasoning = ""
  private readonly toolCalls: Array<Generation["toolCalls"][number]> = []
  private usage: Usage | undefined = undefined
  private finish: StreamEvent.Finish | undefined = undefined
  private metadata: Array<StreamEvent.ProviderMetadata> | undefined = undefined
  // Parts as marks: a text or reasoning part holds the offset where it starts
  // in `text` / `reasoning`; it ends where the next one of its kind starts (or
  // at the end).
  private readonly marks: Array<Mark> = []
  private open: "text" | "reasoning" | undefined = undefined

  /** Fold one chunk of events in. */
  add(chunk: Iterable<StreamEvent.StreamEvent> | Chunk.Chunk<StreamEvent.StreamEvent>): void {
    for (const event of chunk) {
      switch (event._tag) {
        case "TextDelta":
          if (this.open !== "text") {
            this.marks.push({ kind: "text", start: this.text.length })
            this.open = "text"
          }
          this.text += event.text
          break
        case "ReasoningDelta":
          if (this.open !== "reasoning") {
            this.marks.push({ kind: "reasoning", start: this.reasoning.length, end: undefined })
            this.open = "reasoning"
          }
          this.reasoning += event.text
          break
        case "ReasoningEnd": {
          let mark = this.marks.at(-1)
          if (this.open !== "reasoning" || mark === undefined || mark.kind !== "reasoning") {
            // A block with no text (redacted, or a bare signature).
            mark = { kind: "reasoning", start: this.reasoning.length, end: undefined }
            this.marks.push(mark)
          }
          mark.end = this.reasoning.length
          mark.data = event
          this.open = undefined
          break
        }
        case "ToolCallEnd": {
          const call = event.signature === undefined
            ? { id: event.id, name: event.name, arguments: event.arguments }
            : event.provider === undefined
            ? { id: event.id, name: event.name, arguments: event.arguments, signature: event.signature }
            : { id: event.id, name: event.name, arguments: event.arguments, signature: event.signature, provider: event.provider }
          this.toolCalls.push(call)
          this.marks.push({ kind: "tool-call", index: this.toolCalls.length - 1 })
          this.open = undefined
          break
        }
        case "Usage":
          this.usage = usageOf(event)
          break
        case "ProviderMetadata":
          ;(this.metadata ??= []).push(event)
          break
        case "Finish":
          this.finish = event
          break
      }
    }
  }

  /** The generation, once its `Finish` came; `undefined` before. */
  generation(): Generation | undefined {
    const finish = this.finish
    if (finish === undefined) return undefined
    return {
      text: this.text,
      reasoning: this.reasoning,
      toolCalls: this.toolCalls,
      usage: this.usage,
      finish,
      parts: partsOf(this.marks, this.text, this.reasoning, this.toolCalls),
      metadata: this.metadata ?? []
    }
  }

  /** The generation; `Disconnected` if no `Finish` came. */
  result(provider: string): Effect.Effect<Generation, Disconnected> {
    const generation = this.generation()
    return generation === undefined ? Effect.fail(disconnected(provider)) : Effect.succeed(generation)
  }
}

/** A stream that ended without its `Finish`. @internal */
export const disconnected = (provider: string): Disconnected =>
  new Disconnected({ provider, message: `${provider}: stream ended without a finish` })

const partsOf = (
  marks: ReadonlyArray<Mark>,
  text: string,
  reasoning: string,
  toolCalls: Generation["toolCalls"]
): Array<ChatRequest.AssistantPart> => {
  const parts: Array<ChatRequest.AssistantPart> = []
  // Where each text part ends: the start of the next text part, or the end.
  let nextText = text.length
  const textEnds: Array<number> = []
  for (let i = marks.length - 1; i >= 0; i--) {
    const mark = marks[i]!
    if (mark.kind === "text") {
      textEnds[i] = nextText
      nextText = mark.start
    }
  }
  for (let i = 0; i < marks.length; i++) {
    const mark = marks[i]!
    switch (mark.kind) {
      case "text":
        // The whole text (the common case) is not sliced: a slice flattens
        // the string the deltas built, an O(length) copy.
        parts.push({ type: "text", text: mark.start === 0 && textEnds[i] === text.length ? text : text.slice(mark.start, textEnds[i]) })
        break
      case "reasoning": {
        const end = mark.end ?? nextReasoningStart(marks, i, reasoning.length)
        const { _tag: _, provider, ...data } = mark.data ?? { _tag: "ReasoningEnd", provider: undefined }
        parts.push({
          type: "reasoning",
          text: mark.start === 0 && end === reasoning.length ? reasoning : reasoning.slice(mark.start, end),
          ...data,
          ...(provider === undefined ? {} : { provider })
        })
        break
      }
      case "tool-call": {
        const call = toolCalls[mark.index]!
        parts.push({ type: "tool-call", ...call })
        break
      }
    }
  }
  return parts
}

const nextReasoningStart = (marks: ReadonlyArray<Mark>, from: number, end: number): number => {
  for (let i = from + 1; i < marks.length; i++) {
    const mark = marks[i]!
    if (mark.kind === "reasoning") return mark.start
  }
  return end
}
