/**
 * The local supervisor on the embedded store across a process restart: a
 * supervisor on a SQLite file runs a session (the real Ollama adapter over
 * FakeLlmServer), dies with a turn in flight and two queued, and its store is
 * closed; a new supervisor on a new store on the same file resumes the session
 * with every committed turn, numbering on, and nothing of what was in flight
 * or queued (queued messages live in memory only). After each supervisor: no
 * response in flight at the server, no live stream in the ledger.
 */
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { SqliteSessionStore } from "@streamvisor/cluster/sqlite"
import { Ledger, type StreamEvent } from "@streamvisor/core"
import { Ollama } from "@streamvisor/ollama"
import { SessionStore, Supervisor } from "@streamvisor/supervisor"
import { FakeLlmServer, Script } from "@streamvisor/testkit"
import { Chunk, Effect, Logger, LogLevel, Option, Stream } from "effect"

let server: FakeLlmServer.Server
let dir: string

beforeAll(async () => {
  server = await FakeLlmServer.start()
  dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "streamvisor-restart-"))
})
afterAll(async () => {
  await server.close()
  Fs.rmSync(dir, { recursive: true, force: true })
})

type Wire = { readonly role: string; readonly content: string }
const messagesOf = (request: FakeLlmServer.RecordedRequest) => (request.body as { messages: ReadonlyArray<Wire> }).messages

const script: Script.ScriptFn = (request) => {
  const messages = messagesOf(request)
  const text = messages[messages.length - 1].content
  if (text === "stuck") return Script.text(["re: ", "stu"], { fault: { type: "hang", afterEvents: 1 } })
  return Script.text(["re: ", text])
}

/** One process: a store on `filename` and a supervisor on it, both closed at the end; then the leak checks. */
const runProcess = <A, E>(filename: string, body: (supervisor: Supervisor.Supervisor) => Effect.Effect<A, E, never>) => {
  const ledger = Ledger.make()
  return Effect.gen(function*() {
    const store = yield* SessionStore.SessionStore
    const supervisor = yield* Supervisor.make({ name: "restart", store, shutdownTimeout: "100 millis" })
    return yield* body(supervisor)
  }).pipe(
    Effect.scoped,
    Effect.provide(SqliteSessionStore.layer({ filename })),
    Effect.tap(() => Effect.promise(() => server.waitFor((s) => s.inflight === 0, { timeoutMs: 1_000 }))),
    Effect.tap(() => Effect.sync(() => expect(ledger.snapshot().live).toEqual([]))),
    Effect.provideService(Ledger.Ledger, ledger),
    Logger.withMinimumLogLevel(LogLevel.Warning)
  )
}

const text = (events: Chunk.Chunk<StreamEvent.StreamEvent>) =>
  Chunk.toReadonlyArray(events).flatMap((e) => (e._tag === "TextDelta" ? [e.text] : [])).join("")

describe("a restarted process on the same SQLite file", () => {
  it.live("resumes every committed turn and nothing of the turn in flight or the lost queue", () =>
    Effect.gen(function*() {
      server.reset()
      server.setScript(script)
      const filename = Path.join(dir, "sessions.db")
      const provider = Ollama.make({ host: server.baseUrls.ollama })

      yield* runProcess(filename, (supervisor) =>
        Effect.gen(function*() {
          const ref = yield* supervisor.spawn({ id: "alice", provider, model: "llama3", system: "Be brief.", maxTurns: 10 })
          expect(text(yield* Stream.runCollect(ref.send("one")))).toBe("re: one")
          expect(text(yield* Stream.runCollect(ref.send("two")))).toBe("re: two")
          yield* Effect.forkDaemon(Stream.runDrain(ref.send("stuck")))
          for (let i = 0; i < 200 && (yield* ref.info).status !== "streaming"; i++) yield* Effect.sleep("5 millis")
          expect((yield* ref.info).status).toBe("streaming")
          expect(yield* ref.tell("lost a")).toBe(4)
          expect(yield* ref.tell("lost b")).toBe(5)
        }))

      const resumed = yield* runProcess(filename, (supervisor) =>
        Effect.gen(function*() {
          const ref = yield* supervisor.spawn({ id: "alice", provider })
          const history = yield* ref.history
          expect((yield* ref.state).nextTurn).toBe(3)
          const before = server.requests.length
          expect(text(yield* Stream.runCollect(ref.send("three")))).toBe("re: three")
          expect(messagesOf(server.requests[before]).map((m) => m.content)).toEqual([
            "Be brief.", "one", "re: one", "two", "re: two", "three"
          ])
          return history
        }))
      expect(resumed).toEqual([
        { role: "user", content: "one" },
        { role: "assistant", content: "re: one" },
        { role: "user", content: "two" },
        { role: "assistant", content: "re: two" }
      ])

      // what a third process would find
      const stored = yield* Effect.flatMap(SessionStore.SessionStore, (store) => store.load("alice")).pipe(
        Effect.provide(SqliteSessionStore.layer({ filename })),
        Effect.scoped
      )
      const session = Option.getOrThrow(stored)
      expect(session).toMatchObject({ provider: "ollama", model: "llama3", system: "Be brief.", maxTurns: 10, lastTurn: 3 })
      expect(session.turns.map((t) => t.turn)).toEqual([1, 2, 3])
      expect(JSON.stringify(session.turns)).not.toMatch(/stuck|lost/)
    }))
})
