/**
 * What a provider can take beyond plain text. Each adapter declares its table
 * and `Provider.make` checks every request against it after decoding and
 * before connecting: a part or an option the provider cannot take fails as
 * `InvalidRequest` naming where it is and the provider — never a silent drop.
 *
 * Text parts, tools, `toolChoice: "auto"`, assistant text and tool calls and
 * the sampling knobs are the baseline every provider takes; everything else is
 * a {@link Feature} the table must list.
 *
 * @example
 * ```ts
 * import { Capabilities, Provider } from "@streamvisor/core"
 * import { Stream } from "effect"
 *
 * const provider = Provider.make({
 *   name: "mine",
 *   capabilities: Capabilities.make({ providerOptionsKey: "openai", features: ["image.url", "toolChoice.none"] }),
 *   stream: () => Stream.empty
 * })
 * ```
 *
 * @since 0.2.0
 */
import * as Effect from "effect/Effect"
import type * as ChatRequest from "./ChatRequest.js"
import { InvalidRequest } from "./LlmError.js"

/**
 * A feature of the request model beyond the baseline.
 *
 * - `image.data` / `image.url`: an image part in a user message, as base64 or by URL.
 * - `file.data` / `file.url`: a file part in a user message (media types: see `fileMediaTypes`).
 * - `toolResult.image`: an image part in a tool result.
 * - `toolChoice.none` / `toolChoice.required` / `toolChoice.tool`.
 * - `responseFormat.json` / `responseFormat.json_schema`.
 * - `reasoning.effort` / `reasoning.budgetTokens`: the `reasoning` knob.
 * - `reasoning.history`: reasoning parts and part signatures in assistant
 *   messages (sent back to the provider that made them).
 * - `cache`: a `cache` hint on the system prompt, a tool or a message.
 * - `providerOptions`: the provider's own key of `providerOptions`.
 *
 * @since 0.2.0
 * @category models
 */
export type Feature =
  | "image.data"
  | "image.url"
  | "file.data"
  | "file.url"
  | "toolResult.image"
  | "toolChoice.none"
  | "toolChoice.required"
  | "toolChoice.tool"
  | "responseFormat.json"
  | "responseFormat.json_schema"
  | "reasoning.effort"
  | "reasoning.budgetTokens"
  | "reasoning.history"
  | "cache"
  | "providerOptions"

/**
 * Every feature, for tables and tests.
 *
 * @since 0.2.0
 * @category constants
 */
export const features: ReadonlyArray<Feature> = [
  "image.data",
  "image.url",
  "file.data",
  "file.url",
  "toolResult.image",
  "toolChoice.none",
  "toolChoice.required",
  "toolChoice.tool",
  "responseFormat.json",
  "responseFormat.json_schema",
  "reasoning.effort",
  "reasoning.budgetTokens",
  "reasoning.history",
  "cache",
  "providerOptions"
]

/**
 * The key of `providerOptions` an adapter reads.
 *
 * @since 0.2.0
 * @category models
 */
export type ProviderOptionsKey = keyof ChatRequest.ProviderOptions

/**
 * A provider's table.
 *
 * @since 0.2.0
 * @category models
 */
export interface Capabilities {
  readonly features: ReadonlySet<Feature>
  /**
   * The provider's own key of `providerOptions`. Options under another key
   * are for other providers and ignored (a `fallback` sends one request to
   * several); options under this key need the `providerOptions` feature.
   */
  readonly providerOptionsKey?: ProviderOptionsKey | undefined
  /** Media types a file part may have (`application/pdf`, `text/*`); absent: any. */
  readonly fileMediaTypes?: ReadonlyArray<string> | undefined
  /** Media types an image part may have (`image/png`, `image/*`); absent: any. */
  readonly imageMediaTypes?: ReadonlyArray<string> | undefined
}

/**
 * @since 0.2.0
 * @category constructors
 */
export const make = (options: {
  readonly features?: Iterable<Feature> | undefined
  readonly providerOptionsKey?: ProviderOptionsKey | undefined
  readonly fileMediaTypes?: ReadonlyArray<string> | undefined
  readonly imageMediaTypes?: ReadonlyArray<string> | undefined
}): Capabilities => ({
  features: new Set(options.features ?? []),
  providerOptionsKey: options.providerOptionsKey,
  fileMediaTypes: options.fileMediaTypes,
  imageMediaTypes: options.imageMediaTypes
})

/**
 * Everything: what `Provider.make` assumes when a provider declares nothing
 * (its stream sees the whole request). Policies such as `fallback` use it,
 * since the providers they wrap check for themselves.
 *
 * @since 0.2.0
 * @category constants
 */
export const all: Capabilities = make({ features })

/**
 * Use of a feature in a request: `where` is the path (`messages[2].content[0]`)
 * and `what` says it in words.
 *
 * @since 0.2.0
 * @category models
 */
export interface Use {
  readonly feature: Feature
  readonly where: string
  readonly what: string
  readonly mediaType?: string | undefined
}

const source = (part: { readonly data?: string; readonly url?: string }): "data" | "url" =>
  part.url !== undefined ? "url" : "data"

