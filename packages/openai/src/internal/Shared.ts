/**
 * Helpers shared by the Chat Completions and Responses decoders.
 *
 * @internal
 */
import { LlmError } from "@streamvisor/core"
import { PROVIDER } from "./Errors.js"

/**
 * Parse a tool call's complete argument text: empty → `{}`, unparsable →
 * `ProtocolError` (naming the finish reason when the output was cut short).
 *
 * @internal
 */
export const parseArguments = (
  id: string,
  name: string,
  text: string,
  finishRaw: string | null | undefined
): unknown => {
  if (text.trim() === "") return {}
  try {
    return JSON.parse(text)
  } catch {
    const why = finishRaw === "length" || finishRaw === "incomplete"
      ? ` (the output was cut short: ${finishRaw})`
      : ""
    throw new LlmError.ProtocolError({
      provider: PROVIDER,
      message: `${PROVIDER}: the arguments of tool call ${id} (${name}) are not valid JSON${why}`
    })
  }
}

/**
 * The history's tool-call arguments as the JSON text OpenAI expects. A string
 * is taken to be JSON text already (as a provider sent it); anything else is
 * serialised.
 *
 * @internal
 */
export const argumentsText = (args: unknown): string =>
  typeof args === "string" ? args : JSON.stringify(args === undefined ? {} : args)
