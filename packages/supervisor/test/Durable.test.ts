/**
 * Sessions with a store, over real HTTP: the real Ollama adapter against
 * FakeLlmServer, the in-memory `SessionStore` shared between two supervisors
 * made one after the other (a process restart: nothing survives but the
 * store). Committed turns survive; failed, cancelled and queued ones leave
 * nothing; a commit that fails fails the turn, typed, and changes nothing.
 * After each case: no response in flight at the server, no socket, no live
 * stream in the ledger.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { FakeLlmServer, Script } from "@streamvisor/testkit"
import { Cause, Effect, Exit, Fiber, Option, Stream } from "effect"
import { type Session, SessionStore, type Supervisor } from "../src/index.js"
import { outcome, waitLive, withSupervisor } from "./support/Harness.js"
import * as Fake from "./support/Fake.js"
import * as Ollama from "./support/Ollama.js"

let server: FakeLlmServer.Server
let pool: Ollama.Pool

beforeAll(async () => {
  server = await FakeLlmServer.start()
})
afterAll(async () => {
  await server.close()
})

type Wire = { readonly role: string; readonly content: string }
type Body = { readonly model: string; readonly messages: ReadonlyArray<Wire>; readonly options?: { readonly temperature?: number } }

const body = (request: FakeLlmServer.RecordedRequest) => request.body as Body
const lastUser = (request: FakeLlmServer.RecordedRequest): string => {
  const messages = body(request).messages
  return messages[messages.length - 1].content
}

/** "re: <text>"; "broken…" disconnects after one event; "stuck…" hangs after one; "slow…" takes ~100 ms. */
const script: Script.ScriptFn = (request) => {
  const text = lastUser(request)
  if (text.startsWith("broken")) return Script.text(["re: ", "bro"], { fault: { type: "disconnect", afterEvents: 1 } })
  if (text.startsWith("stuck")) return Script.text(["re: ", "stu"], { fault: { type: "hang", afterEvents: 1 } })
  if (text.startsWith("slow")) return Script.text(["re: ", text], { firstDelayMs: 50, delayMs: 25 })
  return Script.text(["re: ", text])
}

/** One "process": a supervisor on `store`, checked clean when its scope closes. */
const process = <A, E>(
  options: Supervisor.Options,
  run: (supervisor: Supervisor.Supervisor) => Effect.Effect<A, E, any>
) => Effect.map(withSupervisor(options, (supervisor) => run(supervisor)), (r) => r.value)

/** A scenario on a fresh server state and pool; afterwards nothing in flight, no socket. */
const scenario = <A, E>(body: Effect.Effect<A, E, never>) =>
  Effect.gen(function*() {
    server.reset()
    server.setScript(script)
    pool = Ollama.pool(server)
    const result = yield* body
    yield* Effect.promise(() => server.waitFor((s) => s.inflight === 0, { timeoutMs: 1_000 }))
    yield* Effect.promise(() => pool.agent.close())
    yield* Effect.promise(() => server.waitFor((s) => s.open === 0, { timeoutMs: 1_000 }))
    return result
  })

const answer = (ref: Session.SessionRef, text: string) =>
  Effect.map(Stream.runCollect(ref.send(text)), (events) =>
    Array.from(events).flatMap((e) => (e._tag === "TextDelta" ? [e.text] : [])).join(""))

const stored = (store: SessionStore.SessionStore, id: string) =>
  Effect.map(store.load(id), (o) => Option.getOrThrowWith(o, () => new Error(`${id} is not stored`)))

const failure = (exit: Exit.Exit<unknown, unknown>): unknown =>
  Exit.isFailure(exit) ? Option.getOrUndefined(Cause.failureOption(exit.cause)) : undefined

const turn = (user: string) => [{ role: "user", content: user }, { role: "assistant", content: `re: ${user}` }] as const

