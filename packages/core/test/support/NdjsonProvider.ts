/**
 * A minimal provider over FakeLlmServer's NDJSON route (`/api/chat`), built
 * only from core parts, so core's tests need no adapter package. Each test
 * passes its own undici `Agent` so it can close the pool and check sockets.
 */
import { acquire, type Capabilities, LlmError, Provider, StreamEvent } from "@streamvisor/core"
import * as Duration from "effect/Duration"
import { type Agent, fetch as undiciFetch } from "undici"

export const make = (options: {
  readonly url: string
  readonly agent: () => Agent
  readonly name?: string
  readonly capabilities?: Capabilities.Capabilities
}) => {
  const name = options.name ?? "ndjson"
  return Provider.make({
    name,
    capabilities: options.capabilities,
    stream: (request) =>
      acquire<Uint8Array, StreamEvent.StreamEvent>({
        provider: name,
        model: request.model,
        open: async (signal) => {
          const response = await undiciFetch(`${options.url}/api/chat`, {
            method: "POST",
            body: JSON.stringify({ model: request.model, messages: request.messages, stream: true }),
            headers: { "content-type": "application/json" },
            signal,
            dispatcher: options.agent()
          })
          if (!response.ok) {
            const retryAfter = response.headers.get("retry-after")
            await response.body?.cancel()
            throw LlmError.fromStatus({
              provider: name,
              status: response.status,
              retryAfter: retryAfter === null ? undefined : Duration.seconds(Number(retryAfter))
            })
          }
          return response.body as AsyncIterable<Uint8Array>
        },
        decoder: () => {
          const text = new TextDecoder()
          let rest = ""
          let done = false
          return {
            step: (bytes, emit) => {
              const lines = (rest + text.decode(bytes, { stream: true })).split("\n")
              rest = lines.pop()!
              for (const line of lines) {
                if (line === "") continue
                let value: any
                try {
                  value = JSON.parse(line)
                } catch {
                  throw new LlmError.ProtocolError({ provider: name, message: `${name}: malformed line` })
                }
                if (value.error !== undefined) throw new LlmError.ServerError({ provider: name, status: 500 })
                if (value.message?.content) emit(StreamEvent.textDelta(value.message.content))
                if (value.done === true) {
                  done = true
                  emit(StreamEvent.usage(value.prompt_eval_count ?? 0, value.eval_count ?? 0))
                  return true
                }
              }
            },
            end: (emit) => {
              if (!done) throw new LlmError.Disconnected({ provider: name })
              emit(StreamEvent.finish("stop", "stop"))
            }
          }
        },
        mapError: (cause) => new LlmError.Disconnected({ provider: name, message: `${name}: ${String(cause)}` })
      })
  })
}
