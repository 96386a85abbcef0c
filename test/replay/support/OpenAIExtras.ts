/**
 * What the OpenAI adapters must carry beyond text, tool calls and the finish, read straight from a
 * recorded body's frames (not through any adapter) and checked against the events a run saw:
 *
 * - usage detail: Chat `prompt_tokens_details.cached_tokens` / `completion_tokens_details.reasoning_tokens`,
 *   Responses `input_tokens_details.cached_tokens` / `output_tokens_details.reasoning_tokens` → the last
 *   `Usage`'s `cachedInputTokens` / `reasoningTokens` (absent when the body reports none);
 * - citations: each Chat `delta.annotations[]` entry and each Responses
 *   `response.output_text.annotation.added` → one `ProviderMetadata { kind: "citations" }`, in order;
 * - reasoning blocks: each Responses reasoning item's `output_item.done` → one `ReasoningEnd` with its
 *   `id` and `encrypted_content`; Chat reasoning (`reasoning_content` / `reasoning`) → one block closed
 *   by a `ReasoningEnd` before the answer goes on.
 */
import type { StreamEvent } from "@streamvisor/core"
import type { Fixtures } from "@streamvisor/testkit"
import { expect } from "vitest"

type Json = Record<string, any>

const payloads = (body: Fixtures.Body): Array<Json> => {
  const out: Array<Json> = []
  for (const line of Buffer.from(body.body).toString("utf8").split(/\r?\n/)) {
    if (!line.startsWith("data:")) continue
    try {
      const value: unknown = JSON.parse(line.slice(5))
      if (typeof value === "object" && value !== null) out.push(value as Json)
    } catch {
      // [DONE], malformed frames
    }
  }
  return out
}

const num = (value: unknown): number | undefined => (typeof value === "number" ? value : undefined)

/** Checks a successful run of an OpenAI body (Chat or Responses); other formats pass untouched. */
export const checkOpenAI = (body: Fixtures.Body, events: ReadonlyArray<StreamEvent.StreamEvent>): void => {
  if (body.format !== "openai-chat" && body.format !== "openai-responses") return
  const frames = payloads(body)
  let cached: number | undefined
  let reasoningTokens: number | undefined
  const citations: Array<unknown> = []
  const reasoningItems: Array<{ id: unknown; encrypted: unknown }> = []
  for (const p of frames) {
    if (body.format === "openai-chat") {
      if (p.usage != null) {
        cached = num(p.usage.prompt_tokens_details?.cached_tokens) ?? cached
        reasoningTokens = num(p.usage.completion_tokens_details?.reasoning_tokens) ?? reasoningTokens
      }
      const annotations = p.choices?.[0]?.delta?.annotations
      if (Array.isArray(annotations)) citations.push(...annotations)
    } else {
      const usage = p.response?.usage
      if (usage != null && (p.type === "response.completed" || p.type === "response.incomplete")) {
        cached = num(usage.input_tokens_details?.cached_tokens) ?? cached
        reasoningTokens = num(usage.output_tokens_details?.reasoning_tokens) ?? reasoningTokens
      }
      if (p.type === "response.output_text.annotation.added") citations.push(p.annotation)
      if (p.type === "response.output_item.done" && p.item?.type === "reasoning") {
        reasoningItems.push({ id: p.item.id, encrypted: p.item.encrypted_content })
      }
    }
  }

  const usage = events.filter((e): e is StreamEvent.Usage => e._tag === "Usage").at(-1)
  if (usage !== undefined) {
    expect(usage.cachedInputTokens, "cachedInputTokens").toBe(cached)
    expect(usage.reasoningTokens, "reasoningTokens").toBe(reasoningTokens)
  }
  const metadata = events.filter((e): e is StreamEvent.ProviderMetadata => e._tag === "ProviderMetadata" && e.kind === "citations")
  expect(metadata.map((m) => m.data)).toEqual(citations)

  const ends = events.filter((e): e is StreamEvent.ReasoningEnd => e._tag === "ReasoningEnd")
  for (const end of ends) expect(end.provider).toBe("openai")
  if (body.format === "openai-responses") {
    expect(ends.map((e) => ({ id: e.id, encrypted: e.encryptedContent }))).toEqual(
      reasoningItems.map((r) => ({
        id: typeof r.id === "string" && r.id !== "" ? r.id : undefined,
        encrypted: typeof r.encrypted === "string" && r.encrypted !== "" ? r.encrypted : undefined
      }))
    )
  } else {
    // Chat: every reasoning delta is followed, before the Finish, by the ReasoningEnd that closes its block.
    let lastDelta = -1
    events.forEach((e, i) => {
      if (e._tag === "ReasoningDelta") lastDelta = i
    })
    if (lastDelta >= 0) expect(events.findIndex((e, i) => i > lastDelta && e._tag === "ReasoningEnd")).toBeGreaterThan(lastDelta)
  }
}
