/**
 * fast-check arbitraries of scripts, events and faults, for property tests that drive a
 * {@link FakeLlmServer} with random (but valid) streams.
 *
 * @since 0.1.0
 */
import * as fc from "fast-check"
import type { Fault, FinishReason, ReasoningEvent, Scripted, ScriptEvent, TextEvent, ToolCallEvent } from "./Script.js"

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
  readonly fault?: fc.Arbitrary<Fault>
  /** Probability-ish weight of having a fault at all, 0–1 (default 0.5 when `fault` is given). */
  readonly faultRate?: number
}): fc.Arbitrary<Scripted> => {
  const base = fc.record(
    {
      events: events({ maxLength: constraints?.maxEvents ?? 20 }),
      usage: fc.record({ inputTokens: fc.nat(10_000), outputTokens: fc.nat(10_000) }),
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
