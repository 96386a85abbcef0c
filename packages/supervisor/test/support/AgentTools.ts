/**
 * The world of the agent model test: one tool per outcome, handlers that
 * record every start and every finalizer run by call key, and the
 * FakeLlmServer script that plays the plan written in the user's message
 * (see `AgentPlan`) over Ollama's `/api/chat` — tool-calling steps as
 * recorded-style NDJSON lines whose calls carry ids (as newer Ollama servers
 * send them), so a call's id is the same in the history, the handler and the
 * test. The script also checks that every request it is sent is a valid
 * conversation.
 */
import { Tool, Toolkit } from "@streamvisor/core"
import { Script } from "@streamvisor/testkit"
import type { FakeLlmServer } from "@streamvisor/testkit"
import { Duration, Effect, type Layer, Schema } from "effect"
import { answerDeltas, argumentsOf, callId, type Outcome, parse, stepText, toolName } from "./AgentPlan.js"
import { fromOllama, problem, type WireMessage } from "./Conversation.js"

const parameters = { key: Schema.String }
const Succeed = Tool.make("succeed", { description: "Succeeds", parameters, success: Schema.String })
const Fail = Tool.make("fail", {
  description: "Fails with its typed failure",
  parameters,
  success: Schema.String,
  failure: Schema.Struct({ reason: Schema.String })
})
const Defect = Tool.make("defect", { description: "Dies", parameters, success: Schema.String })
const Timeout = Tool.make("timeout", { description: "Runs past the timeout", parameters, success: Schema.String })
const Hang = Tool.make("hang", { description: "Runs until interrupted", parameters, success: Schema.String })

export const tools = Toolkit.make(Succeed, Fail, Defect, Timeout, Hang)

/** Handler starts and finalizer runs, by call key. */
export interface Probe {
  readonly starts: Map<string, number>
  readonly releases: Map<string, number>
}

export const makeProbe = (): Probe => ({ starts: new Map(), releases: new Map() })

const bump = (counts: Map<string, number>, key: string) => counts.set(key, (counts.get(key) ?? 0) + 1)

/** Keys whose handler started and whose finalizer has not run (yet), those of turn `tag` only if given. */
export const unreleased = (probe: Probe, tag?: string): Array<string> =>
  [...probe.starts.keys()].filter((key) =>
    (tag === undefined || key.startsWith(`${tag}.`)) && (probe.releases.get(key) ?? 0) < probe.starts.get(key)!
  ).sort()

/**
 * A few milliseconds, different from call to call of a step (the key's last
 * digits), so parallel calls end in another order than they were made.
 */
const lag = (key: string) => Effect.sleep(Duration.millis((key.charCodeAt(key.length - 1) * 7) % 5))

/** Run `body` between a recorded start and a recorded finalizer (`acquireRelease`). */
const tracked = <A, E>(probe: Probe, key: string, body: Effect.Effect<A, E>): Effect.Effect<A, E> =>
  Effect.acquireRelease(Effect.sync(() => bump(probe.starts, key)), () => Effect.sync(() => bump(probe.releases, key))).pipe(
    Effect.zipRight(body),
    Effect.scoped
  )

export const handlers = (probe: Probe): Layer.Layer<Toolkit.Handlers<typeof tools>> =>
  Toolkit.toLayer(tools, {
    succeed: ({ key }) => tracked(probe, key, Effect.as(lag(key), `ok:${key}`)),
    fail: ({ key }) => tracked(probe, key, Effect.zipRight(lag(key), Effect.fail({ reason: `no:${key}` }))),
    defect: ({ key }) => tracked(probe, key, Effect.die(new Error(`defect:${key}`))),
    timeout: ({ key }) => tracked(probe, key, Effect.never),
    hang: ({ key }) => tracked(probe, key, Effect.never)
  }) as Layer.Layer<Toolkit.Handlers<typeof tools>>

interface Body {
  readonly model: string
  readonly messages: ReadonlyArray<WireMessage>
}

/** The turn's user message (the last one) and the step asked for: one more than the assistant messages after it. */
const turnOf = (messages: ReadonlyArray<WireMessage>) => {
  let last = messages.length - 1
  while (messages[last].role !== "user") last--
  return { text: messages[last].content, step: messages.slice(last + 1).filter((m) => m.role === "assistant").length + 1 }
}

/** A tool-calling step as Ollama streams it: its text, then every call in one line, then the final line. */
const callsStep = (model: string, tag: string, step: number, calls: ReadonlyArray<Outcome>): Script.Script => {
  const head = { model, created_at: "2025-01-01T00:00:00Z" }
  const line = (message: unknown, rest: object = { done: false }) => JSON.stringify({ ...head, message, ...rest })
  const toolCalls = calls.map((outcome, j) => {
    const id = callId(tag, step, j)
    return { id, function: { name: toolName(outcome), arguments: argumentsOf(id, outcome) } }
  })
  return Script.replay([
    line({ role: "assistant", content: stepText(tag, step) }),
    line({ role: "assistant", content: "", tool_calls: toolCalls }),
    line({ role: "assistant", content: "" }, { done: true, done_reason: "stop", prompt_eval_count: 10, eval_count: 3 })
  ])
}

/**
 * Plays the turn's plan: step `n` (one more than the assistant messages
 * after the last user message) of the plan in that message. A request that is
 * not a valid conversation is recorded in `violations` (and answered 400).
 */
export const script = (violations: Array<string>, maxSteps: number): Script.ScriptFn => (request: FakeLlmServer.RecordedRequest) => {
  const body = request.body as Body
  const wrong = problem(fromOllama(body.messages), maxSteps, true)
  if (wrong !== undefined) {
    violations.push(`request ${request.id}: ${wrong}`)
    return Script.status(400)
  }
  const { step, text } = turnOf(body.messages)
  const { plan, tag } = parse(text)
  const calls = plan.tools[step - 1]
  if (calls !== undefined) return callsStep(body.model, tag, step, calls)
  switch (plan.end) {
    case ".":
      return Script.text(answerDeltas(tag))
    case "!500":
      return Script.status(500)
    case "!cut":
      return Script.text(answerDeltas(tag), { fault: { type: "disconnect", afterEvents: 1 } })
    case "!hang":
      return Script.text(answerDeltas(tag), { fault: { type: "hang", afterEvents: 1 } })
  }
}

/** The turn tag and step of a recorded request, `tN.n`. */
export const stepOf = (request: FakeLlmServer.RecordedRequest): string => {
  const { step, text } = turnOf((request.body as Body).messages)
  return `${parse(text).tag}.${step}`
}
