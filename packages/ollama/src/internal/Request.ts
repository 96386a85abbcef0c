/**
 * `ChatRequest` → the JSON body of `POST /api/chat`.
 *
 * @internal
 */
import { Capabilities, ChatRequest, LlmError } from "@streamvisor/core"
import { PROVIDER } from "./Errors.js"

/**
 * What this adapter takes beyond plain text. Nothing yet: until the request
 * model's features are mapped to this wire format, each is refused as
 * `InvalidRequest` before connecting rather than dropped.
 *
 * @internal
 */
export const capabilities = Capabilities.make({ providerOptionsKey: "ollama" })

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
    case "user":
      return { role: "user", content: ChatRequest.text(message.content) }
    case "assistant": {
      const calls = ChatRequest.toolCalls(message)
      const content = ChatRequest.text(message.content)
      return calls.length === 0
        ? { role: "assistant", content }
        : {
          role: "assistant",
          content,
          tool_calls: calls.map((call) => ({
            function: { name: call.name, arguments: toArguments(call.name, call.arguments) }
          }))
        }
    }
    case "tool":
      // Ollama matches a result to its call by the tool's name; it has no call ids.
      return { role: "tool", content: ChatRequest.text(message.content), tool_name: message.name }
  }
}

/**
 * Build the request body. Throws `InvalidRequest` when a tool call in the
 * history has arguments that are not a JSON object.
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

  return {
    model: request.model,
    messages,
    stream: true,
    ...(Object.keys(options).length > 0 ? { options } : {}),
    ...(request.tools !== undefined && request.tools.length > 0
      ? {
        tools: request.tools.map((tool) => ({
          type: "function",
          function: {
            name: tool.name,
            ...(tool.description !== undefined ? { description: tool.description } : {}),
            parameters: tool.parameters
          }
        }))
      }
      : {}),
    ...(extra.think !== undefined ? { think: extra.think } : {}),
    ...(extra.keepAlive !== undefined ? { keep_alive: extra.keepAlive } : {})
  }
}
