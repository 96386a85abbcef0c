/**
 * fast-check arbitraries of scripts, events and faults, for property tests that drive a
 * {@link FakeLlmServer} with random (but valid) streams.
 *
 * @since 0.1.0
 */
import * as fc from "fast-check"
import type {
  Fault,
  FinishReason,
  JsonEvent,
  ReasoningEvent,
  RedactedReasoningEvent,
  Scripted,
  ScriptEvent,
  TextEvent,
  ToolCallEvent,
  Usage
} from "./Script.js"

/** A non-empty delta of any Unicode (empty deltas are dropped by some SDKs' consumers). */
export const delta: fc.Arbitrary<string> = fc.string({ unit: "grapheme", minLength: 1, maxLength: 12 })

/** A text event. */
export const textEvent: fc.Arbitrary<TextEvent> = delta.map((text) => ({ type: "text", text }))

/** A reasoning event. */
export const reasoningEvent: fc.Arbitrary<ReasoningEvent> = delta.map((text) => ({ type: "reasoning", text }))

const identifier = fc.stringMatching(/^[a-z][a-z0-9_]{0,11}$/)

/** Tool-call arguments: JSON text of an object (every format can carry it). */
export const toolArguments: fc.Arbitrary<string> = fc
  .dictionary(identifier, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 })
  .map((value) => JSON.stringify(value))

/** A tool-call event with a unique-looking id and 1–4 argument chunks. */
export const toolCallEvent: fc.Arbitrary<ToolCallEvent> = fc.record({
  type: fc.constant("toolCall" as const),
  id: identifier.map((s) => `call_${s}`),
  name: identifier,
  arguments: toolArguments,
  chunks: fc.integer({ min: 1, max: 4 })
})

/** An opaque signature (base64 text, like the providers'). */
export const signature: fc.Arbitrary<string> = fc.base64String({ minLength: 4, maxLength: 64 })

/** A reasoning block: 1–4 deltas, the last signed (ends the block with its signature). */
export const signedReasoning: fc.Arbitrary<Array<ReasoningEvent>> = fc
  .tuple(fc.array(delta, { minLength: 1, maxLength: 4 }), signature)
  .map(([texts, sig]) => texts.map((text, i) => (i === texts.length - 1 ? { type: "reasoning", text, signature: sig } : { type: "reasoning", text })))

/** An opaque (redacted / encrypted) reasoning block. */
export const redactedReasoningEvent: fc.Arbitrary<RedactedReasoningEvent> = signature.map((data) => ({ type: "redactedReasoning", data }))

/** A JSON answer: any JSON value, in 1–4 deltas. */
export const jsonEvent: fc.Arbitrary<JsonEvent> = fc.record({
  type: fc.constant("json" as const),
  json: fc.jsonValue({ maxDepth: 3 }).map((value) => JSON.stringify(value)),
  chunks: fc.integer({ min: 1, max: 4 })
})

/** A tool call whose Gemini part carries a thought signature. */
export const signedToolCallEvent: fc.Arbitrary<ToolCallEvent> = fc
  .tuple(toolCallEvent, signature)
  .map(([call, sig]) => ({ ...call, signature: sig }))

/** Usage with the detail counts (cache reads and writes, reasoning tokens), each present or not. */
export const usage: fc.Arbitrary<Usage> = fc.record(
  {
    inputTokens: fc.nat(10_000),
    outputTokens: fc.nat(10_000),
    cachedInputTokens: fc.nat(10_000),
    cacheWriteTokens: fc.nat(10_000),
    reasoningTokens: fc.nat(10_000)
  },
  { requiredKeys: ["inputTokens", "outputTokens"] }
)

/**
 * The conversation-model events (signed reasoning blocks, redacted reasoning, JSON answers, signed
 * tool calls) mixed with the plain ones: a script's events, flattened.
 */
