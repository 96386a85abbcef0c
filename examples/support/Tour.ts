/**
 * What every single-provider example does once it has made its provider:
 * stream one answer and print it as it arrives, then stop reading a second
 * answer after 5 events and show, from the ledger, that its connection was
 * released at that moment.
 */
import { Ledger } from "@streamvisor/core"
import type { Provider } from "@streamvisor/core"
import { Console, Effect, Stream } from "effect"
import { printEvents } from "./Print.js"

export const tour = (provider: Provider.Provider, model: string) =>
  Effect.gen(function*() {
    // 1. A whole answer, printed as it streams.
    yield* Console.log(`${provider.name} / ${model}:`)
    yield* provider.stream({
      model,
      maxTokens: 200,
      system: "You are brief.",
      messages: [{ role: "user", content: "Say hello in one sentence." }]
    }).pipe(printEvents)

    // 2. Stop reading early. `Stream.take(5)` ends the stream after 5 events;
    //    closing the stream's scope aborts the request and releases the
    //    connection before `runCollect` returns.
    const firstEvents = yield* provider.stream({
      model,
      maxTokens: 500,
      messages: [{ role: "user", content: "Count from 1 to 100, one number per line." }]
    }).pipe(Stream.take(5), Stream.runCollect)
    const ledger = yield* Ledger.snapshot
    yield* Console.log(`\ntook ${firstEvents.length} events and stopped reading; live streams now: ${ledger.live.length}`)
  })
