/**
 * Requests core built itself from parts it has already validated (an agent
 * turn's later steps: the decoded first request plus the messages it appended,
 * each checked on the way in). `Provider.make` skips the whole-request decode
 * for them — on a long conversation that decode grows with every step — and
 * still checks them against the provider's capabilities.
 *
 * Only core marks requests: the set is module-private and nothing public adds
 * to it, so a user's request is always decoded.
 *
 * @internal
 */
import type * as ChatRequest from "../ChatRequest.js"

const trusted = new WeakSet<object>()

/** Mark a request core built from validated parts. @internal */
export const trust = (request: ChatRequest.ChatRequest): ChatRequest.ChatRequest => {
  trusted.add(request)
  return request
}

/** Whether core built `request` from validated parts. @internal */
export const isTrusted = (request: unknown): request is ChatRequest.ChatRequest =>
  typeof request === "object" && request !== null && trusted.has(request)