export const richEvents = (constraints?: { readonly maxLength?: number }): fc.Arbitrary<Array<ScriptEvent>> =>
  fc
    .array(
      fc.oneof(
        { arbitrary: textEvent.map((e): Array<ScriptEvent> => [e]), weight: 3 },
        { arbitrary: signedReasoning.map((es): Array<ScriptEvent> => es), weight: 2 },
        { arbitrary: redactedReasoningEvent.map((e): Array<ScriptEvent> => [e]), weight: 1 },
        { arbitrary: jsonEvent.map((e): Array<ScriptEvent> => [e]), weight: 1 },
        { arbitrary: signedToolCallEvent.map((e): Array<ScriptEvent> => [e]), weight: 1 }
      ),
      { maxLength: constraints?.maxLength ?? 8 }
    )
    .map((groups) => groups.flat())

/** Any event, text most often. */
export const event: fc.Arbitrary<ScriptEvent> = fc.oneof(
  { arbitrary: textEvent, weight: 4 },
  { arbitrary: reasoningEvent, weight: 1 },
  { arbitrary: toolCallEvent, weight: 1 }
)

/** Events of a script. */
export const events = (constraints?: { readonly minLength?: number; readonly maxLength?: number }): fc.Arbitrary<Array<ScriptEvent>> =>
  fc.array(event, { minLength: constraints?.minLength ?? 0, maxLength: constraints?.maxLength ?? 20 })

/** A neutral finish reason. */
export const finishReason: fc.Arbitrary<FinishReason> = fc.constantFrom("stop", "length", "tool_calls", "content_filter")

/** A fault that ends or stalls a stream after at most `maxAfter` events (timing faults excluded: no hang/stall). */
export const terminatingFault = (maxAfter = 20): fc.Arbitrary<Fault> => {
  const after = fc.integer({ min: 0, max: maxAfter })
  return fc.oneof(
    fc.record({ type: fc.constant("status" as const), status: fc.constantFrom(400, 401, 429, 500, 503, 529) }),
    fc.record({ type: fc.constant("disconnect" as const), afterEvents: after }),
    fc.record({
      type: fc.constant("errorEvent" as const),
      afterEvents: after,
      kind: fc.constantFrom("overloaded" as const, "server" as const, "rate_limit" as const)
    }),
    fc.record({ type: fc.constant("malformed" as const), afterEvents: after })
  )
}

/** Any fault, including the ones that never end on their own (hang, stall, headersThenHang, hangBeforeHeaders). */
export const fault = (maxAfter = 20): fc.Arbitrary<Fault> => {
  const after = fc.integer({ min: 0, max: maxAfter })
  return fc.oneof(
    terminatingFault(maxAfter),
    fc.record({ type: fc.constant("hang" as const), afterEvents: after }),
    fc.record({ type: fc.constant("stall" as const), afterEvents: after, everyMs: fc.integer({ min: 5, max: 50 }) }),
    fc.constant({ type: "headersThenHang" as const }),
    fc.constant({ type: "hangBeforeHeaders" as const })
  )
}

/** A scripted response; `fault` chooses the faults to mix in (none by default). */
export const script = (constraints?: {
  readonly maxEvents?: number
  /** Draw the conversation-model events ({@link richEvents}) and detailed {@link usage} too. Default false. */
  readonly rich?: boolean
  readonly fault?: fc.Arbitrary<Fault>
  /** Probability-ish weight of having a fault at all, 0–1 (default 0.5 when `fault` is given). */
  readonly faultRate?: number
}): fc.Arbitrary<Scripted> => {
  const rich = constraints?.rich === true
  const base = fc.record(
    {
      events: rich ? richEvents({ maxLength: constraints?.maxEvents ?? 8 }) : events({ maxLength: constraints?.maxEvents ?? 20 }),
      usage: rich ? usage : fc.record({ inputTokens: fc.nat(10_000), outputTokens: fc.nat(10_000) }),
      finishReason
    },
    { requiredKeys: ["events"] }
  )
  if (constraints?.fault === undefined) return base
  const rate = Math.min(1, Math.max(0, constraints.faultRate ?? 0.5))
  const withFault = fc.tuple(base, constraints.fault).map(([s, f]): Scripted => ({ ...s, fault: f }))
  if (rate === 0) return base
  if (rate === 1) return withFault
  const weight = Math.max(1, Math.round(rate * 100))
  return fc.oneof({ arbitrary: withFault, weight }, { arbitrary: base, weight: Math.max(1, 100 - weight) })
}
