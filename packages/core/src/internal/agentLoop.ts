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
import type * as Chunk from "effect/Chunk"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import type * as AgentEvent from "../AgentEvent.js"
import type * as ChatRequest from "../ChatRequest.js"
import type { LlmError } from "../LlmError.js"
import * as Provider from "../Provider.js"
import type * as StreamEvent from "../StreamEvent.js"
import type { ToolError, ToolTimeout } from "../ToolError.js"
import { execute, type Executed, type RunnableTool } from "./toolCall.js"

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

/** @internal */
export const loop = (
  provider: Provider.Provider,
  request: ChatRequest.Input,
  tools: ReadonlyArray<RunnableTool>,
  options: LoopOptions
): Events =>
  Stream.suspend(() => {
    const byName = new Map(tools.map((tool) => [tool.name, tool]))
    const definitions = [...(request.tools ?? []), ...tools.map((tool) => tool.definition)]
    const appended: Array<ChatRequest.Message> = []
    const steps: Array<StepResult> = []
    let inputTokens = 0
    let outputTokens = 0

    const turnEnd = (reason: AgentEvent.TurnEndReason): AgentEvent.TurnEnd => ({
      _tag: "TurnEnd",
      reason,
      steps: steps.length,
      text: steps.at(-1)?.generation.text ?? "",
      messages: appended.slice(),
      usage: { inputTokens, outputTokens }
    })

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

    const step = (n: number): Events => {
      // The step's events, kept by chunk (no copy per event) to fold into a
      // Generation once the stream has ended. Tapped after the policies, so
      // only what reached the consumer counts (a retried attempt does not).
      const chunks: Array<Chunk.Chunk<StreamEvent.StreamEvent>> = []
      const model = options.policies(
        provider.stream({ ...request, tools: definitions, messages: [...request.messages, ...appended] })
      ).pipe(Stream.mapChunks((chunk) => {
        chunks.push(chunk)
        return chunk
      }))
      const after: Events = Stream.unwrap(Effect.map(
        Effect.suspend(() => Provider.collect(provider.name, Stream.fromChunks(...chunks))),
        (generation) => {
          chunks.length = 0
          if (generation.usage !== undefined) {
            inputTokens += generation.usage.inputTokens
            outputTokens += generation.usage.outputTokens
          }
          appended.push(...Provider.toMessages(generation))
          const calls = generation.toolCalls
          if (calls.length === 0) {
            steps.push({ step: n, generation, toolResults: [] })
            return Stream.make(stepFinish(n, generation), turnEnd("finished"))
          }
          const results: Array<Executed | undefined> = new Array(calls.length)
          const run = Stream.fromIterable(calls.map((call, index) => ({ call, index }))).pipe(
            Stream.mapEffect(({ call, index }) =>
              Effect.map(execute(byName, call, n, { timeout: options.toolTimeout }), (executed) => {
                results[index] = executed
                return executed.event
              }), { concurrency: options.concurrency, unordered: true })
          )
          const next: Events = Stream.suspend(() => {
            // Results go back in the order of the calls, whatever order they ended in.
            const done = results as Array<Executed>
            for (const executed of done) appended.push(executed.message)
            steps.push({ step: n, generation, toolResults: done.map((executed) => executed.event) })
            const finished = Stream.make(stepFinish(n, generation))
            if (options.stopWhen.some((condition) => condition(steps))) {
              return Stream.concat(finished, Stream.make(turnEnd("stop_condition")))
            }
            if (n >= options.maxSteps) return Stream.concat(finished, Stream.make(turnEnd("max_steps")))
            return Stream.concat(finished, step(n + 1))
          })
          return Stream.concat(run, next)
        }
      ))
      return Stream.make<[AgentEvent.AgentEvent]>({ _tag: "StepStart", step: n }).pipe(
        Stream.concat(model),
        Stream.concat(after)
      )
    }
    return step(1)
  })
