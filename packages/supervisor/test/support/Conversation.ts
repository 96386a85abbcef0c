/**
 * Is a conversation one a provider takes? Turns, each a user message and then
 * steps: an assistant message, and right after it one tool result per tool
 * call it made, answering the calls in order (by id where the format has
 * ids, and by tool name). A turn ends with an assistant message without
 * calls, or with the results of its `maxSteps`-th step; anything else is a
 * half turn. Checked on a session's history (closed: every turn ended) and on
 * the messages of a request on the wire (open: the last turn is in progress).
 */
import { ChatRequest } from "@streamvisor/core"

/** A message as the check sees it. */
export type Line =
  | { readonly role: "user" }
  | { readonly role: "assistant"; readonly calls: ReadonlyArray<{ readonly id?: string; readonly name: string }> }
  | { readonly role: "tool"; readonly id?: string; readonly name: string }

export const fromHistory = (messages: ReadonlyArray<ChatRequest.Message>): Array<Line> =>
  messages.map((m): Line => {
    switch (m.role) {
      case "user":
        return { role: "user" }
      case "assistant":
        return { role: "assistant", calls: ChatRequest.toolCalls(m).map((c) => ({ id: c.id, name: c.name })) }
      case "tool":
        return { role: "tool", id: m.toolCallId, name: m.name }
    }
  })

/** Ollama `/api/chat` messages (no ids: results name their tool). */
export interface WireMessage {
  readonly role: string
  readonly content: string
  readonly tool_calls?: ReadonlyArray<{ readonly function: { readonly name: string } }>
  readonly tool_name?: string
}

export const fromOllama = (messages: ReadonlyArray<WireMessage>): Array<Line> =>
  messages.filter((m) => m.role !== "system").map((m): Line => {
    switch (m.role) {
      case "user":
        return { role: "user" }
      case "assistant":
        return { role: "assistant", calls: (m.tool_calls ?? []).map((c) => ({ name: c.function.name })) }
      default:
        return { role: "tool", name: m.tool_name ?? `<${m.role}>` }
    }
  })

/**
 * The first thing wrong with `lines`, or undefined. `open`: the last turn may
 * be in progress (it then ends after its user message or after a step's tool
 * results, short of `maxSteps`), and must be.
 */
export const problem = (lines: ReadonlyArray<Line>, maxSteps: number, open: boolean): string | undefined => {
  let i = 0
  if (lines.length === 0) return open ? "a request without messages" : undefined
  while (i < lines.length) {
    const start = i
    if (lines[i].role !== "user") return `#${i}: a turn starts with a user message, not ${lines[i].role}`
    i++
    let steps = 0
    let calls = 0
    for (;;) {
      const ended = steps > 0 && (calls === 0 || steps === maxSteps)
      if (i === lines.length) {
        if (!open) return ended ? undefined : `#${start}: a half turn (${steps} steps, the last with ${calls} calls)`
        return ended ? `#${start}: the request's last turn is already over` : undefined
      }
      const line = lines[i]
      if (line.role === "user") {
        if (!ended) return `#${i}: a user message after a half turn (${steps} steps, the last with ${calls} calls)`
        break
      }
      if (line.role === "tool") return `#${i}: a tool result (${line.name}) that answers no call`
      if (ended) return `#${i}: an assistant message after the turn ended`
      steps++
      calls = line.calls.length
      i++
      for (const [j, call] of line.calls.entries()) {
        const result = lines[i]
        if (result === undefined || result.role !== "tool") {
          return `#${i}: call ${j} (${call.name}) of #${i - j - 1} is not answered`
        }
        if (result.name !== call.name || (call.id !== undefined && result.id !== undefined && result.id !== call.id)) {
          const was = `${result.id ?? "?"} (${result.name})`
          return `#${i}: call ${j}, ${call.id ?? "?"} (${call.name}), of #${i - j - 1} is answered by the result for ${was}`
        }
        i++
      }
    }
  }
  return undefined
}
