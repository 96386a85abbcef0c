import { Supervisor, Session } from "@streamvisor/supervisor"
import { Effect, Schedule, Stream } from "effect"
import type { Provider } from "@streamvisor/core"

declare const claude: Provider.Provider

const program = Effect.scoped(
  Effect.gen(function*() {
    const supervisor = yield* Supervisor.make({
      maxConcurrentStreams: 8,
      restart: "transient",
      maxRestarts: 3,
      window: "10 seconds",
      backoff: Schedule.exponential("200 millis"),
      shutdownTimeout: "5 seconds"
    })
    const chat = yield* supervisor.spawn({ id: "alice", provider: claude, model: "claude-sonnet-4-5" })
    yield* chat.send("Hello!").pipe(Stream.runForEach((event) => Effect.log(event)))
    return yield* chat.history
  })
)
export {}
