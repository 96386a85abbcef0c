/**
 * The usage a recorded body reports, read straight from its frames (not through any adapter): the
 * last value of each count, `undefined` when the body reports none. The fields are each adapter's
 * documented source: Anthropic `input_tokens` (plus `cache_read_input_tokens` and
 * `cache_creation_input_tokens`) / `output_tokens` (`message_start`, then `message_delta`), Chat
 * `prompt_tokens` / `completion_tokens`, Responses `input_tokens` / `output_tokens` of the final
 * response, Gemini `promptTokenCount` / `candidatesTokenCount` + `thoughtsTokenCount` (thinking is
 * billed as output), Ollama `prompt_eval_count` / `eval_count`.
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
  let cacheRead: number | undefined
  let cacheWrite: number | undefined
  let thoughts: number | undefined
  const take = (i: unknown, o: unknown) => {
    input = num(i) ?? input
    output = num(o) ?? output
  }
  for (const p of payloads(body)) {
    switch (body.format) {
      case "anthropic": {
        // Usage.inputTokens includes the cache reads and writes Anthropic counts apart from input_tokens.
        const usage = p.type === "message_start" ? p.message?.usage : p.type === "message_delta" ? p.usage : undefined
        if (usage == null) break
        take(usage.input_tokens, usage.output_tokens)
        cacheRead = num(usage.cache_read_input_tokens) ?? cacheRead
        cacheWrite = num(usage.cache_creation_input_tokens) ?? cacheWrite
        break
      }
      case "openai-chat":
        if (p.usage != null) take(p.usage.prompt_tokens, p.usage.completion_tokens)
        break
      case "openai-responses":
        if (p.response?.usage != null) take(p.response.usage.input_tokens, p.response.usage.output_tokens)
        break
      case "google":
        if (p.usageMetadata != null) {
          take(p.usageMetadata.promptTokenCount, p.usageMetadata.candidatesTokenCount)
          thoughts = num(p.usageMetadata.thoughtsTokenCount) ?? thoughts
        }
        break
      case "ollama":
        if (p.done === true) take(p.prompt_eval_count, p.eval_count)
        break
    }
  }
  if (input !== undefined) input += (cacheRead ?? 0) + (cacheWrite ?? 0)
  if (thoughts !== undefined) output = (output ?? 0) + thoughts
  return input === undefined && output === undefined ? undefined : { inputTokens: input ?? 0, outputTokens: output ?? 0 }
}

/**
 * What a Gemini body carries beyond text for the adapters to keep: every
 * `thoughtSignature` on a text, thought or `functionCall` part (each must come out as a
 * `ReasoningEnd` or `ToolCallEnd` signature; `executableCode` parts are not modelled) and whether any chunk had non-empty
 * `groundingMetadata` (then a `ProviderMetadata` of kind `grounding`).
 */
export const geminiExtras = (body: Fixtures.Body): { readonly signatures: ReadonlyArray<string>; readonly grounding: boolean } => {
  const signatures: Array<string> = []
  let grounding = false
  for (const p of payloads(body)) {
    const candidate = p.candidates?.[0]
    for (const part of candidate?.content?.parts ?? []) {
      const modelled = typeof part.text === "string" || part.functionCall != null
      if (modelled && typeof part.thoughtSignature === "string" && part.thoughtSignature !== "") {
        signatures.push(part.thoughtSignature)
      }
    }
    const g = candidate?.groundingMetadata
    if (g != null && typeof g === "object" && Object.keys(g).length > 0) grounding = true
  }
  return { signatures, grounding }
}