describe("a supervisor with a store", () => {
  it.live("a new process resumes every committed turn (model, system, options, numbering) and nothing of the lost queue", () =>
    scenario(Effect.gen(function*() {
      const store = yield* SessionStore.makeMemory
      // process 1: two committed turns, then one stuck in flight and two queued behind it when it dies
      yield* process({ store, shutdownTimeout: "100 millis" }, (supervisor) =>
        Effect.gen(function*() {
          const ref = yield* supervisor.spawn({
            id: "alice",
            provider: pool.provider(),
            model: "llama3",
            system: "Be brief.",
            options: { temperature: 0.5 }
          })
          expect(yield* answer(ref, "one")).toBe("re: one")
          expect(yield* answer(ref, "two")).toBe("re: two")
          yield* Effect.forkDaemon(Stream.runDrain(ref.send("stuck")))
          yield* waitLive(Effect.map(ref.info, (i) => i.status === "streaming"), "turn 3 streaming")
          expect(yield* ref.tell("lost a")).toBe(4)
          expect(yield* ref.tell("lost b")).toBe(5)
          expect((yield* stored(store, "alice")).lastTurn).toBe(2)
        }))
      const before = yield* stored(store, "alice")
      expect(before.turns.map((t) => t.turn)).toEqual([1, 2])
      expect(before.turns.map((t) => t.messages)).toEqual([turn("one"), turn("two")])
      expect(before.turns[0].usage).toMatchObject({ inputTokens: expect.any(Number), outputTokens: expect.any(Number) })

      // process 2: the same store; spawn by id and provider only
      yield* process({ store }, (supervisor) =>
        Effect.gen(function*() {
          const ref = yield* supervisor.spawn({ id: "alice", provider: pool.provider() })
          expect(yield* ref.history).toEqual([...turn("one"), ...turn("two")])
          expect(yield* ref.state).toMatchObject({ model: "llama3", system: "Be brief.", nextTurn: 3 })
          expect((yield* ref.info).turns).toBe(2)
          const requestsBefore = server.requests.length
          expect(yield* answer(ref, "three")).toBe("re: three")
          const request = body(server.requests[requestsBefore])
          expect(request.model).toBe("llama3")
          expect(request.options?.temperature).toBe(0.5)
          expect(request.messages.map((m) => m.content)).toEqual([
            "Be brief.", "one", "re: one", "two", "re: two", "three"
          ])
          expect(yield* ref.tell("four")).toBe(4)
          yield* waitLive(Effect.map(ref.info, (i) => i.turns === 4), "turn 4 committed")
        }))
      const after = yield* stored(store, "alice")
      expect(after.turns.map((t) => t.turn)).toEqual([1, 2, 3, 4])
      expect(after.turns.flatMap((t) => t.messages).map((m) => (m as Wire).content)).not.toContain("lost a")
      expect(after.turns.flatMap((t) => t.messages).map((m) => (m as Wire).content)).not.toContain("stuck")
    })))

  it.live("a failed turn (server fault) and a cancelled turn commit nothing; numbering goes on past them", () =>
    scenario(Effect.gen(function*() {
      const store = yield* SessionStore.makeMemory
      yield* process({ store }, (supervisor) =>
        Effect.gen(function*() {
          const ref = yield* supervisor.spawn({ id: "bob", provider: pool.provider(), model: "m" })
          expect(yield* answer(ref, "hello")).toBe("re: hello")
          // turn 2: the server cuts the connection mid-answer
          const failed = yield* Effect.exit(answer(ref, "broken"))
          expect(Exit.isFailure(failed)).toBe(true)
          expect(outcome(failed)).not.toMatch(/CommitFailed|success/)
          // turn 3: the caller leaves after the first event
          yield* Stream.runDrain(Stream.take(ref.send("slow bye"), 1))
          expect(yield* ref.history).toEqual(turn("hello"))
          const session = yield* stored(store, "bob")
          expect(session.lastTurn).toBe(1)
          expect(session.turns.map((t) => t.turn)).toEqual([1])
          // turn 4 follows turn 1 in the store
          expect(yield* answer(ref, "again")).toBe("re: again")
          expect((yield* stored(store, "bob")).turns.map((t) => t.turn)).toEqual([1, 4])
          expect(server.stats().inflight).toBe(0)
        }))
    })))

  it.live("a commit that fails fails the turn with CommitFailed and changes nothing; a Conflict stops the session", () =>
    scenario(Effect.gen(function*() {
      const memory = yield* SessionStore.makeMemory
      let broken = false
      const store: SessionStore.SessionStore = {
        ...memory,
        commitTurn: (id, commit) =>
          broken
            ? Effect.fail(new SessionStore.SessionStoreError({ reason: "Backend", sessionId: id, detail: "disk full" }))
            : memory.commitTurn(id, commit)
      }
      yield* process({ store }, (supervisor) =>
        Effect.gen(function*() {
          const ref = yield* supervisor.spawn({ id: "carol", provider: pool.provider(), model: "m" })
          expect(yield* answer(ref, "one")).toBe("re: one")
          broken = true
          const exit = yield* Effect.exit(answer(ref, "two"))
          expect(outcome(exit)).toBe("CommitFailed")
          expect(failure(exit)).toMatchObject({ turn: 2, error: { reason: "Backend", detail: "disk full" } })
          expect(yield* ref.history).toEqual(turn("one"))
          expect((yield* ref.info).turns).toBe(1)
          broken = false
          expect(yield* answer(ref, "three")).toBe("re: three")
          expect(yield* ref.history).toEqual([...turn("one"), ...turn("three")])

          // another owner commits to "carol": this session's next commit is refused, and it stops
          yield* memory.commitTurn("carol", { after: 3, turn: 4, messages: [] })
          const stuck = yield* Effect.fork(Effect.exit(answer(ref, "slow four")))
          yield* waitLive(Effect.map(ref.info, (i) => i.status === "streaming"), "turn 5 streaming")
          const queued = yield* Effect.fork(Effect.exit(answer(ref, "six")))
          yield* waitLive(Effect.map(ref.info, (i) => i.pending === 1), "turn 6 queued")
          const conflicted = yield* Fiber.join(stuck)
          expect(outcome(conflicted)).toBe("CommitFailed")
          expect(failure(conflicted)).toMatchObject({ error: { reason: "Conflict", lastTurn: 4 } })
          const dropped = yield* Fiber.join(queued)
          expect(outcome(dropped)).toBe("SessionStopped")
          expect(failure(dropped)).toMatchObject({ reason: "conflict" })
          yield* waitLive(Effect.map(ref.info, (i) => i.status === "stopped"), "stopped")
          expect(yield* ref.history).toEqual([...turn("one"), ...turn("three")])
          expect(Option.isNone(yield* supervisor.get("carol"))).toBe(true)
        }))
      expect((yield* stored(memory, "carol")).turns.map((t) => t.turn)).toEqual([1, 3, 4])
    })))

  it.live("maxTurns trims history by whole turns, live and resumed alike", () =>
    scenario(Effect.gen(function*() {
      const store = yield* SessionStore.makeMemory
      const live = yield* process({ store }, (supervisor) =>
        Effect.gen(function*() {
          const ref = yield* supervisor.spawn({ id: "dave", provider: pool.provider(), model: "m", maxTurns: 2 })
          for (const text of ["a", "b", "c"]) yield* answer(ref, text)
          expect(yield* ref.history).toEqual([...turn("b"), ...turn("c")])
          const requestsBefore = server.requests.length
          yield* answer(ref, "d")
          // the request of turn 4 carries the two kept turns, then its own message
          expect(body(server.requests[requestsBefore]).messages.map((m) => m.content)).toEqual(["b", "re: b", "c", "re: c", "d"])
          return yield* ref.history
        }))
      expect(live).toEqual([...turn("c"), ...turn("d")])
      expect((yield* stored(store, "dave")).turns.map((t) => t.turn)).toEqual([3, 4])
      yield* process({ store }, (supervisor) =>
        Effect.gen(function*() {
          const ref = yield* supervisor.spawn({ id: "dave", provider: pool.provider(), maxTurns: 2 })
          expect(yield* ref.history).toEqual(live)
          yield* answer(ref, "e")
          expect(yield* ref.history).toEqual([...turn("d"), ...turn("e")])
        }))
    })))

  it.live("a resume with another provider, model or setting is refused, typed; nothing starts", () =>
    scenario(Effect.gen(function*() {
      const store = yield* SessionStore.makeMemory
      yield* process({ store }, (supervisor) =>
        Effect.gen(function*() {
          yield* supervisor.spawn({ id: "erin", provider: pool.provider(), model: "m", system: "s" })
          // running: the id is in use before the store is asked
          const inUse = yield* Effect.flip(supervisor.spawn({ id: "erin", provider: pool.provider() }))
          expect(inUse._tag).toBe("SessionIdInUse")
        }))
      yield* process({ store }, (supervisor) =>
        Effect.gen(function*() {
          const other = { ...pool.provider(), name: "not-ollama" }
          const provider = yield* Effect.flip(supervisor.spawn({ id: "erin", provider: other }))
          expect(provider).toMatchObject({ _tag: "ResumeMismatch", field: "provider", stored: "\"ollama\"" })
          const model = yield* Effect.flip(supervisor.spawn({ id: "erin", provider: pool.provider(), model: "x" }))
          expect(model).toMatchObject({ _tag: "ResumeMismatch", field: "model" })
          const system = yield* Effect.flip(supervisor.spawn({ id: "erin", provider: pool.provider(), system: "t" }))
          expect(system).toMatchObject({ _tag: "ResumeMismatch", field: "system" })
          const history = yield* Effect.flip(supervisor.spawn({ id: "erin", provider: pool.provider(), history: [] }))
          expect(history._tag).toBe("InvalidOptions")
          const fresh = yield* Effect.flip(supervisor.spawn({ id: "frank", provider: pool.provider() }))
          expect(fresh._tag).toBe("InvalidOptions")
          expect((yield* supervisor.snapshot).sessions).toEqual([])
          // the same settings resume
          const ref = yield* supervisor.spawn({ id: "erin", provider: pool.provider(), model: "m", system: "s" })
          expect(yield* ref.history).toEqual([])
        }))
      expect((yield* store.list).map((s) => s.id)).toEqual(["erin"])
    })))
})

