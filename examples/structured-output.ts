/**
 * Typed answers: `StructuredOutput.generateObject` asks for JSON matching an
 * `effect/Schema` and returns the decoded value; `streamObject` shows the
 * object as it grows, then the decoded value. On Anthropic the format goes
 * through a forced tool (its only structured-output mechanism); on Ollama it
 * is the `format` field. An answer that does not match fails with the typed
 * `InvalidOutput`, carrying the text and the Schema's message.
 *
 *   npx tsx examples/structured-output.ts                                   # embedded fake server
 *   ANTHROPIC_API_KEY=sk-ant-… npx tsx examples/structured-output.ts --live  # the real API
 */
import { StructuredOutput } from "@streamvisor/core"
import { Script } from "@streamvisor/testkit"
import { Console, Effect, Schema, Stream } from "effect"
import { Backend, runMain } from "./support/Backend.js"

const Ticket = Schema.Struct({
  title: Schema.String,
  severity: Schema.Literal("low", "medium", "high"),
  tags: Schema.Array(Schema.String)
}).annotations({ identifier: "Ticket" })

const ask = (model: string) => ({
  model,
  maxTokens: 400,
  messages: [{ role: "user" as const, content: "File a ticket: checkout fails with a 500 since this morning." }]
})

const program = Effect.gen(function*() {
  const backend = yield* Backend
  const claude = backend.provider("anthropic")
  const ticket = { title: "Checkout returns 500", severity: "high", tags: ["checkout", "outage"] }

  // 1. The decoded value, typed as Ticket.
  backend.server.setScript(Script.json(ticket, { chunks: 4 }))
  const value = yield* StructuredOutput.generateObject(claude, ask(backend.model("anthropic")), Ticket)
  yield* Console.log(`1. generateObject: ${value.severity} — ${value.title} [${value.tags.join(", ")}]`)

  // 2. The object as it grows, on Ollama (its native `format`): the JSON
  //    arrives as text deltas, each batch parsed once.
  const json = JSON.stringify(ticket)
  backend.server.setScript(Script.text([json.slice(0, 12), json.slice(12, 40), json.slice(40, 62), json.slice(62)], { delayMs: 10 }))
  yield* StructuredOutput.streamObject(backend.provider("ollama"), ask(backend.model("ollama")), Ticket).pipe(
    Stream.runForEach((event) =>
      event._tag === "PartialObject"
        ? Console.log(`2. partial: ${JSON.stringify(event.partial)}`)
        : Console.log(`2. complete: ${JSON.stringify(event.value)} (finish: ${event.finish.reason})`)
    )
  )

  // 3. An answer that does not match: InvalidOutput, never a defect.
  if (!backend.isLive("anthropic")) {
    backend.server.setScript(Script.json({ title: "Checkout returns 500", severity: "urgent", tags: [] }))
    const error = yield* Effect.flip(StructuredOutput.generateObject(claude, ask(backend.model("anthropic")), Ticket))
    yield* Console.log(`3. ${error._tag}: ${error.message.split("\n").map((line) => line.trim()).join(" ")}`)
    if (error._tag === "InvalidOutput") yield* Console.log(`   the text was: ${error.text}`)
  }
})

runMain(program)
