/**
 * `timeouts` and `retry`: two pipeable `Stream` policies.
 *
 *   npx tsx examples/timeouts-retry.ts
 *
 * The embedded fake server first hangs (never sends headers), then answers
 * 429 with `retry-after`, then streams. `timeouts` turns the hang into a
 * `Timeout { phase: "first-token" }` and releases that connection; `retry`
 * tries again (honouring `retry-after`) as long as no event has reached the
 * consumer. Then a stream stalls midway: the idle timeout ends it, and
 * `retry` does not retry, because the consumer already saw events.
 */
import { retry, timeouts } from "@streamvisor/core"
import { Script } from "@streamvisor/testkit"
import { Console, Effect, Schedule, Stream } from "effect"
import { Backend, runMain } from "./support/Backend.js"
import { printEvents } from "./support/Print.js"

const program = Effect.gen(function*() {
  const { model, provider, server } = yield* Backend
  const claude = provider("anthropic")
  const request = { model: model("anthropic"), messages: [{ role: "user" as const, content: "Hello?" }] }

  // 1. hang → 429 → a real answer. Each script is played once, in order.
  server.enqueue(
    { fault: { type: "hangBeforeHeaders" } },
    Script.status(429, { headers: { "retry-after": "0.3" } }),
    Script.text(["Third", " time", " lucky."])
  )
  yield* Console.log("1. a hang, a 429, then an answer:")
  yield* claude.stream(request).pipe(
    // at most 500 ms to the first event, 2 s between events, 30 s in all
    timeouts({ firstToken: 500, idle: "2 seconds", total: "30 seconds", provider: claude.name }),
    // see each failed attempt (retry hides them)
    Stream.tapError((error) => Console.log(`   attempt failed: ${error._tag} (${error.message})`)),
    // up to 3 more attempts, 100 ms apart unless `retry-after` says longer
    retry({ times: 3, schedule: Schedule.spaced("100 millis") }),
    printEvents
  )
  yield* Console.log(`   the server saw ${server.requests.length} requests`)

  // 2. A stream that stalls after 3 events. The idle timeout fails it; it is
  //    not retried, since its first events were already delivered.
  server.enqueue(Script.text(10, { delayMs: 10, fault: { type: "stall", afterEvents: 3 } }))
  yield* Console.log("\n2. a stream that stalls after 3 events:")
  yield* claude.stream(request).pipe(
    timeouts({ firstToken: 500, idle: 300, provider: claude.name }),
    retry({ times: 3 }),
    printEvents,
    Effect.catchTag("Timeout", (error) => Console.log(`\n   failed with Timeout (phase: ${error.phase}), not retried`))
  )
})

runMain(program, { fakeOnly: true })