describe("maxTurns without a store", () => {
  it.effect("memory keeps the newest turns whole; a saved history is trimmed at spawn by the same rule", () =>
    Effect.gen(function*() {
      const fake = Fake.make()
      yield* withSupervisor({}, (supervisor) =>
        Effect.gen(function*() {
          const ref = yield* supervisor.spawn({ id: "m", provider: fake.provider, model: "m", maxTurns: 1 })
          yield* Stream.runDrain(ref.send("a"))
          yield* Stream.runDrain(ref.send("b"))
          expect(yield* ref.history).toEqual(turn("b"))
          const tool = [
            { role: "user", content: "x" },
            { role: "assistant", content: "", toolCalls: [{ id: "c1", name: "f", arguments: {} }] },
            { role: "tool", toolCallId: "c1", name: "f", content: "42" },
            { role: "assistant", content: "re: x" }
          ] as const
          const saved = yield* supervisor.spawn({
            id: "s",
            provider: fake.provider,
            model: "m",
            maxTurns: 2,
            history: [...turn("old"), ...tool, ...turn("y")]
          })
          expect(yield* saved.history).toEqual([...tool, ...turn("y")])
          yield* Stream.runDrain(saved.send("z"))
          expect(yield* saved.history).toEqual([...turn("y"), ...turn("z")])
        }))
    }))
})
