import { anthropic } from "./anthropic.js"
import { gemini } from "./gemini.js"
import { ollama } from "./ollama.js"
import { openaiChat } from "./openai-chat.js"
import { openaiResponses } from "./openai-responses.js"
import type { Wire } from "./types.js"

/** The wire formats the server speaks. */
export type KnownFormat = "anthropic" | "openai-chat" | "openai-responses" | "gemini" | "ollama"

/** Renderers by format. */
export const wires: Readonly<Record<KnownFormat, Wire>> = {
  anthropic,
  "openai-chat": openaiChat,
  "openai-responses": openaiResponses,
  gemini,
  ollama
}

/** A request path resolved to a format (and, for Gemini, the model named in the path). */
export interface Route {
  readonly format: KnownFormat | "unknown"
  readonly pathModel?: string
}

const GEMINI = /^\/(?:v1beta|v1|v1alpha)\/((?:tunedModels|models)\/[^:]+):(streamGenerateContent|generateContent)$/

/** Strips a `models/` prefix, so `models/gemini-x` and `gemini-x` name the same model. */
export const normalizeModel = (model: string): string => (model.startsWith("models/") ? model.slice(7) : model)

/** Resolves a POST path to its wire format. */
export const route = (pathname: string): Route => {
  switch (pathname) {
    case "/v1/messages":
      return { format: "anthropic" }
    case "/v1/chat/completions":
    case "/chat/completions":
      return { format: "openai-chat" }
    case "/v1/responses":
    case "/responses":
      return { format: "openai-responses" }
    case "/api/chat":
      return { format: "ollama" }
  }
  const match = GEMINI.exec(pathname)
  if (match !== null) {
    let model = match[1]
    try {
      model = decodeURIComponent(model)
    } catch {
      // keep as is
    }
    return { format: "gemini", pathModel: normalizeModel(model) }
  }
  return { format: "unknown" }
}
