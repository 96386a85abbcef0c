/**
 * Request checks: the fake server can check a request the way the provider does before it
 * answers, and answer a violation with the provider's own error (status and body), so a test of a
 * multi-turn conversation fails exactly where the real API would.
 *
 * Checks are opt-in: per server (`FakeLlmServer.start({ validate })`, `server.setValidate(...)`)
 * or per script (`validate: [...]`, `expectRequest`). A named check applies only to requests of
 * its own wire format; the others pass it untouched.
 *
 * | name | wire | the provider's rule (and its error) |
 * |---|---|---|
 * | `anthropic-thinking` | Anthropic | a `thinking` block needs its `signature` and a `redacted_thinking` block its `data` (400 `messages.i.content.j.thinking.signature: Field required`); with `thinking` enabled: `budget_tokens` ≥ 1024 and < `max_tokens`, no forced `tool_choice` (`any` / `tool`), and the assistant message before the last `tool_result` must start with a thinking block (400 "messages.i.content.0.type: Expected `thinking` or `redacted_thinking`, but found …") — all `invalid_request_error` |
 * | `gemini-thought-signature` | Gemini | in the current turn (after the last user text), the first `functionCall` part of each model step carries a `thoughtSignature` (400 `INVALID_ARGUMENT` "Function call is missing a thought_signature in functionCall parts. …") |
 * | `openai-responses-reasoning` | Responses | an output item this server issued right after a reasoning item comes back only after that reasoning item (400 "Item 'fc_…' of type 'function_call' was provided without its required 'reasoning' item: 'rs_…'."); a reasoning item is followed by an item (400 "… was provided without its required following item."); with `store: false` a reasoning item carries `encrypted_content` (404 "Item with id 'rs_…' not found. Items are not persisted when `store` is set to false. …") |
 *
 * The messages are the providers' own, as observed in public bug reports (2025–2026).
 *
 * @since 0.2.0
 */
import type { RecordedRequest } from "./FakeLlmServer.js"

/**
 * The named checks, in the order they are documented.
 *
 * @since 0.2.0
 * @category checks
 */
export const checkNames = ["anthropic-thinking", "gemini-thought-signature", "openai-responses-reasoning"] as const

/**
 * A named check mirroring one provider's rules (see the module table).
 *
 * @since 0.2.0
 * @category checks
 */
export type CheckName = (typeof checkNames)[number]

/**
 * What a failed check answers. `body` defaults to the provider's invalid-request error body
 * carrying `message` (and `param`, for OpenAI).
 *
 * @since 0.2.0
 * @category checks
 */
export interface Rejection {
  readonly status: number
  readonly message: string
  /** OpenAI's `error.param`. */
  readonly param?: string
  /** Sent as is instead of the provider's error body. */
  readonly body?: unknown
}

/**
 * A custom check: return nothing to accept the request, a message to answer 400 with the
 * provider's invalid-request body, or a full {@link Rejection}.
 *
 * @example
 * ```ts
 * import { RequestCheck, Script } from "@streamvisor/testkit"
 *
 * const mustStream: RequestCheck.RequestPredicate = (request) =>
 *   (request.body as { stream?: boolean }).stream === true ? undefined : "stream must be true"
 * const script: Script.Scripted = { ...Script.text(["ok"]), expectRequest: mustStream }
 * ```
 *
 * @since 0.2.0
 * @category checks
 */
export type RequestPredicate = (request: RecordedRequest) => string | Rejection | undefined | void

/**
 * A check: a provider rule by name, or a custom predicate.
 *
 * @since 0.2.0
 * @category checks
 */
export type Check = CheckName | RequestPredicate

/**
 * Is this string one of the {@link checkNames}?
 *
 * @since 0.2.0
 * @category checks
 */
export const isCheckName = (name: string): name is CheckName => (checkNames as ReadonlyArray<string>).includes(name)
