/**
 * The supervisor without Effect: `@streamvisor/supervisor/promise`. Sessions
 * are plain objects, `send` is an `AsyncIterable` (`break` or an
 * `AbortSignal` cancels the turn and releases its connection), errors are
 * thrown as typed errors, and `await using` shuts the supervisor down.
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

    const snapshot = await sup.snapshot()
    console.log(`5. snapshot: ${snapshot.sessions.length} session(s), ${snapshot.liveStreams} live stream(s)`)
    report = await sup.close() // `await using` would close it here too; close() returns the report
  }
  console.log(`shutdown report: ${report.sessionsStopped} session(s) stopped, ${report.streamsLive} stream(s) live`)
})
