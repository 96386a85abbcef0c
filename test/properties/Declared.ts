/**
 * Each wire format's declared `Capabilities`, read from the adapter itself so
 * the property suite's "supported or not" follows the adapters as they grow
 * (no table is kept here).
 *
 * The tables are internal to the adapters (a `Provider` does not carry its
 * own), so they are imported from the adapters' sources. OpenAI's moves from
 * an inline declaration in `OpenAI.ts` to `internal/Chat.ts` and
 * `internal/Responses.ts` while its mapping lands: the loader tries those
 * modules first and falls back to the inline declaration's value on main.
 */
import type { Capabilities } from "@streamvisor/core"
import { Capabilities as Caps } from "@streamvisor/core"
import { capabilities as anthropic } from "../../packages/anthropic/src/internal/Request.js"
import { capabilities as gemini } from "../../packages/google/src/internal/Request.js"
import { capabilities as ollama } from "../../packages/ollama/src/internal/Request.js"

export type Format = "anthropic" | "openai-chat" | "openai-responses" | "gemini" | "ollama"

const fromModule = async (path: string): Promise<Capabilities.Capabilities | undefined> => {
  try {
    const module = (await import(/* @vite-ignore */ path)) as { readonly capabilities?: Capabilities.Capabilities }
    return module.capabilities
  } catch {
    return undefined
  }
}

// What `OpenAI.make` declares on main before its mapping lands (only the key).
const openaiInline = Caps.make({ providerOptionsKey: "openai" })

/** Every format's table. */
export const load = async (): Promise<Record<Format, Capabilities.Capabilities>> => {
  const chat = await fromModule(new URL("../../packages/openai/src/internal/Chat.ts", import.meta.url).pathname)
  const responses = await fromModule(new URL("../../packages/openai/src/internal/Responses.ts", import.meta.url).pathname)
  return {
    anthropic,
    "openai-chat": chat ?? openaiInline,
    "openai-responses": responses ?? openaiInline,
    gemini,
    ollama
  }
}
