/**
 * `ChatRequest` → the JSON body of `POST /api/chat`.
 *
 * What Ollama has no field for is refused by the capabilities table before
 * connecting: image URLs (Ollama takes base64 only), files, images in tool
 * results, `toolChoice` "required" / `{ tool }`, and a reasoning token budget.
 *
 * @internal
 */
import { Capabilities, ChatRequest, LlmError } from "@streamvisor/core"
import { PROVIDER } from "./Errors.js"

/**
 * What this adapter takes beyond plain text. A cache hint is taken and
 * ignored: Ollama keeps the prompt's KV cache of a loaded model by itself.
 *
 * @internal
 */
export const capabilities = Capabilities.make({
  providerOptionsKey: "ollama",
  features: [
    "image.data",
    "toolChoice.none",
    "responseFormat.json",
    "responseFormat.json_schema",
    "reasoning.effort",
    "reasoning.history",
    "cache",
    "providerOptions"
  ],
  imageMediaTypes: ["image/*"]
})

/** Ollama's `think` request field. @internal */
export type Think = boolean | "low" | "medium" | "high"

/** @internal */
export interface ChatBody {
  readonly model: string
  readonly messages: ReadonlyArray<Record<string, unknown>>
  readonly stream: true
  readonly options?: Record<string, unknown>
  readonly tools?: ReadonlyArray<Record<string, unknown>>
  readonly think?: Think
  readonly keep_alive?: string | number
  readonly format?: "json" | Record<string, unknown>
}

const isObject = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

/** Ollama takes tool-call arguments as an object, not as JSON text. */
const toArguments = (name: string, args: unknown): Record<string, unknown> => {
  if (args === undefined || args === null) return {}
  if (isObject(args)) return args
  if (typeof args === "string") {
    if (args.trim() === "") return {}
    try {
      const parsed: unknown = JSON.parse(args)
      if (isObject(parsed)) return parsed
    } catch {
      // reported below
    }
  }
  throw new LlmError.InvalidRequest({
    provider: PROVIDER,
    message: `${PROVIDER}: the arguments of tool call "${name}" in the history must be a JSON object (or its JSON text)`
  })
}

const toMessage = (message: ChatRequest.Message): Record<string, unknown> => {
  switch (message.role) {
    case "user": {
      if (typeof message.content === "string") return { role: "user", content: message.content }
      // Ollama takes a message's images as a list of base64 strings beside its text.
      const images: Array<string> = []
      for (const part of message.content) if (part.type === "image" && "data" in part) images.push(part.data)
      const content = ChatRequest.text(message.content)
      return images.length === 0 ? { role: "user", content } : { role: "user", content, images }
    }
    case "assistant": {
      const calls = ChatRequest.toolCalls(message)
      const out: Record<string, unknown> = { role: "assistant", content: ChatRequest.text(message.content) }
      if (typeof message.content !== "string") {
        // Reasoning goes back as `thinking`; another provider's reasoning is left out.
        let thinking = ""
        for (const part of message.content) {
          if (part.type === "reasoning" && (part.provider === undefined || part.provider === PROVIDER)) thinking += part.text
        }
        if (thinking.length > 0) out.thinking = thinking
      }
      if (calls.length > 0) {
        out.tool_calls = calls.map((call) => ({
          function: { name: call.name, arguments: toArguments(call.name, call.arguments) }
        }))
      }
      return out
    }
    case "tool":
      // Ollama matches a result to its call by the tool's name; it has no call ids.
      return { role: "tool", content: ChatRequest.text(message.content), tool_name: message.name }
  }
}

/**
 * `reasoning` → `think`: the effort as Ollama's level ("low" / "medium" /
 * "high", which gpt-oss takes), or `true` when no effort is given. A model
 * that only takes on/off answers a level with a 400 ("think value … is not
 * supported for this model"); `providerOptions.ollama.think: true` is the way
 * to ask it.
 */
const thinkOf = (reasoning: ChatRequest.Reasoning): Think => reasoning.effort ?? true

/**
 * Build the request body: system first, messages (user images as `images`,
 * assistant reasoning as `thinking`), sampling in `options`, tools (left out
 * for `toolChoice: "none"`), `format` (`"json"` or the JSON Schema), `think`
 * (the request's `reasoning`, else the adapter's option), `keep_alive`. Last,
 * `providerOptions.ollama` is merged over it (its `options` key by key), all
 * but `stream`. Throws `InvalidRequest` when a tool call in the history has
 * arguments that are not a JSON object.
 *
 * @internal
 */
export const toBody = (
  request: ChatRequest.ChatRequest,
  extra: { readonly think?: Think | undefined; readonly keepAlive?: string | number | undefined }
): ChatBody => {
  const messages: Array<Record<string, unknown>> = []
  const system = ChatRequest.systemText(request)
  if (system !== undefined && system.length > 0) messages.push({ role: "system", content: system })
  for (const message of request.messages) messages.push(toMessage(message))

  const options: Record<string, unknown> = {}
  if (request.maxTokens !== undefined) options.num_predict = request.maxTokens
  if (request.temperature !== undefined) options.temperature = request.temperature
  if (request.stop !== undefined && request.stop.length > 0) options.stop = request.stop

  const format = request.responseFormat === undefined
    ? undefined
    : request.responseFormat.type === "json"
    ? "json" as const
    : request.responseFormat.schema
  const think = request.reasoning !== undefined ? thinkOf(request.reasoning) : extra.think
  const sendTools = request.tools !== undefined && request.tools.length > 0 && request.toolChoice !== "none"

  const body: ChatBody = {
    model: request.model,
    messages,
    stream: true,
    ...(Object.keys(options).length > 0 ? { options } : {}),
    ...(sendTools
      ? {
        tools: request.tools!.map((tool) => ({
          type: "function",
          function: {
            name: tool.name,
            ...(tool.description !== undefined ? { description: tool.description } : {}),
            parameters: tool.parameters
          }
        }))
      }
      : {}),
    ...(format !== undefined ? { format } : {}),
    ...(think !== undefined ? { think } : {}),
    ...(extra.keepAlive !== undefined ? { keep_alive: extra.keepAlive } : {})
  }
  const given = request.providerOptions?.ollama
  if (given === undefined) return body
  const merged: Record<string, unknown> = { ...body, ...given, stream: true }
  if (isObject(given.options) && body.options !== undefined) merged.options = { ...body.options, ...given.options }
  return merged as unknown as ChatBody
}
