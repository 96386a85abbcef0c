/**
 * The supervisor without Effect: `@streamvisor/supervisor/promise`. Sessions
 * are plain objects, `send` is an `AsyncIterable` (`break` or an
 * `AbortSignal` cancels the turn and releases its connection), errors are
 * thrown as typed errors, a session given `tools` (`async execute`) runs agent
 * turns whose steps `sendAgent` iterates, and `await using` shuts the
 * supervisor down.
 *
 *   node --import tsx examples/supervisor-promise.ts
 *   ANTHROPIC_API_KEY=sk-… node --import tsx examples/supervisor-promise.ts --live   # the real API
 */
import { Ledger } from "@streamvisor/core"
import { startSupervisor } from "@streamvisor/supervisor/promise"
import { Script } from "@streamvisor/testkit"
import { runMainAsync } from "./support/Backend.js"

const liveStreams = () => Ledger.global.snapshot().live.length

runMainAsync(async (backend) => {
  const live = backend.isLive("anthropic")
  let report
  {
    await using sup = await startSupervisor({ name: "promise-example", maxConcurrentStreams: 4, shutdownTimeout: "2 seconds" })
    const chat = await sup.spawn({ id: "alice", provider: backend.provider("anthropic"), model: backend.model("anthropic") })

    // 1. ask, and read the whole answer: the turn is committed to history
    let answer = ""
    for await (const event of chat.send("Say hello in one sentence.")) {
      if (event._tag === "TextDelta") answer += event.text
    }
    console.log(`1. ${answer}`)
    console.log(`   history: ${(await chat.history()).length} messages`)

    // 2. break early: the turn is cancelled, its connection released, history unchanged
    if (!live) backend.server.setScript(Script.text(300, { delayMs: 10 }))
    let count = 0
    for await (const _ of chat.send("Tell me a long story.")) if (++count === 5) break
    console.log(`2. broke out after ${count} events; live streams: ${liveStreams()}; history: ${(await chat.history()).length} messages`)

    // 3. an AbortSignal, e.g. a user pressing "stop" after 100 ms
    const controller = new AbortController()
    setTimeout(() => controller.abort(new Error("stopped by the user")), 100)
    try {
      for await (const _ of chat.send("Another long story.", { signal: controller.signal })) {
        // reading until the abort
      }
    } catch (error) {
      console.log(`3. aborted: ${(error as Error).message}; live streams: ${liveStreams()}`)
    }

    // 4. bad input is a typed error, thrown where it is given
    try {
      chat.send("")
    } catch (error) {
      console.log(`4. ${(error as { _tag: string })._tag}: ${(error as Error).message}`)
    }

    // 5. an agent session: tools with `async execute(args, { signal })`; `sendAgent` iterates the steps
    if (!live) {
      backend.server.enqueue(
        Script.make([Script.toolCallEvent({ name: "local_time", arguments: { city: "Paris" } })]),
        Script.text(["It is ", "09:30 ", "in Paris."])
      )
    }
    const agent = await sup.spawn({
      id: "clock",
      provider: backend.provider("anthropic"),
      model: backend.model("anthropic"),
      maxSteps: 3,
      toolTimeout: "5 seconds",
      tools: {
        local_time: {
          description: "The local time in a city",
          parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
          execute: async ({ city }: { city: string }) => (live ? new Date().toISOString() : `09:30 in ${city}`)
        }
      }
    })
    console.log("5. an agent session: What time is it in Paris?")
    for await (const event of agent.sendAgent("What time is it in Paris?")) {
      if (event._tag === "StepStart") process.stdout.write(`   step ${event.step}: `)
      if (event._tag === "TextDelta") process.stdout.write(event.text)
      if (event._tag === "ToolResult") process.stdout.write(`${event.name} → ${JSON.stringify(event.result)} (${event.outcome})`)
      if (event._tag === "StepFinish") process.stdout.write("\n")
      if (event._tag === "TurnEnd") console.log(`   turn ended (${event.reason}) after ${event.steps} steps`)
    }
    console.log(`   history: ${(await agent.history()).length} messages`)

    const snapshot = await sup.snapshot()
    console.log(`6. snapshot: ${snapshot.sessions.length} session(s), ${snapshot.liveStreams} live stream(s)`)
    report = await sup.close() // `await using` would close it here too; close() returns the report
  }
  console.log(`shutdown report: ${report.sessionsStopped} session(s) stopped, ${report.streamsLive} stream(s) live`)
})
