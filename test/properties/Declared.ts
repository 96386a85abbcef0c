/**
 * Each wire format's declared `Capabilities`, read from the adapter itself so
 * the property suite's "supported or not" follows the adapters as they grow
 * (no table is kept here).
 *
 * The tables are internal to the adapters (a `Provider` does not carry its
 * own), so they are imported from the adapters' sources: the very objects
 * `Provider.make` checks requests against.
 */
import type { Capabilities } from "@streamvisor/core"
import { capabilities as anthropic } from "../../packages/anthropic/src/internal/Request.js"
import { capabilities as gemini } from "../../packages/google/src/internal/Request.js"
import { capabilities as ollama } from "../../packages/ollama/src/internal/Request.js"
import { capabilities as openaiChat } from "../../packages/openai/src/internal/Chat.js"
import { capabilities as openaiResponses } from "../../packages/openai/src/internal/Responses.js"

export type Format = "anthropic" | "openai-chat" | "openai-responses" | "gemini" | "ollama"

/** Every format's table. */
export const tables: Record<Format, Capabilities.Capabilities> = {
  anthropic,
  "openai-chat": openaiChat,
  "openai-responses": openaiResponses,
  gemini,
  ollama
}
