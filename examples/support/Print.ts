/**
 * Printing a stream of `StreamEvent`s: text as it arrives, then one line with
 * the finish reason and the token counts.
 */
import type { StreamEvent } from "@streamvisor/core"
import { Effect, Stream } from "effect"
import pc from "picocolors"

/** Run `events`, writing text deltas to stdout as they arrive. */
export const printEvents = <E, R>(events: Stream.Stream<StreamEvent.StreamEvent, E, R>): Effect.Effect<void, E, R> =>
  Effect.suspend(() => {
    let usage = ""
    return Stream.runForEach(events, (event) =>
      Effect.sync(() => {
        switch (event._tag) {
          case "TextDelta":
            process.stdout.write(event.text)
            break
          case "ReasoningDelta":
            process.stdout.write(pc.dim(event.text))
            break
          case "ToolCallEnd":
            process.stdout.write(`\n[tool call ${event.name}(${JSON.stringify(event.arguments)})]`)
            break
          case "Usage":
            usage = `, tokens in ${event.inputTokens} / out ${event.outputTokens}`
            break
          case "Finish":
            process.stdout.write(pc.dim(`\n(finish: ${event.reason}${usage})\n`))
            break
        }
      }))
  })
