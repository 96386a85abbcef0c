/**
 * The usage a recorded body reports, read straight from its frames (not through any adapter): the
 * last value of each count, `undefined` when the body reports none. The fields are each adapter's
 * documented source: Anthropic `input_tokens` / `output_tokens` (`message_start`, then
 * `message_delta`), Chat `prompt_tokens` / `completion_tokens`, Responses `input_tokens` /
 * `output_tokens` of the final response, Gemini `promptTokenCount` / `candidatesTokenCount` (thinking
 * tokens not added), Ollama `prompt_eval_count` / `eval_count`.
 */
import type { Fixtures } from "@streamvisor/testkit"

type Json = Record<string, any>

/** The JSON payloads of the body: SSE `data:` lines or NDJSON lines that parse as objects. */
const payloads = (body: Fixtures.Body): Array<Json> => {
  const out: Array<Json> = []
  for (const line of Buffer.from(body.body).toString("utf8").split(/\r?\n/)) {
    const text = body.format === "ollama" ? line : line.startsWith("data:") ? line.slice(5) : ""
    try {
      const value: unknown = JSON.parse(text)
      if (typeof value === "object" && value !== null) out.push(value as Json)
    } catch {
      // comments, event: lines, [DONE], blank lines
    }
  }
  return out
}

const num = (value: unknown): number | undefined => (typeof value === "number" ? value : undefined)

export const reportedUsage = (
  body: Fixtures.Body
): { readonly inputTokens: number; readonly outputTokens: number } | undefined => {
  let input: number | undefined
  let output: number | undefined
  const take = (i: unknown, o: unknown) => {
    input = num(i) ?? input
    output = num(o) ?? output
  }
  for (const p of payloads(body)) {
    switch (body.format) {
      case "anthropic":
        if (p.type === "message_start") take(p.message?.usage?.input_tokens, p.message?.usage?.output_tokens)
        if (p.type === "message_delta") take(p.usage?.input_tokens, p.usage?.output_tokens)
        break
      case "openai-chat":
        if (p.usage != null) take(p.usage.prompt_tokens, p.usage.completion_tokens)
        break
      case "openai-responses":
        if (p.response?.usage != null) take(p.response.usage.input_tokens, p.response.usage.output_tokens)
        break
      case "google":
        if (p.usageMetadata != null) take(p.usageMetadata.promptTokenCount, p.usageMetadata.candidatesTokenCount)
        break
      case "ollama":
        if (p.done === true) take(p.prompt_eval_count, p.eval_count)
        break
    }
  }
  return input === undefined && output === undefined ? undefined : { inputTokens: input ?? 0, outputTokens: output ?? 0 }
}
