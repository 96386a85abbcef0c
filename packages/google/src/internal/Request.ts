/**
 * `ChatRequest` → the Gemini `generateContent` request body, as JSON on the
 * wire. Both adapters send this object (`Google` hands it to
 * `@google/generative-ai`, which passes it through; `GoogleGenAI` sends it
 * as the request body through `@google/genai`), so the wire is the same.
 *
 * - `system` → `systemInstruction: { role: "system", parts: [{ text }] }`.
 * - user parts → `{ text }`; an image or file as base64 → `{ inlineData:
 *   { mimeType, data } }`; by URL → `{ fileData: { mimeType, fileUri } }`
 *   (a `data:` URL is sent as `inlineData`). `fileData` needs a media type: an
 *   image URL without one gets it from the URL's extension, else the request
 *   is refused. A file's `filename` is not sent (the Gemini API refuses
 *   `displayName` on inline data).
 * - assistant parts, in order, in one `{ role: "model" }` content: text →
 *   `{ text }`; a reasoning part with text → `{ text, thought: true,
 *   thoughtSignature? }`; a reasoning part without text (a signature that came
 *   on its own, or on an empty text part) → `{ text: "", thoughtSignature }`;
 *   a tool call → `{ functionCall: { name, args }, thoughtSignature? }`.
 *   Reasoning another provider made is left out, and so is a tool call's
 *   signature another provider made (an OpenAI item id): it means nothing
 *   here. An assistant turn with no parts is left out (Gemini refuses them).
 * - tool results → `{ functionResponse: { name, response, parts? } }`; a run
 *   of consecutive results is one `role: "user"` content (one response part per
 *   call of the preceding model turn). `response` is the text parsed as JSON
 *   when it is an object, else `{ content }`; with `isError`, `{ error: … }`.
 *   Images go in `functionResponse.parts` as `inlineData` / `fileData`
 *   (Gemini 3's multimodal function responses; older models answer 400).
 * - `maxTokens` / `temperature` / `stop` → `generationConfig.maxOutputTokens`
 *   / `temperature` / `stopSequences`.
 * - `tools` → `[{ functionDeclarations }]`; an object schema with no
 *   properties is sent as no `parameters` (Gemini refuses an empty `OBJECT`).
 * - `toolChoice` → `toolConfig.functionCallingConfig.mode`: `AUTO`, `NONE`,
 *   `ANY`, or `ANY` with `allowedFunctionNames: [name]`.
 * - `responseFormat` → `generationConfig.responseMimeType:
 *   "application/json"`, and for `json_schema` `responseJsonSchema` (the
 *   API's JSON Schema field, not the OpenAPI `responseSchema`), checked
 *   against the subset Gemini documents (`ResponseSchema.ts`): another
 *   keyword is `InvalidRequest`, not dropped.
 * - `reasoning` → `generationConfig.thinkingConfig` with `includeThoughts:
 *   true`: `budgetTokens` → `thinkingBudget`; `effort` → `thinkingLevel`
 *   (`LOW` / `MEDIUM` / `HIGH`) for Gemini 3 models, else `thinkingBudget`
 *   from {@link effortBudget}. A budget wins over an effort (the API refuses
 *   both at once).
 * - `cache` hints are accepted and ignored: Gemini caches prompt prefixes
 *   implicitly (reported as `cachedContentTokenCount`); an explicit cache is
 *   `providerOptions.google.cachedContent`.
 * - `providerOptions.google` last (`ProviderOptions.ts`).
 *
 * Call ids are not sent back: `functionCall.id` is optional and Gemini
 * matches responses by name and order.
 *
 * @internal
 */
import { Capabilities, ChatRequest, LlmError } from "@streamvisor/core"
import { mergeProviderOptions } from "./ProviderOptions.js"
import { toResponseJsonSchema } from "./ResponseSchema.js"

const PROVIDER = "google"

type Json = Record<string, unknown>

/** A wire `Part`: the fields this mapping writes. */
export type Part = Json

/** A wire `Content`. */
export interface Content {
  readonly role: string
  readonly parts: Array<Part>
}

/**
 * The request body: `contents`, and the optional `systemInstruction`,
 * `generationConfig`, `tools`, `toolConfig`, plus anything from
 * `providerOptions.google`.
 *
 * @internal
 */
export interface GenerateContentBody {
  contents: Array<Content>
  [key: string]: unknown
}

