/**
 * Sessions as cluster entities on one runner (the embedded default: SQLite,
 * no server), with the real Ollama adapter against FakeLlmServer: send, tell,
 * history and stop; turns committed and resumed after the runner is rebuilt
 * on the same file; a failed turn commits nothing. After each case the server
 * has no response in flight and the ledger no live stream.
 */
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Ledger, LlmError, type StreamEvent } from "@streamvisor/core"
import { Sessions, SessionStore } from "@streamvisor/supervisor"
import { FakeLlmServer, Script } from "@streamvisor/testkit"
import { Chunk, Context, Effect, Exit, Layer, Scope, Stream } from "effect"
import { ClusterSessions } from "../src/index.js"
import { lastUser, pool, type Pool } from "./support/Cluster.js"

let server: FakeLlmServer.Server
let dir: string
let http: Pool

beforeAll(async () => {
  server = await FakeLlmServer.start()
  dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "streamvisor-cluster-"))
})
afterAll(async () => {
  await server.close()
  Fs.rmSync(dir, { recursive: true, force: true })
})

/** "re: <text>"; "boom" fails with HTTP 500 after headers; "slow…" takes ~150 ms. */
const script: Script.ScriptFn = (request) => {
  const text = lastUser(request)
  if (text === "boom") return Script.text([], { fault: { type: "status", status: 500 } })
  if (text.startsWith("slow")) return Script.text(["re: ", text], { firstDelayMs: 100, delayMs: 25 })
  return Script.text(["re: ", text])
}

let files = 0
const runner = (filename: string) =>
  ClusterSessions.layerEmbedded({ filename }).pipe(
    Layer.provide(Sessions.layerProviders({ ollama: http.provider() }))
  )

const text = (events: Chunk.Chunk<StreamEvent.StreamEvent>) =>
  Chunk.toArray(events).flatMap((event) => event._tag === "TextDelta" ? [event.text] : []).join("")

/** Runs `body` on a fresh runner; afterwards nothing is in flight and no stream is live. */
const scenario = <A, E>(filename: string, body: Effect.Effect<A, E, Sessions.Sessions | SessionStore.SessionStore>) =>
  Effect.gen(function*() {
    const result = yield* body.pipe(Effect.provide(runner(filename)))
    yield* Effect.promise(() => server.waitFor((s) => s.inflight === 0, { timeoutMs: 2_000 }))
    expect(Ledger.global.snapshot().live).toEqual([])
    return result
  })

