/**
 * A small measurement, not a test: first-event latency of a turn through the
 * embedded cluster (one runner, SQLite `:memory:`, the entity, the store's
 * commit) against the local supervisor (`Sessions.layerLocal`, memory), both
 * on the same FakeLlmServer; then the heap an idle session entity costs.
 *
 *   node --expose-gc --import tsx packages/cluster/test/support/bench.ts
 *
 * Sequential turns on one session, after 50 warm-up turns; medians and p95
 * of 300. Heap: 1000 sessions created and sent one turn each (so each has an
 * activated entity holding its cache), GC before and after, divided by 1000.
 */
import { Sessions } from "@streamvisor/supervisor"
import { FakeLlmServer, Script } from "@streamvisor/testkit"
import { Context, Effect, Layer, Stream } from "effect"
import { ClusterSessions } from "../../src/index.js"
import { lastUser, pool } from "./Cluster.js"

const TURNS = 300
const WARMUP = 50
const IDLE = 1000

const server = await FakeLlmServer.start()
server.setScript((request) => Script.text(["re: ", lastUser(request)]))
const http = pool(server)
const providers = Sessions.layerProviders({ ollama: http.provider() })

const quantile = (values: ReadonlyArray<number>, q: number) => [...values].sort((a, b) => a - b)[Math.floor(q * (values.length - 1))]
// Three full collections: one left garbage from the latency loop behind (a negative delta).
const gc = () => [1, 2, 3].forEach(() => (globalThis as { gc?: () => void }).gc?.())

const measure = (name: string, layer: Layer.Layer<Sessions.Sessions, unknown>) =>
  Effect.gen(function*() {
    const sessions = Context.get(yield* Layer.build(layer), Sessions.Sessions)
    const chat = yield* sessions.create({ id: "bench", provider: "ollama", model: "m" })
    const firstEvent: Array<number> = []
    const whole: Array<number> = []
    for (let i = 0; i < WARMUP + TURNS; i++) {
      const started = performance.now()
      let first = 0
      yield* Stream.runForEach(chat.send(`turn ${i}`), () => Effect.sync(() => {
        if (first === 0) first = performance.now() - started
      }))
      if (i >= WARMUP) {
        firstEvent.push(first)
        whole.push(performance.now() - started)
      }
    }
    gc()
    const before = process.memoryUsage().heapUsed
    yield* Effect.forEach(Array.from({ length: IDLE }, (_, i) => `idle${i}`), (id) =>
      Effect.zipRight(
        sessions.create({ id, provider: "ollama", model: "m" }),
        Stream.runDrain(sessions.get(id).send("hi"))
      ), { concurrency: 20, discard: true })
    gc()
    const perSession = (process.memoryUsage().heapUsed - before) / IDLE
    const ms = (v: number) => `${v.toFixed(2)} ms`
    console.log(
      `${name}: first event median ${ms(quantile(firstEvent, 0.5))}, p95 ${ms(quantile(firstEvent, 0.95))}; ` +
        `whole turn median ${ms(quantile(whole, 0.5))}; heap per idle session ${(perSession / 1024).toFixed(1)} KiB ` +
        `(${IDLE} sessions, one turn each)`
    )
  }).pipe(Effect.scoped)

await Effect.runPromise(Effect.gen(function*() {
  if ((globalThis as { gc?: unknown }).gc === undefined) console.log("(run with node --expose-gc for the heap figure)")
  yield* measure("local supervisor", Sessions.layerLocal().pipe(Layer.provide(providers)))
  yield* measure(
    "embedded cluster (SQLite :memory:)",
    ClusterSessions.layerEmbedded({ filename: ":memory:", maxIdleTime: "1 hour" }).pipe(Layer.provide(providers))
  )
}))
await http.agent.close()
await server.close()
