/**
 * The agent loop: stream a step, and while the model calls tools, run them and
 * stream the next step with their results.
 *
 * Each step is `StepStart ++ model ++ after`, and `after` is built only once
 * the model stream has ended: `Stream.concat` closes the first stream's scope
 * (releasing the connection, recorded in the ledger) before it pulls the
 * second, so no handler ever runs while its step's stream is open — the turn
 * holds a provider connection only while the model is speaking.
 *
 * @internal
 */
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type * as AgentEvent from "../AgentEvent.js"
import * as ChatRequest from "../ChatRequest.js"
import { InvalidRequest, type LlmError } from "../LlmError.js"
import * as Provider from "../Provider.js"
import type * as StreamEvent from "../StreamEvent.js"
import type { ToolError, ToolTimeout } from "../ToolError.js"
import { Collector, disconnected } from "./Collector.js"
import { execute, type Executed, type RunnableTool } from "./toolCall.js"
import { trust } from "./Trusted.js"

/** What a stop condition sees of a finished step. @internal */
export interface StepResult {
  readonly step: number
  readonly generation: Provider.Generation
  readonly toolResults: ReadonlyArray<AgentEvent.ToolResult>
}

/** @internal */
export interface LoopOptions {
  readonly maxSteps: number
  readonly stopWhen: ReadonlyArray<(steps: ReadonlyArray<StepResult>) => boolean>
  readonly concurrency: number | "unbounded"
  readonly toolTimeout: Duration.Duration | undefined
  readonly policies: (events: Stream.Stream<StreamEvent.StreamEvent, LlmError>) => Stream.Stream<StreamEvent.StreamEvent, LlmError>
}

type Events = Stream.Stream<AgentEvent.AgentEvent, LlmError | ToolError | ToolTimeout>

/**
 * Append the messages a step produced, checked for what the request schema
 * demands beyond their types: a step's request is the decoded first request
 * with these as its history, so it is trusted (`Trusted.ts`) and not decoded
 * whole again at every step. Assistant messages are built by `toMessages`
 * from typed events; a tool result must name a call (a provider or a custom
 * adapter may leave an id empty), which the schema requires.
 */
const appendChecked = (
  provider: string,
  appended: Array<ChatRequest.Message>,
  messages: ReadonlyArray<ChatRequest.Message>
): InvalidRequest | undefined => {
  for (const message of messages) {
    if (message.role === "tool" && !(isNamed(message.toolCallId) && isNamed(message.name))) {
      return new InvalidRequest({
        provider,
        message: `${provider}: a tool call has no id or name (id ${JSON.stringify(message.toolCallId)}, name ${JSON.stringify(message.name)}); its result cannot be sent back`
      })
    }
    appended.push(message)
  }
  return undefined
}

const isNamed = (value: unknown): boolean => typeof value === "string" && value.length > 0

/** @internal */
export const loop = (
  provider: Provider.Provider,
  request: ChatRequest.Input,
  tools: ReadonlyArray<RunnableTool>,
  options: LoopOptions
): Events =>
  Stream.unwrap(Effect.map(
    ChatRequest.decode(provider.name, { ...request, tools: [...(request.tools ?? []), ...tools.map((tool) => tool.definition)] }),
    (base) => {
      const byName = new Map(tools.map((tool) => [tool.name, tool]))
      const appended: Array<ChatRequest.Message> = []
      const steps: Array<StepResult> = []
      let inputTokens = 0
      let outputTokens = 0
      // The step to stream next; undefined once the turn has ended.
      let next: number | undefined = 1

      const turnEnd = (reason: AgentEvent.TurnEndReason): AgentEvent.TurnEnd => {
        next = undefined
        return {
          _tag: "TurnEnd",
          reason,
          steps: steps.length,
          text: steps.at(-1)?.generation.text ?? "",
          messages: appended.slice(),
          usage: { inputTokens, outputTokens }
        }
      }

      const stepFinish = (n: number, generation: Provider.Generation): AgentEvent.StepFinish => {
        const usage = generation.usage
        return usage === undefined
          ? { _tag: "StepFinish", step: n, finish: generation.finish.reason, toolCalls: generation.toolCalls.length }
          : {
            _tag: "StepFinish",
            step: n,
            finish: generation.finish.reason,
            toolCalls: generation.toolCalls.length,
            usage: { inputTokens: usage.inputTokens, outputTokens: usage.outputTokens }
          }
      }

      /** After the tools of step `n`: its `StepFinish`, then the end, or nothing (the next step follows). */
      const finished = (n: number, generation: Provider.Generation): ReadonlyArray<AgentEvent.AgentEvent> => {
        const finish = stepFinish(n, generation)
        if (options.stopWhen.some((condition) => condition(steps))) return [finish, turnEnd("stop_condition")]
        if (n >= options.maxSteps) return [finish, turnEnd("max_steps")]
        next = n + 1
        return [finish]
      }

      const step = (n: number): Events => {
        // The step's events are folded as they pass (after the policies, so
        // only what reached the consumer counts: a retried attempt does not).
        const collector = new Collector()
        const stepRequest = trust({ ...base, messages: n === 1 ? base.messages : [...base.messages, ...appended] })
        const model = options.policies(provider.stream(stepRequest)).pipe(Stream.mapChunks((chunk) => {
          collector.add(chunk)
          return chunk
        }))
        const after: Events = Stream.suspend(() => {
          const generation = collector.generation()
          if (generation === undefined) return Stream.fail(disconnected(provider.name))
          if (generation.usage !== undefined) {
            inputTokens += generation.usage.inputTokens
            outputTokens += generation.usage.outputTokens
          }
          const invalid = appendChecked(provider.name, appended, Provider.toMessages(generation))
          if (invalid !== undefined) return Stream.fail(invalid)
          const calls = generation.toolCalls
          if (calls.length === 0) {
            steps.push({ step: n, generation, toolResults: [] })
            return Stream.make(stepFinish(n, generation), turnEnd("finished"))
          }
          const results: Array<Executed | undefined> = new Array(calls.length)
          const run = (call: ChatRequest.ToolCall, index: number) =>
            Effect.map(execute(byName, call, n, { timeout: options.toolTimeout }), (executed) => {
              results[index] = executed
              return executed.event
            })
          // One call (the common case) runs without the concurrent machinery.
          const ran: Events = calls.length === 1
            ? Stream.fromEffect(run(calls[0]!, 0))
            : Stream.fromIterable(calls.map((call, index) => ({ call, index }))).pipe(
              Stream.mapEffect(({ call, index }) => run(call, index), { concurrency: options.concurrency, unordered: true })
            )
          return Stream.concat(
            ran,
            Stream.suspend(() => {
              // Results go back in the order of the calls, whatever order they ended in.
              const done = results as Array<Executed>
              const invalidResult = appendChecked(provider.name, appended, done.map((executed) => executed.message))
              if (invalidResult !== undefined) return Stream.fail(invalidResult)
              steps.push({ step: n, generation, toolResults: done.map((executed) => executed.event) })
              return Stream.fromIterable(finished(n, generation))
            })
          )
        })
        return Stream.make<[AgentEvent.AgentEvent]>({ _tag: "StepStart", step: n }).pipe(
          Stream.concat(model),
          Stream.concat(after)
        )
      }

      // Steps run one after another at one depth: each step's stream (and
      // its provider connection) is closed before the next is pulled.
      const numbers = Stream.repeatEffectOption(Effect.suspend(() => {
        const n = next
        if (n === undefined) return Effect.fail(Option.none())
        next = undefined
        return Effect.succeed(n)
      }))
      return Stream.flatMap(numbers, step)
    }
  ))
