/**
 * The plan of one agent turn, written in the user's message so that the
 * FakeLlmServer script (which plays it) and the model test (which predicts
 * it) read the same thing, and a counterexample reads as what happened:
 *
 *   `t7 ok+hang/bad/.`  — turn tag `t7`; step 1 calls two tools (one
 *   succeeds, one hangs), step 2 one tool with arguments that do not decode,
 *   step 3 answers with text.
 *
 * A step is `+`-joined tool calls (one outcome each) or, last, how the turn's
 * final step goes: `.` text, `!500` HTTP 500, `!cut` the connection dropped
 * mid-body, `!hang` the body stops coming. Tool call `j` of step `n` of turn
 * `tN` has id and key `tN.n.j`.
 */
import type { ChatRequest } from "@streamvisor/core"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"

/**
 * What one tool call does: `ok` succeeds; `fail` fails with its typed
 * failure (an error result for the model); `bad` is called with arguments that
 * do not decode (an error result, the handler never runs); `defect` dies (the
 * turn fails with `ToolError`); `timeout` runs past the session's
 * `toolTimeout` (`ToolTimeout`); `hang` runs until it is interrupted.
 */
export type Outcome = "ok" | "fail" | "bad" | "defect" | "timeout" | "hang"

/** How the turn's last scripted step goes. */
export type End = "." | "!500" | "!cut" | "!hang"

export interface Plan {
  /** The tool-calling steps, in order: each one to three calls. */
  readonly tools: ReadonlyArray<ReadonlyArray<Outcome>>
  readonly end: End
}

/** The tool each outcome calls (`bad` calls `succeed` with a number for its string `key`). */
export const toolName = (outcome: Outcome): string => outcome === "ok" || outcome === "bad" ? "succeed" : outcome

export const render = (plan: Plan): string => [...plan.tools.map((calls) => calls.join("+")), plan.end].join("/")

/** The user's message of turn `tag` playing `plan`. */
export const message = (tag: string, plan: Plan): string => `${tag} ${render(plan)}`

export const parse = (text: string): { readonly tag: string; readonly plan: Plan } => {
  const [tag, body] = text.split(" ")
  const tokens = body.split("/")
  const end = tokens.pop() as End
  return { tag, plan: { tools: tokens.map((token) => token.split("+") as Array<Outcome>), end } }
}

export const callId = (tag: string, step: number, index: number) => `${tag}.${step}.${index}`

/** The arguments of a call: its key, or (for `bad`) a number where the key's string goes. */
export const argumentsOf = (id: string, outcome: Outcome): { readonly key: string | number } =>
  outcome === "bad" ? { key: 7 } : { key: id }

/** Text of a tool-calling step, before its calls. */
export const stepText = (tag: string, step: number) => `${tag} s${step} `

/** The final answer, in two deltas. */
export const answerDeltas = (tag: string) => [`${tag} `, "done"]

/** What the tool loop tells the model about arguments that do not decode (as `Tool`'s parameters Schema words it). */
const BAD_ARGUMENTS = (() => {
  const decoded = Schema.decodeUnknownEither(Schema.Struct({ key: Schema.String }), { errors: "all" })({ key: 7 })
  if (Either.isRight(decoded)) throw new Error("a numeric key decoded")
  return `Invalid arguments for tool "succeed":\n${ParseResult.TreeFormatter.formatErrorSync(decoded.left)}`
})()

const assistantStep = (tag: string, step: number, calls: ReadonlyArray<Outcome>): ChatRequest.Message => ({
  role: "assistant",
  content: [
    { type: "text", text: stepText(tag, step) },
    ...calls.map((outcome, j) => {
      const id = callId(tag, step, j)
      return { type: "tool-call" as const, id, name: toolName(outcome), arguments: argumentsOf(id, outcome) }
    })
  ]
})

const toolResult = (id: string, outcome: Outcome): ChatRequest.Message => {
  switch (outcome) {
    case "ok":
      return { role: "tool", toolCallId: id, name: "succeed", content: `ok:${id}` }
    case "fail":
      return { role: "tool", toolCallId: id, name: "fail", content: JSON.stringify({ reason: `no:${id}` }), isError: true }
    case "bad":
      return { role: "tool", toolCallId: id, name: "succeed", content: BAD_ARGUMENTS, isError: true }
    default:
      throw new Error(`a ${outcome} call has no result`)
  }
}

/** How a started turn comes out, by itself. */
export type Result =
  | { readonly _tag: "Commit"; readonly messages: ReadonlyArray<ChatRequest.Message> }
  | { readonly _tag: "Fail"; readonly error: "ServerError" | "Disconnected" | "ToolError" | "ToolTimeout" }
  /** Cut (its caller left, or crashed the session) after reading step `cut`'s `Finish` (a tool-calls one): nothing committed. */
  | { readonly _tag: "Cut" }
  /** Blocked until cut: its step's stream hangs, or `running` (the keys of its hung calls) never end. */
  | { readonly _tag: "Block"; readonly where: "stream" | "tool"; readonly step: number; readonly running: ReadonlyArray<string> }

/**
 * How the turn with user message `text` comes out in a session of `maxSteps`,
 * cut after step `cut`'s `Finish` when given. A step's
 * defect wins over its timeouts (a defect fails at once, a timeout later),
 * and both over its hung calls.
 */
export const simulate = (text: string, maxSteps: number, cut?: number): Result => {
  const { plan, tag } = parse(text)
  const messages: Array<ChatRequest.Message> = [{ role: "user", content: text }]
  for (let step = 1;; step++) {
    const calls = plan.tools[step - 1]
    if (calls === undefined) {
      switch (plan.end) {
        case ".":
          return { _tag: "Commit", messages: [...messages, { role: "assistant", content: answerDeltas(tag).join("") }] }
        case "!500":
          return { _tag: "Fail", error: "ServerError" }
        case "!cut":
          return { _tag: "Fail", error: "Disconnected" }
        case "!hang":
          return { _tag: "Block", where: "stream", step, running: [] }
      }
    }
    if (cut === step) return { _tag: "Cut" }
    messages.push(assistantStep(tag, step, calls))
    if (calls.includes("defect")) return { _tag: "Fail", error: "ToolError" }
    if (calls.includes("timeout")) return { _tag: "Fail", error: "ToolTimeout" }
    if (calls.includes("hang")) {
      const running = calls.flatMap((outcome, j) => outcome === "hang" ? [callId(tag, step, j)] : [])
      return { _tag: "Block", where: "tool", step, running }
    }
    calls.forEach((outcome, j) => messages.push(toolResult(callId(tag, step, j), outcome)))
    // the tools of the last step allowed still ran: every call is answered, the turn ends there
    if (step >= maxSteps) return { _tag: "Commit", messages }
  }
}
