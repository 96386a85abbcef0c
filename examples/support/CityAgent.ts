/**
 * The small agent of `agent.ts` and `agent-session.ts`: two tools (a lookup
 * over a local table of cities and a calculator) and one that waits for an
 * approval that never comes (to show a turn cancelled while a tool runs),
 * their handlers as a Layer, the fake server's scripted steps, and how a
 * turn's `AgentEvent`s are printed.
 */
import { type AgentEvent, Tool, Toolkit } from "@streamvisor/core"
import { Script } from "@streamvisor/testkit"
import { Console, Deferred, Effect, Schema } from "effect"

// ---------------------------------------------------------------------------
// The tools: definitions with effect/Schema, handlers as Effects in a Layer.
// ---------------------------------------------------------------------------

const cities: Record<string, { readonly country: string; readonly population: number }> = {
  paris: { country: "France", population: 2_102_650 },
  lyon: { country: "France", population: 522_250 },
  berlin: { country: "Germany", population: 3_596_999 }
}

export const Lookup = Tool.make("lookup_city", {
  description: "Look a city up in the local table: its country and population",
  parameters: { city: Schema.String },
  success: Schema.Struct({ city: Schema.String, country: Schema.String, population: Schema.Number }),
  failure: Schema.Struct({ unknownCity: Schema.String })
})

export const Calculator = Tool.make("calculator", {
  description: "Apply an arithmetic operation to two numbers",
  parameters: { op: Schema.Literal("add", "subtract", "multiply", "divide"), a: Schema.Number, b: Schema.Number },
  success: Schema.Number
})

export const Wait = Tool.make("wait_for_approval", { description: "Wait for a human to approve (never comes here)" })

export const tools = Toolkit.make(Lookup, Calculator, Wait)

/** The handlers; `waiting` is completed when `wait_for_approval` starts waiting. */
export const toolsLayer = (waiting: Deferred.Deferred<void>) =>
  Toolkit.toLayer(tools, {
    lookup_city: ({ city }) => {
      const found = cities[city.toLowerCase()]
      return found === undefined ? Effect.fail({ unknownCity: city }) : Effect.succeed({ city, ...found })
    },
    calculator: ({ a, b, op }) =>
      Effect.succeed(op === "add" ? a + b : op === "subtract" ? a - b : op === "multiply" ? a * b : a / b),
    wait_for_approval: () =>
      Effect.acquireRelease(
        Effect.zipRight(Deferred.succeed(waiting, undefined), Console.log("\n  [approval] waiting…")),
        () => Console.log("  [approval] finalizer ran: the wait was released")
      ).pipe(Effect.zipRight(Effect.never), Effect.scoped)
  })

// ---------------------------------------------------------------------------
// The fake server's steps (a real model decides for itself with --live)
// ---------------------------------------------------------------------------

/** "Twice the population of <city>": look it up, multiply, answer. */
export const twiceThePopulation = (city: string, population: number, answer: string): ReadonlyArray<Script.Script> => [
  Script.make([Script.textEvent(`Let me look ${city} up.`), Script.toolCallEvent({ name: "lookup_city", arguments: { city } })]),
  Script.make([Script.toolCallEvent({ name: "calculator", arguments: { op: "multiply", a: population, b: 2 } })]),
  Script.text(answer.match(/\S+\s*/g) ?? [], { delayMs: 5 })
]

/** The model asks for an approval that never comes. */
export const askForApproval: Script.Script = Script.make([Script.toolCallEvent({ name: "wait_for_approval", arguments: {} })])

// ---------------------------------------------------------------------------
// Printing a turn's events
// ---------------------------------------------------------------------------

export const print = (event: AgentEvent.AgentEvent): Effect.Effect<void> =>
  Effect.sync(() => {
    switch (event._tag) {
      case "StepStart":
        process.stdout.write(`step ${event.step}: `)
        break
      case "TextDelta":
        process.stdout.write(event.text)
        break
      case "ToolCallEnd":
        process.stdout.write(`\n  → ${event.name}(${JSON.stringify(event.arguments)})`)
        break
      case "ToolResult":
        process.stdout.write(
          `\n  ← ${event.name}: ${event.outcome} ${JSON.stringify(event.result ?? event.error)} (${event.durationMs.toFixed(1)} ms)`
        )
        break
      case "StepFinish":
        process.stdout.write(`\n  (step ${event.step} finished: ${event.finish}, ${event.toolCalls} tool call(s))\n`)
        break
      case "TurnEnd":
        process.stdout.write(
          `turn ended (${event.reason}) after ${event.steps} steps; ${event.messages.length} messages to commit: ` +
            `${event.messages.map((m) => m.role).join(", ")}\n`
        )
        break
    }
  })