/**
 * Every use of a feature in a decoded request, in order. One pass over the
 * messages and their parts.
 *
 * @since 0.2.0
 * @category validation
 */
export const uses = (request: ChatRequest.ChatRequest, optionsKey?: ProviderOptionsKey): ReadonlyArray<Use> => {
  const out: Array<Use> = []
  if (typeof request.system === "object" && request.system.cache === true) {
    out.push({ feature: "cache", where: "system", what: "a cache hint" })
  }
  request.tools?.forEach((tool, i) => {
    if (tool.cache === true) out.push({ feature: "cache", where: `tools[${i}]`, what: "a cache hint" })
  })
  request.messages.forEach((message, m) => {
    const at = `messages[${m}]`
    if (message.cache === true) out.push({ feature: "cache", where: at, what: "a cache hint" })
    if (typeof message.content === "string") return
    const parts: ReadonlyArray<ChatRequest.UserPart | ChatRequest.AssistantPart | ChatRequest.ToolResultPart> =
      message.content
    parts.forEach((part, p) => {
      const where = `${at}.content[${p}]`
      switch (part.type) {
        case "image": {
          const how = source(part)
          const feature: Feature = message.role === "tool" ? "toolResult.image" : `image.${how}`
          const inTool = message.role === "tool" ? " in a tool result" : ""
          out.push({ feature, where, what: `an image part (${how})${inTool}`, mediaType: part.mediaType })
          break
        }
        case "file": {
          const how = source(part)
          out.push({ feature: `file.${how}`, where, what: `a file part (${part.mediaType}, ${how})`, mediaType: part.mediaType })
          break
        }
        case "reasoning":
          out.push({ feature: "reasoning.history", where, what: "a reasoning part" })
          break
        case "tool-call":
          if (part.signature !== undefined) {
            out.push({ feature: "reasoning.history", where, what: "a tool call's signature" })
          }
          break
      }
    })
  })
  const choice = request.toolChoice
  if (choice === "none" || choice === "required") {
    out.push({ feature: `toolChoice.${choice}`, where: "toolChoice", what: `toolChoice "${choice}"` })
  } else if (typeof choice === "object") {
    out.push({ feature: "toolChoice.tool", where: "toolChoice", what: `toolChoice { tool: "${choice.tool}" }` })
  }
  if (request.responseFormat !== undefined) {
    const type = request.responseFormat.type
    out.push({ feature: `responseFormat.${type}`, where: "responseFormat", what: `responseFormat "${type}"` })
  }
  if (request.reasoning?.effort !== undefined) {
    out.push({ feature: "reasoning.effort", where: "reasoning.effort", what: "reasoning effort" })
  }
  if (request.reasoning?.budgetTokens !== undefined) {
    out.push({ feature: "reasoning.budgetTokens", where: "reasoning.budgetTokens", what: "a reasoning token budget" })
  }
  if (optionsKey !== undefined && request.providerOptions?.[optionsKey] !== undefined) {
    out.push({ feature: "providerOptions", where: `providerOptions.${optionsKey}`, what: "provider options" })
  }
  return out
}

const matches = (patterns: ReadonlyArray<string>, mediaType: string): boolean =>
  patterns.some((pattern) =>
    pattern === "*/*" || pattern === mediaType ||
    (pattern.endsWith("/*") && mediaType.startsWith(pattern.slice(0, -1)))
  )

/**
 * Check a decoded request against a provider's table: `undefined` when the
 * provider can take all of it, else one `InvalidRequest` listing every use it
 * cannot take.
 *
 * @since 0.2.0
 * @category validation
 */
export const check = (
  provider: string,
  capabilities: Capabilities,
  request: ChatRequest.ChatRequest
): InvalidRequest | undefined => {
  const problems: Array<string> = []
  for (const use of uses(request, capabilities.providerOptionsKey)) {
    if (!capabilities.features.has(use.feature)) {
      problems.push(`${use.where}: ${use.what} is not supported by ${provider}`)
      continue
    }
    const allowed = use.feature.startsWith("file.")
      ? capabilities.fileMediaTypes
      : use.feature.startsWith("image.") || use.feature === "toolResult.image"
      ? capabilities.imageMediaTypes
      : undefined
    if (allowed !== undefined && use.mediaType !== undefined && !matches(allowed, use.mediaType)) {
      problems.push(`${use.where}: ${use.what} has media type ${use.mediaType}, which ${provider} does not take (it takes ${allowed.join(", ")})`)
    }
  }
  return problems.length === 0 ? undefined : new InvalidRequest({
    provider,
    message: `${provider}: the request uses what ${provider} cannot take:\n${problems.map((p) => `└─ ${p}`).join("\n")}`
  })
}

/**
 * {@link check} as an `Effect`, for an adapter that does not go through
 * `Provider.make`.
 *
 * @since 0.2.0
 * @category validation
 */
export const validate = (
  provider: string,
  capabilities: Capabilities,
  request: ChatRequest.ChatRequest
): Effect.Effect<ChatRequest.ChatRequest, InvalidRequest> => {
  const error = check(provider, capabilities, request)
  return error === undefined ? Effect.succeed(request) : Effect.fail(error)
}
