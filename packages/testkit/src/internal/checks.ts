/**
 * The named request checks (documented in `RequestCheck.ts`): each mirrors one provider's rule and
 * answers with that provider's message. A check only looks at requests of its own wire format.
 */
import type { RecordedRequest } from "../FakeLlmServer.js"
import type { Check, CheckName, Rejection } from "../RequestCheck.js"

/** What the checks may consult besides the request. */
export interface CheckContext {
  readonly request: RecordedRequest
  /** Responses output item id → the id of the reasoning item it requires (items this server issued). */
  readonly requiredReasoning: ReadonlyMap<string, string>
}

type Rule = (ctx: CheckContext) => Rejection | undefined

type Json = Record<string, unknown>

const isObject = (value: unknown): value is Json => typeof value === "object" && value !== null && !Array.isArray(value)

const array = (value: unknown): ReadonlyArray<unknown> => (Array.isArray(value) ? value : [])

const invalid = (message: string, param?: string): Rejection => ({
  status: 400,
  message,
  ...(param === undefined ? {} : { param })
})

const ANTHROPIC_DOCS = "https://docs.claude.com/en/docs/build-with-claude/extended-thinking"

/** Content blocks of an Anthropic message (a string content is one text block). */
const blocks = (message: Json): ReadonlyArray<unknown> =>
  typeof message.content === "string" ? [{ type: "text", text: message.content }] : array(message.content)

const anthropicThinking: Rule = ({ request }) => {
  if (request.format !== "anthropic" || !isObject(request.body)) return undefined
  const body = request.body
  const messages = array(body.messages)
  for (let i = 0; i < messages.length; i++) {
    const message = messages[i]
    if (!isObject(message)) continue
    const content = blocks(message)
    for (let j = 0; j < content.length; j++) {
      const block = content[j]
      if (!isObject(block)) continue
      if (block.type === "thinking" && typeof block.signature !== "string") {
        return invalid(`messages.${i}.content.${j}.thinking.signature: Field required`)
      }
      if (block.type === "thinking" && block.signature === "") {
        return invalid(`messages.${i}.content.${j}: Invalid \`signature\` in \`thinking\` block`)
      }
      if (block.type === "redacted_thinking" && typeof block.data !== "string") {
        return invalid(`messages.${i}.content.${j}.redacted_thinking.data: Field required`)
      }
    }
  }
  const thinking = body.thinking
  if (!isObject(thinking) || (thinking.type !== "enabled" && thinking.type !== "adaptive")) return undefined
  if (thinking.type === "enabled") {
    const budget = thinking.budget_tokens
    if (typeof budget === "number" && budget < 1024) {
      return invalid("thinking.enabled.budget_tokens: Input should be greater than or equal to 1024")
    }
    if (typeof budget === "number" && typeof body.max_tokens === "number" && body.max_tokens <= budget) {
      return invalid(`\`max_tokens\` must be greater than \`thinking.budget_tokens\`. Please consult our documentation at ${ANTHROPIC_DOCS}#max-tokens-and-context-window-size`)
    }
  }
  const choice = body.tool_choice
  if (isObject(choice) && (choice.type === "any" || choice.type === "tool")) {
    return invalid("Thinking may not be enabled when tool_choice forces tool use.")
  }
  // The rule is about the tool loop in progress: the last message carries tool results, and the
  // assistant message that asked for them must open with its (signed) thinking.
  const last = messages[messages.length - 1]
  if (!isObject(last) || last.role !== "user" || !blocks(last).some((b) => isObject(b) && b.type === "tool_result")) {
    return undefined
  }
  for (let i = messages.length - 2; i >= 0; i--) {
    const message = messages[i]
    if (!isObject(message) || message.role !== "assistant") continue
    const first = blocks(message)[0]
    const type = isObject(first) && typeof first.type === "string" ? first.type : "text"
    if (type === "thinking" || type === "redacted_thinking") return undefined
    return invalid(
      `messages.${i}.content.0.type: Expected \`thinking\` or \`redacted_thinking\`, but found \`${type}\`. When \`thinking\` is enabled, a final \`assistant\` message must start with a thinking block (preceeding the lastmost set of \`tool_use\` and \`tool_result\` blocks). We recommend you include thinking blocks from previous turns. To avoid this requirement, disable \`thinking\`. Please consult our documentation at ${ANTHROPIC_DOCS}`
    )
  }
  return undefined
}

