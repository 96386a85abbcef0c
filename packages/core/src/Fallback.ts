/**
 * `fallback` tries providers in order: when one fails with a retryable error
 * before its first event, the next one gets the request.
 *
 * @since 0.1.0
 */
import * as Stream from "effect/Stream"
import type { ChatRequest } from "./ChatRequest.js"
import type { LlmError } from "./LlmError.js"
import * as Provider from "./Provider.js"
import type { StreamEvent } from "./StreamEvent.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface FallbackOptions {
  /** Which failures move on to the next provider (default: `error.retryable`). */
  readonly while?: ((error: LlmError) => boolean) | undefined
}

/**
 * A provider that streams from the first of `providers` that does not fail
 * before its first event. The failed attempt is released before the next
 * provider is asked. Once an event has reached the consumer, the stream stays
 * with that provider, failures included. Being a `Provider`, it nests and goes
 * wherever a provider goes (inside `hedge`, in a supervisor session…).
 *
 * @example
 * ```ts
 * import { fallback, type Provider } from "@streamvisor/core"
 *
 * declare const claude: Provider.Provider, gpt: Provider.Provider, gemini: Provider.Provider
 * const resilient = fallback([claude, gpt, gemini])
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const fallback = (
  providers: readonly [Provider.Provider, ...Array<Provider.Provider>],
  options: FallbackOptions = {}
): Provider.Provider => {
  const shouldMove = options.while ?? ((error: LlmError) => error.retryable)
  const attempt = (index: number, request: ChatRequest): Stream.Stream<StreamEvent, LlmError> =>
    Stream.suspend(() => {
      const provider = providers[index]!
      if (index === providers.length - 1) return provider.stream(request)
      let emitted = false
      return provider.stream(request).pipe(
        Stream.mapChunks((chunk) => {
          if (chunk.length > 0) emitted = true
          return chunk
        }),
        Stream.catchAll((error) =>
          emitted || !shouldMove(error) ? Stream.fail(error) : attempt(index + 1, request)
        )
      )
    })
  return Provider.make({
    name: `fallback(${providers.map((p) => p.name).join(",")})`,
    stream: (request) => attempt(0, request)
  })
}
