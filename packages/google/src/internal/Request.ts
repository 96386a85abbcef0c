/**
 * `ChatRequest` → Gemini `GenerateContentRequest`.
 *
 * - `system` → `systemInstruction` (the SDK wraps a string as
 *   `{ role: "system", parts: [{ text }] }`).
 * - user messages → `{ role: "user", parts: [{ text }] }`.
 * - assistant messages → `{ role: "model", parts }`: the text (when not
 *   empty) then one `{ functionCall: { name, args } }` per tool call. An
 *   assistant turn with neither is left out (Gemini refuses empty parts).
 * - tool results → `{ functionResponse: { name, response } }` parts; a run of
 *   consecutive results is one `role: "user"` content, as Gemini wants one
 *   response part per call of the preceding model turn. `response` is the
 *   content parsed as JSON when it is an object, else `{ content }`; with
 *   `isError`, `{ error: … }` (Gemini's documented key for failures).
 * - `maxTokens` / `temperature` / `stop` → `generationConfig.maxOutputTokens`
 *   / `temperature` / `stopSequences`.
 * - `tools` → `[{ functionDeclarations: [{ name, description, parameters }] }]`.
 *   `parameters` is passed through: Gemini accepts an OpenAPI 3.0 subset of
 *   JSON Schema (`type`, `properties`, `required`, `items`, `enum`,
 *   `description`, `nullable`, `format`…) and refuses keywords such as
 *   `$schema`, `$ref`, `additionalProperties` or `oneOf`. The one adjustment
 *   made: an object schema with no properties is sent as no `parameters` at
 *   all, because Gemini refuses `OBJECT` with empty `properties`.
 *
 * Call ids are not sent back (`functionCall.id` / `functionResponse.id` are
 * optional in the API; Gemini matches responses by name and order), and
 * Gemini 3's `thoughtSignature`s cannot be, because `ChatRequest` has no
 * place to keep them.
 *
 * @internal
 */
import type { Content, FunctionDeclaration, GenerateContentRequest, GenerationConfig, Part } from "@google/generative-ai"
import { Capabilities, ChatRequest } from "@streamvisor/core"

/**
 * What this adapter takes beyond plain text. Nothing yet: until the request
 * model's features are mapped to this wire format, each is refused as
 * `InvalidRequest` before connecting rather than dropped.
 *
 * @internal
 */
export const capabilities = Capabilities.make({ providerOptionsKey: "google" })

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

const parseObject = (text: string): Record<string, unknown> | undefined => {
  const trimmed = text.trim()
  if (!trimmed.startsWith("{")) return undefined
  try {
    const value: unknown = JSON.parse(trimmed)
    return isRecord(value) ? value : undefined
  } catch {
    return undefined
  }
}

/**
 * A tool call's arguments as the `Struct` Gemini wants: an object as is, JSON
 * text of an object parsed, nothing as `{}`, anything else as `{ value }`.
 *
 * @internal
 */
export const toArgs = (args: unknown): object => {
  if (isRecord(args)) return args
  if (args === undefined || args === null) return {}
  if (typeof args === "string") {
    if (args.trim() === "") return {}
    const parsed = parseObject(args)
    if (parsed !== undefined) return parsed
  }
  return { value: args }
}

/**
 * A tool result's `response` object.
 *
 * @internal
 */
export const toResponse = (content: string, isError: boolean | undefined): object => {
  const parsed = parseObject(content)
  if (isError === true) return { error: parsed ?? content }
  return parsed ?? { content }
}

const toParameters = (parameters: Record<string, unknown>): FunctionDeclaration["parameters"] | undefined => {
  const properties = parameters.properties
  if (
    (parameters.type === undefined || parameters.type === "object" || parameters.type === "OBJECT") &&
    (properties === undefined || (isRecord(properties) && Object.keys(properties).length === 0))
  ) {
    return undefined
  }
  return parameters as unknown as FunctionDeclaration["parameters"]
}

/**
 * @internal
 */
export const toGenerateContentRequest = (request: ChatRequest.ChatRequest): GenerateContentRequest => {
  const contents: Array<Content> = []
  let results: Array<Part> | undefined = undefined
  for (const message of request.messages) {
    switch (message.role) {
      case "user": {
        results = undefined
        contents.push({ role: "user", parts: [{ text: ChatRequest.text(message.content) }] })
        break
      }
      case "assistant": {
        results = undefined
        const parts: Array<Part> = []
        const text = ChatRequest.text(message.content)
        if (text !== "") parts.push({ text })
        for (const call of ChatRequest.toolCalls(message)) {
          parts.push({ functionCall: { name: call.name, args: toArgs(call.arguments) } })
        }
        if (parts.length > 0) contents.push({ role: "model", parts })
        break
      }
      case "tool": {
        const part: Part = { functionResponse: { name: message.name, response: toResponse(ChatRequest.text(message.content), message.isError) } }
        if (results === undefined) {
          results = [part]
          contents.push({ role: "user", parts: results })
        } else {
          results.push(part)
        }
        break
      }
    }
  }

  const body: GenerateContentRequest = { contents }
  const system = ChatRequest.systemText(request)
  if (system !== undefined && system !== "") body.systemInstruction = system

  const config: GenerationConfig = {}
  let hasConfig = false
  if (request.maxTokens !== undefined) {
    config.maxOutputTokens = request.maxTokens
    hasConfig = true
  }
  if (request.temperature !== undefined) {
    config.temperature = request.temperature
    hasConfig = true
  }
  if (request.stop !== undefined && request.stop.length > 0) {
    config.stopSequences = [...request.stop]
    hasConfig = true
  }
  if (hasConfig) body.generationConfig = config

  if (request.tools !== undefined && request.tools.length > 0) {
    body.tools = [
      {
        functionDeclarations: request.tools.map((tool) => {
          const declaration: FunctionDeclaration = { name: tool.name }
          if (tool.description !== undefined) declaration.description = tool.description
          const parameters = toParameters(tool.parameters)
          if (parameters !== undefined) declaration.parameters = parameters
          return declaration
        })
      }
    ]
  }
  return body
}