/**
 * Media types Gemini takes as images (its documented list).
 *
 * @internal
 */
export const imageMediaTypes = ["image/png", "image/jpeg", "image/webp", "image/heic", "image/heif"] as const

/**
 * Media types Gemini takes as files: PDF and text documents, images, audio
 * and video.
 *
 * @internal
 */
export const fileMediaTypes = ["application/pdf", "text/*", "image/*", "audio/*", "video/*"] as const

/**
 * What the Gemini adapters take beyond plain text.
 *
 * @internal
 */
export const capabilities = Capabilities.make({
  providerOptionsKey: "google",
  // Every feature of the request model has a Gemini form.
  features: Capabilities.features,
  imageMediaTypes,
  fileMediaTypes
})

/**
 * `reasoning.effort` as a `thinkingBudget` for models before Gemini 3: low
 * 1024, medium 8192, high 24576 (2.5 Flash's maximum; 2.5 Pro goes to 32768).
 *
 * @internal
 */
export const effortBudget = { low: 1024, medium: 8192, high: 24576 } as const

const invalid = (message: string): LlmError.InvalidRequest =>
  new LlmError.InvalidRequest({ provider: PROVIDER, message: `${PROVIDER}: ${message}` })

const isRecord = (value: unknown): value is Json =>
  typeof value === "object" && value !== null && !Array.isArray(value)

