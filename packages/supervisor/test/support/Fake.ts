/**
 * In-memory providers for unit tests: each call's behaviour is chosen from
 * the user's text and the call number; every stream is opened and released
 * through the current `Ledger`, so leaks show as they would for a real one.
 */
import { ChatRequest, Ledger, LlmError, Provider, StreamEvent } from "@streamvisor/core"
import { Effect, Stream } from "effect"

export type Behaviour =
  | { readonly _tag: "ok" }
  | { readonly _tag: "slow"; readonly ms: number }
  | { readonly _tag: "die" }
  | { readonly _tag: "fail" }
  | { readonly _tag: "hang" }
  | { readonly _tag: "noFinish" }

export const ok: Behaviour = { _tag: "ok" }
export const die: Behaviour = { _tag: "die" }
export const fail: Behaviour = { _tag: "fail" }
export const hang: Behaviour = { _tag: "hang" }
export const noFinish: Behaviour = { _tag: "noFinish" }
export const slow = (ms: number): Behaviour => ({ _tag: "slow", ms })

/** The assistant's answer to `text` when the turn completes. */
export const answer = (text: string) => `re: ${text}`

export interface Fake {
  readonly provider: Provider.Provider
  /** Every request, in the order the provider was called. */
  readonly requests: Array<ChatRequest.ChatRequest>
  /** Last user message of every request. */
  readonly texts: () => Array<string>
}

const lastUser = (request: ChatRequest.ChatRequest) => ChatRequest.text(request.messages[request.messages.length - 1].content)

export const make = (
  behave: (text: string, call: number) => Behaviour = () => ok,
  name = "fake"
): Fake => {
  const requests: Array<ChatRequest.ChatRequest> = []
  const provider = Provider.make({
    name,
    stream: (request) => {
      const text = lastUser(request)
      const call = requests.length
      requests.push(request)
      const behaviour = behave(text, call)
      const partial = Stream.make(StreamEvent.textDelta("re: "))
      const whole = Stream.make(
        StreamEvent.textDelta("re: "),
        StreamEvent.textDelta(text),
        StreamEvent.usage(10, 2),
        StreamEvent.finish("stop", "stop")
      )
      let body: Stream.Stream<StreamEvent.StreamEvent, LlmError.LlmError>
      switch (behaviour._tag) {
        case "ok":
          body = whole
          break
        case "slow":
          body = Stream.concat(
            Stream.make(StreamEvent.textDelta("re: "), StreamEvent.textDelta(text)),
            Stream.fromEffect(Effect.as(Effect.sleep(behaviour.ms), StreamEvent.finish("stop", "stop")))
          )
          break
        case "die":
          body = Stream.concat(partial, Stream.die(new Error(`provider died on ${text}`)))
          break
        case "fail":
          body = Stream.concat(partial, Stream.fail(new LlmError.ServerError({ provider: name, status: 500 })))
          break
        case "hang":
          body = Stream.concat(partial, Stream.never)
          break
        case "noFinish":
          body = partial
          break
      }
      return Stream.acquireRelease(
        Effect.map(Ledger.Ledger, (ledger) => ledger.open(name, request.model)),
        (entry) => Effect.sync(() => entry.release("completed"))
      ).pipe(Stream.flatMap(() => body))
    }
  })
  return { provider, requests, texts: () => requests.map(lastUser) }
}