describe("ClusterSessions.layerEmbedded", () => {
  beforeAll(() => {
    server.setScript(script)
    http = pool(server)
  })
  afterAll(() => http.agent.close())

  it.live("send streams the answer and commits it; history and a rebuilt runner see every turn", () =>
    Effect.gen(function*() {
      const filename = Path.join(dir, `s${++files}.db`)
      yield* scenario(
        filename,
        Effect.gen(function*() {
          const sessions = yield* Sessions.Sessions
          const chat = yield* sessions.create({ id: "a", provider: "ollama", model: "m", system: "be brief" })
          expect(text(yield* Stream.runCollect(chat.send("one")))).toBe("re: one")
          expect(text(yield* Stream.runCollect(chat.send("two")))).toBe("re: two")
          expect((yield* chat.history).map((m) => m.content)).toEqual(["one", "re: one", "two", "re: two"])
          const again = yield* Effect.exit(sessions.create({ id: "a", provider: "ollama", model: "m" }))
          expect(Exit.isFailure(again) && JSON.stringify(again.cause)).toContain("AlreadyExists")
        })
      )
      // A new runner on the same file: the session resumes, numbering on from turn 2.
      yield* scenario(
        filename,
        Effect.gen(function*() {
          const chat = (yield* Sessions.Sessions).get("a")
          expect((yield* chat.history).length).toBe(4)
          expect(text(yield* Stream.runCollect(chat.send("three")))).toBe("re: three")
          const stored = yield* (yield* SessionStore.SessionStore).load("a")
          expect(stored._tag === "Some" && stored.value.turns.map((t) => t.turn)).toEqual([1, 2, 3])
          // the provider was sent the whole history and the system prompt
          const body = server.requests[server.requests.length - 1].body as { messages: Array<{ content: string }> }
          expect(body.messages.map((m) => m.content)).toEqual(["be brief", "one", "re: one", "two", "re: two", "three"])
        })
      )
    }))

  it.live("a failed turn fails with its LlmError, rebuilt on this side, and commits nothing", () =>
    scenario(
      Path.join(dir, `s${++files}.db`),
      Effect.gen(function*() {
        const sessions = yield* Sessions.Sessions
        const chat = yield* sessions.create({ id: "f", provider: "ollama", model: "m" })
        const failed = yield* Effect.flip(Stream.runCollect(chat.send("boom")))
        expect(failed).toBeInstanceOf(LlmError.ServerError)
        expect(failed._tag === "ServerError" && failed.retryable).toBe(true)
        expect(yield* chat.history).toEqual([])
        expect(text(yield* Stream.runCollect(chat.send("after")))).toBe("re: after")
        const stored = yield* (yield* SessionStore.SessionStore).load("f")
        // turn 1 failed and used its number; turn 2 committed after turn 0
        expect(stored._tag === "Some" && stored.value.turns.map((t) => t.turn)).toEqual([2])
      })
    ))

  it.live("tell runs in order with sends; stop drops queued turns; unknown ids are NotFound", () =>
    scenario(
      Path.join(dir, `s${++files}.db`),
      Effect.gen(function*() {
        const sessions = yield* Sessions.Sessions
        const chat = yield* sessions.create({ id: "t", provider: "ollama", model: "m" })
        expect(yield* chat.tell("slow first")).toBe(1)
        expect(text(yield* Stream.runCollect(chat.send("second")))).toBe("re: second")
        expect((yield* chat.history).map((m) => m.content)).toEqual(["slow first", "re: slow first", "second", "re: second"])

        const running = yield* Effect.fork(Stream.runCollect(chat.send("slow third")))
        yield* Effect.promise(() => server.waitFor((s) => s.inflight === 1, { timeoutMs: 2_000 }))
        const queued = yield* Effect.fork(Stream.runCollect(chat.send("fourth")))
        yield* chat.stop
        expect(text(yield* running.await.pipe(Effect.flatten))).toBe("re: slow third")
        const dropped = yield* Effect.flip(queued.await.pipe(Effect.flatten))
        expect(dropped._tag).toBe("SessionStopped")
        const refused = yield* Effect.flip(Stream.runCollect(chat.send("fifth")))
        expect(refused._tag).toBe("SessionStopped")
        expect((yield* chat.history).length).toBe(6)

        const missing = yield* Effect.flip(Stream.runCollect(sessions.get("nobody").send("hi")))
        expect(missing._tag === "SessionUnavailable" && missing.reason).toBe("NotFound")
      })
    ))

  it.live("closing the runner lets the send in flight finish and commit before the cluster shuts down", () =>
    Effect.gen(function*() {
      const filename = Path.join(dir, `s${++files}.db`)
      const scope = yield* Scope.make()
      const sessions = Context.get(yield* Layer.buildWithScope(runner(filename), scope), Sessions.Sessions)
      const chat = yield* sessions.create({ id: "d", provider: "ollama", model: "m" })
      const fiber = yield* Effect.fork(Stream.runCollect(chat.send("slow drain")))
      yield* Effect.promise(() => server.waitFor((s) => s.inflight === 1, { timeoutMs: 2_000 }))
      yield* Scope.close(scope, Exit.void)
      // Without the drain the cluster interrupts the request and the send never ends here.
      const answer = yield* fiber.await.pipe(
        Effect.flatten,
        Effect.timeoutFail({ duration: "5 seconds", onTimeout: () => new Error("the send in flight did not end in 5 s") })
      )
      expect(text(answer)).toBe("re: slow drain")
      yield* scenario(
        filename,
        Effect.gen(function*() {
          expect((yield* (yield* Sessions.Sessions).get("d").history).map((m) => m.content)).toEqual([
            "slow drain",
            "re: slow drain"
          ])
        })
      )
    }))

  it.live("interrupting send cancels the turn, releases the stream and commits nothing", () =>
    scenario(
      Path.join(dir, `s${++files}.db`),
      Effect.gen(function*() {
        const sessions = yield* Sessions.Sessions
        const chat = yield* sessions.create({ id: "c", provider: "ollama", model: "m" })
        const fiber = yield* Effect.fork(Stream.runCollect(chat.send("slow cut")))
        yield* Effect.promise(() => server.waitFor((s) => s.inflight === 1, { timeoutMs: 2_000 }))
        yield* fiber.interruptAsFork(fiber.id())
        yield* Effect.promise(() => server.waitFor((s) => s.inflight === 0, { timeoutMs: 2_000 }))
        expect(yield* chat.history).toEqual([])
        expect(text(yield* Stream.runCollect(chat.send("next")))).toBe("re: next")
      })
    ))
})