const parseObject = (text: string): Json | undefined => {
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

const toParameters = (parameters: Json): Json | undefined => {
  const properties = parameters.properties
  if (
    (parameters.type === undefined || parameters.type === "object" || parameters.type === "OBJECT") &&
    (properties === undefined || (isRecord(properties) && Object.keys(properties).length === 0))
  ) {
    return undefined
  }
  return parameters
}

const extensionTypes: Record<string, string> = {
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  webp: "image/webp",
  heic: "image/heic",
  heif: "image/heif"
}

const DATA_URL = /^data:([\w.+-]+\/[\w.+-]+)(?:;[^,]*)?;base64,(.*)$/s

/** An image or file part as `inlineData` / `fileData`. */
const mediaPart = (
  part: ChatRequest.ImagePart | ChatRequest.FilePart,
  where: string
): Part => {
  if ("data" in part) return { inlineData: { mimeType: part.mediaType, data: part.data } }
  const dataUrl = DATA_URL.exec(part.url)
  if (dataUrl !== null) return { inlineData: { mimeType: part.mediaType ?? dataUrl[1], data: dataUrl[2] } }
  let mimeType = part.mediaType
  if (mimeType === undefined) {
    const extension = /\.([a-z0-9]+)$/i.exec(new URL(part.url).pathname)?.[1]?.toLowerCase()
    mimeType = extension === undefined ? undefined : extensionTypes[extension]
    if (mimeType === undefined) {
      throw invalid(`${where}: an image by URL needs its mediaType on Gemini (fileData.mimeType is required), and none can be told from ${part.url}`)
    }
  }
  return { fileData: { mimeType, fileUri: part.url } }
}

/** Is this reasoning part for us to send back? Another provider's is not. */
const ours = (part: ChatRequest.ReasoningPart): boolean => part.provider === undefined || part.provider === PROVIDER

const modelParts = (message: ChatRequest.AssistantMessage): Array<Part> => {
  const parts: Array<Part> = []
  for (const part of ChatRequest.assistantParts(message)) {
    switch (part.type) {
      case "text":
        if (part.text !== "") parts.push({ text: part.text })
        break
      case "reasoning": {
        if (!ours(part)) break
        if (part.text !== "") {
          parts.push(
            part.signature === undefined
              ? { text: part.text, thought: true }
              : { text: part.text, thought: true, thoughtSignature: part.signature }
          )
        } else if (part.signature !== undefined) {
          parts.push({ text: "", thoughtSignature: part.signature })
        }
        break
      }
      case "tool-call": {
        const functionCall = { name: part.name, args: toArgs(part.arguments) }
        // a signature another provider made (an OpenAI item id…) means nothing here
        parts.push(
          part.signature === undefined || (part.provider !== undefined && part.provider !== PROVIDER)
            ? { functionCall }
            : { functionCall, thoughtSignature: part.signature }
        )
        break
      }
    }
  }
  return parts
}

const functionResponse = (message: ChatRequest.ToolResultMessage, where: string): Part => {
  const response = toResponse(ChatRequest.text(message.content), message.isError)
  if (typeof message.content === "string") return { functionResponse: { name: message.name, response } }
  const media: Array<Part> = []
  message.content.forEach((part, i) => {
    if (part.type === "image") media.push(mediaPart(part, `${where}.content[${i}]`))
  })
  return {
    functionResponse: media.length === 0 ? { name: message.name, response } : { name: message.name, response, parts: media }
  }
}

const contentsOf = (request: ChatRequest.ChatRequest): Array<Content> => {
  const contents: Array<Content> = []
  let results: Array<Part> | undefined = undefined
  request.messages.forEach((message, m) => {
    switch (message.role) {
      case "user": {
        results = undefined
        const content = message.content
        const parts: Array<Part> = typeof content === "string"
          ? [{ text: content }]
          : content.map((part, p) => part.type === "text" ? { text: part.text } : mediaPart(part, `messages[${m}].content[${p}]`))
        contents.push({ role: "user", parts })
        break
      }
      case "assistant": {
        results = undefined
        const parts = modelParts(message)
        if (parts.length > 0) contents.push({ role: "model", parts })
        break
      }
      case "tool": {
        const part = functionResponse(message, `messages[${m}]`)
        if (results === undefined) {
          results = [part]
          contents.push({ role: "user", parts: results })
        } else {
          results.push(part)
        }
        break
      }
    }
  })
  return contents
}

const isGemini3 = (model: string): boolean => /(^|\/)gemini-3/.test(model)

/**
 * Build the request body. Throws `LlmError.InvalidRequest` for what the model
 * lets through but Gemini cannot take (an image URL of unknown type, a JSON
 * Schema keyword outside the subset); callers turn that into a failed stream
 * before anything connects.
 *
 * @internal
 */
export const toGenerateContentRequest = (request: ChatRequest.ChatRequest): GenerateContentBody => {
  const body: GenerateContentBody = { contents: contentsOf(request) }
  const system = ChatRequest.systemText(request)
  if (system !== undefined && system !== "") body.systemInstruction = { role: "system", parts: [{ text: system }] }

  const config: Json = {}
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
  const format = request.responseFormat
  if (format !== undefined) {
    config.responseMimeType = "application/json"
    if (format.type === "json_schema") {
      const schema = toResponseJsonSchema(format.schema)
      if (format.description !== undefined && schema.description === undefined) schema.description = format.description
      config.responseJsonSchema = schema
    }
    hasConfig = true
  }
  const reasoning = request.reasoning
  if (reasoning !== undefined) {
    const thinking: Json = { includeThoughts: true }
    if (reasoning.budgetTokens !== undefined) thinking.thinkingBudget = reasoning.budgetTokens
    else if (reasoning.effort !== undefined) {
      if (isGemini3(request.model)) thinking.thinkingLevel = reasoning.effort.toUpperCase()
      else thinking.thinkingBudget = effortBudget[reasoning.effort]
    }
    config.thinkingConfig = thinking
    hasConfig = true
  }
  if (hasConfig) body.generationConfig = config

  if (request.tools !== undefined && request.tools.length > 0) {
    body.tools = [
      {
        functionDeclarations: request.tools.map((tool) => {
          const declaration: Json = { name: tool.name }
          if (tool.description !== undefined) declaration.description = tool.description
          const parameters = toParameters(tool.parameters)
          if (parameters !== undefined) declaration.parameters = parameters
          return declaration
        })
      }
    ]
  }
  const choice = request.toolChoice
  if (choice !== undefined) {
    body.toolConfig = {
      functionCallingConfig: choice === "auto"
        ? { mode: "AUTO" }
        : choice === "none"
        ? { mode: "NONE" }
        : choice === "required"
        ? { mode: "ANY" }
        : { mode: "ANY", allowedFunctionNames: [choice.tool] }
    }
  }
  const options = request.providerOptions?.google
  return options === undefined ? body : mergeProviderOptions(body, options)
}

/**
 * {@link toGenerateContentRequest} without throwing: the body, or the
 * `InvalidRequest` to fail the stream with before connecting.
 *
 * @internal
 */
export const buildBody = (request: ChatRequest.ChatRequest): GenerateContentBody | LlmError.InvalidRequest => {
  try {
    return toGenerateContentRequest(request)
  } catch (error) {
    if (error instanceof LlmError.InvalidRequest) return error
    throw error
  }
}