const geminiThoughtSignature: Rule = ({ request }) => {
  if (request.format !== "gemini" || !isObject(request.body)) return undefined
  const contents = array(request.body.contents)
  // The current turn starts after the last user content that says something (not only function responses).
  let start = 0
  for (let i = contents.length - 1; i >= 0; i--) {
    const content = contents[i]
    if (isObject(content) && (content.role ?? "user") === "user" && array(content.parts).some((p) => isObject(p) && typeof p.text === "string")) {
      start = i + 1
      break
    }
  }
  for (let i = start; i < contents.length; i++) {
    const content = contents[i]
    if (!isObject(content) || content.role !== "model") continue
    const call = array(content.parts).find((p) => isObject(p) && isObject(p.functionCall))
    if (!isObject(call)) continue
    if (typeof call.thoughtSignature === "string" && call.thoughtSignature !== "") continue
    const name = isObject(call.functionCall) && typeof call.functionCall.name === "string" ? call.functionCall.name : ""
    // "position" in Google's message counts contents from 1 (a call right after the user's text is position 2).
    return invalid(
      `Function call is missing a thought_signature in functionCall parts. This is required for tools to work correctly, and missing thought_signature may lead to degraded model performance. Additional data, function call \`default_api:${name}\` , position ${i + 1}. Please refer to https://ai.google.dev/gemini-api/docs/thought-signatures for more details.`
    )
  }
  return undefined
}

const itemType = (item: Json): string | undefined =>
  typeof item.type === "string" ? item.type : typeof item.role === "string" ? "message" : undefined

const openaiResponsesReasoning: Rule = ({ request, requiredReasoning }) => {
  if (request.format !== "openai-responses" || !isObject(request.body)) return undefined
  const body = request.body
  const input = array(body.input)
  const seen = new Set<string>()
  for (let k = 0; k < input.length; k++) {
    const item = input[k]
    if (!isObject(item)) continue
    const id = typeof item.id === "string" ? item.id : undefined
    const type = itemType(item)
    if (type === "reasoning") {
      if (body.store === false && id !== undefined && typeof item.encrypted_content !== "string") {
        return {
          status: 404,
          param: "input",
          message: `Item with id '${id}' not found. Items are not persisted when \`store\` is set to false. Try again with \`store\` set to true, or remove this item from your input.`
        }
      }
      const next = input[k + 1]
      const nextType = isObject(next) ? itemType(next) : undefined
      if (nextType === undefined || nextType === "reasoning" || nextType === "function_call_output") {
        return invalid(`Item '${id ?? `input[${k}]`}' of type 'reasoning' was provided without its required following item.`, "input")
      }
    }
    if (id !== undefined) {
      const required = requiredReasoning.get(id)
      if (required !== undefined && !seen.has(required)) {
        return invalid(`Item '${id}' of type '${type ?? "unknown"}' was provided without its required 'reasoning' item: '${required}'.`, "input")
      }
      seen.add(id)
    }
  }
  return undefined
}

const rules: Readonly<Record<CheckName, Rule>> = {
  "anthropic-thinking": anthropicThinking,
  "gemini-thought-signature": geminiThoughtSignature,
  "openai-responses-reasoning": openaiResponsesReasoning
}

/** Runs the checks in order; the first violation wins. A throwing predicate is a 500 from the fake. */
export const runChecks = (checks: ReadonlyArray<Check>, ctx: CheckContext): Rejection | undefined => {
  for (const check of checks) {
    if (typeof check === "string") {
      const rejection = rules[check](ctx)
      if (rejection !== undefined) return rejection
      continue
    }
    const result = check(ctx.request)
    if (typeof result === "string") return invalid(result)
    if (isObject(result)) return result as Rejection
  }
  return undefined
}
