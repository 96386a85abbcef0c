/**
 * Model-based test (fast-check `commands`): random sequences of spawn / send /
 * tell / interrupt-consumer / crash-session / stop / shutdown, with faults
 * injected per turn (HTTP 500, mid-stream disconnect, a provider that dies, a
 * stream that hangs), run against a real supervisor streaming from
 * FakeLlmServer and checked against a simple model after every command.
 *
 * The model is exact because every command waits (bounded) until the system
 * is quiescent: each running session is idle or blocked on a hung turn. Then
 * the model knows which turn is in flight and which are queued.
 *
 * Checked: every session's status, committed turns, pending turns, current
 * turn and restarts; the supervisor's `stopped` / `failed` totals; `get(id)`
 * finds exactly the running sessions (terminated ones are forgotten, their
 * `Info` kept in the snapshot); every caller's outcome; history equals the model's; the
 * turns that reached the server are exactly the ones the model started, each
 * once (no turn lost or duplicated); after shutdown server `inflight` = 0,
 * ledger live = 0, no double release, no session fiber alive.
 *
 * Runs: 25 by default; `STREAMVISOR_PROPERTY_RUNS` for more.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { ChatRequest, Ledger, Provider } from "@streamvisor/core"
import { FakeLlmServer, Script } from "@streamvisor/testkit"
import { Cause, Effect, Exit, Fiber, Logger, LogLevel, Option, Schedule, Scope, Stream } from "effect"
import * as fc from "fast-check"
import { type Session, Supervisor } from "../src/index.js"
import * as Ollama from "./support/Ollama.js"

const RUNS = Number(process.env.STREAMVISOR_PROPERTY_RUNS ?? 25)
const SHUTDOWN_TIMEOUT = 40
const IDS = ["a", "b", "c"] as const

type Kind = "ok" | "fail" | "disconnect" | "die" | "hang"

let server: FakeLlmServer.Server
let pool: Ollama.Pool

beforeAll(async () => {
  server = await FakeLlmServer.start()
})
afterAll(async () => {
  await server.close()
})

const kindOf = (text: string): Kind => text.slice(text.lastIndexOf(":") + 1) as Kind

const script: Script.ScriptFn = (request) => {
  const messages = (request.body as { messages: Array<{ content: string }> }).messages
  const text = messages[messages.length - 1].content
  switch (kindOf(text)) {
    case "hang":
      return Script.text(["re: ", "…"], { fault: { type: "hang", afterEvents: 1 } })
    case "fail":
      return Script.status(500)
    case "disconnect":
      return Script.text(["re: ", text], { fault: { type: "disconnect", afterEvents: 1 } })
    default:
      return Script.text(["re: ", text])
  }
}

/** The real Ollama adapter, plus "die": a provider bug after the first event (a defect, so a crash). */
const makeProvider = (): Provider.Provider => {
  const base = pool.provider()
  return Provider.make({
    name: "model",
    stream: (request) => {
      const events = base.stream(request)
      const text = ChatRequest.text(request.messages[request.messages.length - 1].content)
      return kindOf(text) === "die"
        ? Stream.concat(Stream.take(events, 1), Stream.die(new Error(`provider bug on ${text}`)))
        : events
    }
  })
}

// -----------------------------------------------------------------------------
// model
// -----------------------------------------------------------------------------

type Expected = "success" | "ServerError" | "Disconnected" | "SessionCrashed" | "SessionStopped" | "interrupted"

interface ModelTurn {
  readonly number: number
  readonly text: string
  readonly kind: Kind
  readonly fiber: Fiber.RuntimeFiber<Exit.Exit<void, unknown>> | undefined
  started: boolean
  /** Its caller went away while it was queued: it stays in the mailbox (counted as pending) until skipped. */
  cancelled: boolean
}

interface ModelSession {
  readonly id: string
  readonly ref: Session.SessionRef
  status: "running" | "stopped" | "failed"
  readonly history: Array<string>
  queue: Array<ModelTurn>
  nextTurn: number
  crashes: number
}

interface Model {
  readonly restart: "transient" | "temporary"
  readonly maxRestarts: number
  closed: boolean
  readonly current: Map<string, ModelSession>
  readonly all: Array<ModelSession>
  /** Texts the model says reached the provider, in order per session. */
  readonly started: Array<string>
  /** Callers settled by the last command, with the outcome they must see. */
  pending: Array<{ readonly turn: ModelTurn; readonly expected: Expected }>
  texts: number
}

interface Real {
  readonly supervisor: Supervisor.Supervisor
}

const settle = (model: Model, turn: ModelTurn, expected: Expected) => {
  if (turn.fiber !== undefined) model.pending.push({ turn, expected })
}

const start = (model: Model, turn: ModelTurn) => {
  if (!turn.started) {
    turn.started = true
    model.started.push(turn.text)
  }
}

const fail = (model: Model, s: ModelSession) => {
  s.status = "failed"
  for (const turn of s.queue) if (!turn.cancelled) settle(model, turn, "SessionStopped")
  s.queue = []
}

const crash = (model: Model, s: ModelSession) => {
  s.crashes++
  if (model.restart === "temporary" || s.crashes > model.maxRestarts) fail(model, s)
}

/** Run the session's queue until it is empty or blocked on a hung turn. */
const advance = (model: Model, s: ModelSession) => {
  while (s.status === "running" && s.queue.length > 0) {
    const head = s.queue[0]
    if (head.cancelled) {
      s.queue.shift()
      continue
    }
    start(model, head)
    if (head.kind === "hang") return
    s.queue.shift()
    switch (head.kind) {
      case "ok":
        s.history.push(head.text)
        settle(model, head, "success")
        break
      case "fail":
        settle(model, head, "ServerError")
        break
      case "disconnect":
        settle(model, head, "Disconnected")
        break
      case "die":
        settle(model, head, "SessionCrashed")
        crash(model, s)
        break
    }
  }
}

const stopModel = (model: Model, s: ModelSession) => {
  if (s.status !== "running") return
  for (const turn of s.queue) if (!turn.cancelled) settle(model, turn, "SessionStopped")
  s.queue = []
  s.status = "stopped"
}

// -----------------------------------------------------------------------------
// running effects and checking agreement
// -----------------------------------------------------------------------------

const run = <A, E>(effect: Effect.Effect<A, E>): Promise<A> =>
  Effect.runPromise(Logger.withMinimumLogLevel(effect, LogLevel.Error))

const outcomeOf = (exit: Exit.Exit<Exit.Exit<unknown, unknown>, unknown>): Expected | string => {
  const inner: Exit.Exit<unknown, unknown> = Exit.isSuccess(exit) ? exit.value : exit
  if (Exit.isSuccess(inner)) return "success"
  const failure = Cause.failureOption(inner.cause)
  if (Option.isSome(failure)) return (failure.value as { _tag: string })._tag
  return Cause.isInterruptedOnly(inner.cause) ? "interrupted" : `defect: ${Cause.pretty(inner.cause)}`
}

const expectedInfo = (model: Model, s: ModelSession) => {
  const head = s.queue[0]
  return {
    status: s.status === "running" ? (head === undefined ? "idle" : "streaming") : s.status,
    turns: s.history.length,
    pending: s.status === "running" ? Math.max(0, s.queue.length - 1) : 0,
    currentTurn: s.status === "running" && head !== undefined ? head.number : null,
    restarts: model.restart === "temporary" ? 0 : s.crashes - (s.status === "failed" ? 1 : 0)
  }
}

const describeWorld = async (model: Model, real: Real) => {
  const snapshot = await run(real.supervisor.snapshot)
  return JSON.stringify({
    expected: model.all.map((s) => ({ id: s.id, ...expectedInfo(model, s) })),
    actual: snapshot.sessions,
    totals: { stopped: snapshot.stopped, failed: snapshot.failed },
    server: server.stats()
  })
}

/** Wait (bounded) until the supervisor agrees with the model, then check the callers the model settled. */
const agree = async (model: Model, real: Real) => {
  const deadline = Date.now() + 3_000
  for (;;) {
    const snapshot = await run(real.supervisor.snapshot)
    const byId = new Map(snapshot.sessions.map((i) => [i.id, i]))
    let ok = true
    for (const s of model.current.values()) {
      const info = byId.get(s.id)
      const expected = expectedInfo(model, s)
      const nextTurn = (await run(s.ref.state)).nextTurn
      if (
        info === undefined || info.status !== expected.status || info.turns !== expected.turns ||
        info.pending !== expected.pending || info.currentTurn !== expected.currentTurn ||
        info.restarts !== expected.restarts || nextTurn !== s.nextTurn
      ) ok = false
    }
    const hung = [...model.current.values()].filter((s) => s.status === "running" && s.queue[0]?.kind === "hang").length
    if (server.stats().inflight !== hung) ok = false
    // terminated sessions are counted and forgotten: get finds only running ones
    if (snapshot.stopped !== model.all.filter((s) => s.status === "stopped").length) ok = false
    if (snapshot.failed !== model.all.filter((s) => s.status === "failed").length) ok = false
    if (snapshot.sessions.length !== model.current.size) ok = false
    for (const id of IDS) {
      const s = model.current.get(id)
      const found = await run(real.supervisor.get(id))
      const expected = s !== undefined && s.status === "running" ? s.ref : undefined
      if (Option.getOrUndefined(found) !== expected) ok = false
    }
    if (ok) break
    if (Date.now() > deadline) throw new Error(`supervisor and model disagree: ${await describeWorld(model, real)}`)
    await new Promise((resolve) => setTimeout(resolve, 2))
  }
  for (const { expected, turn } of model.pending) {
    const exit = await run(Fiber.await(turn.fiber!).pipe(Effect.timeout("2 seconds"), Effect.orDie))
    expect(`${turn.text} → ${outcomeOf(exit)}`).toBe(`${turn.text} → ${expected}`)
  }
  model.pending = []
}

// -----------------------------------------------------------------------------
// commands
// -----------------------------------------------------------------------------

type Command = fc.AsyncCommand<Model, Real>

class Spawn implements Command {
  constructor(readonly id: string) {}
  check = () => true
  async run(model: Model, real: Real) {
    const existing = model.current.get(this.id)
    const exit = await run(Effect.exit(real.supervisor.spawn({ id: this.id, provider: makeProvider(), model: "m" })))
    if (model.closed) {
      expect(outcomeOf(Exit.succeed(exit))).toBe("SupervisorClosed")
    } else if (existing !== undefined && existing.status === "running") {
      expect(outcomeOf(Exit.succeed(exit))).toBe("SessionIdInUse")
    } else {
      expect(Exit.isSuccess(exit)).toBe(true)
      const s: ModelSession = {
        id: this.id,
        ref: (exit as Exit.Success<Session.SessionRef, never>).value,
        status: "running",
        history: [],
        queue: [],
        nextTurn: 1,
        crashes: 0
      }
      model.current.set(this.id, s)
      model.all.push(s)
    }
    await agree(model, real)
  }
  toString = () => `spawn(${this.id})`
}

class Enqueue implements Command {
  constructor(readonly id: string, readonly kind: Kind, readonly ask: boolean) {}
  check = (model: Readonly<Model>) => model.current.has(this.id)
  async run(model: Model, real: Real) {
    const s = model.current.get(this.id)!
    const text = `t${++model.texts}:${this.kind}`
    const accepted = s.status === "running"
    if (this.ask) {
      const fiber = Effect.runFork(Effect.exit(Stream.runDrain(s.ref.send(text))))
      if (!accepted) {
        const exit = await run(Fiber.await(fiber))
        expect(outcomeOf(exit)).toBe("SessionStopped")
      } else {
        s.queue.push({ number: s.nextTurn++, text, kind: this.kind, fiber, started: false, cancelled: false })
      }
    } else {
      const exit = await run(Effect.exit(s.ref.tell(text)))
      if (!accepted) {
        expect(outcomeOf(Exit.succeed(exit))).toBe("SessionStopped")
      } else {
        expect(exit).toEqual(Exit.succeed(s.nextTurn))
        s.queue.push({ number: s.nextTurn++, text, kind: this.kind, fiber: undefined, started: false, cancelled: false })
      }
    }
    advance(model, s)
    await agree(model, real)
  }
  toString = () => `${this.ask ? "send" : "tell"}(${this.id}, ${this.kind})`
}

class InterruptConsumer implements Command {
  constructor(readonly id: string) {}
  check = (model: Readonly<Model>) =>
    model.current.get(this.id)?.queue.some((t) => t.fiber !== undefined && !t.cancelled) === true
  async run(model: Model, real: Real) {
    const s = model.current.get(this.id)!
    let index = s.queue.length - 1
    while (s.queue[index].fiber === undefined || s.queue[index].cancelled) index--
    const turn = s.queue[index]
    await run(Fiber.interrupt(turn.fiber!))
    settle(model, turn, "interrupted")
    if (index === 0) s.queue.shift() // the running turn is cut
    else turn.cancelled = true
    advance(model, s)
    await agree(model, real)
  }
  toString = () => `interruptConsumer(${this.id})`
}

class Crash implements Command {
  constructor(readonly id: string) {}
  check = (model: Readonly<Model>) => model.current.has(this.id)
  async run(model: Model, real: Real) {
    const s = model.current.get(this.id)!
    await run(s.ref.crash(new Error("crash-session")))
    if (s.status === "running") {
      const head = s.queue[0]
      if (head !== undefined) {
        s.queue.shift()
        settle(model, head, "SessionCrashed")
      }
      crash(model, s)
      advance(model, s)
    }
    await agree(model, real)
  }
  toString = () => `crash(${this.id})`
}

class Stop implements Command {
  constructor(readonly id: string) {}
  check = (model: Readonly<Model>) => model.current.has(this.id)
  async run(model: Model, real: Real) {
    const s = model.current.get(this.id)!
    await run(s.ref.stop)
    stopModel(model, s)
    await agree(model, real)
  }
  toString = () => `stop(${this.id})`
}

class Shutdown implements Command {
  /** Late in a run only: everything after it is refusals. */
  check = (model: Readonly<Model>) => model.texts >= 8
  async run(model: Model, real: Real) {
    await run(real.supervisor.shutdown)
    for (const s of model.current.values()) stopModel(model, s)
    model.closed = true
    await agree(model, real)
  }
  toString = () => "shutdown"
}

const id = fc.constantFrom(...IDS)
const kind = fc.oneof(
  { weight: 5, arbitrary: fc.constant<Kind>("ok") },
  { weight: 1, arbitrary: fc.constantFrom<Kind>("fail", "disconnect", "die") },
  { weight: 2, arbitrary: fc.constant<Kind>("hang") }
)
const commands = fc.commands(
  [
    id.map((i) => new Spawn(i)),
    id.map((i) => new Spawn(i)),
    fc.tuple(id, kind, fc.boolean()).map(([i, k, ask]) => new Enqueue(i, k, ask)),
    fc.tuple(id, kind, fc.boolean()).map(([i, k, ask]) => new Enqueue(i, k, ask)),
    fc.tuple(id, kind, fc.boolean()).map(([i, k, ask]) => new Enqueue(i, k, ask)),
    fc.tuple(id, kind, fc.boolean()).map(([i, k, ask]) => new Enqueue(i, k, ask)),
    id.map((i) => new InterruptConsumer(i)),
    id.map((i) => new InterruptConsumer(i)),
    id.map((i) => new Crash(i)),
    id.map((i) => new Stop(i)),
    fc.constant(new Shutdown())
  ],
  { maxCommands: 30, size: "large" }
)

describe("supervisor vs model", () => {
  it("random command sequences agree with the model; nothing lost, duplicated or left behind", async () => {
    await fc.assert(
      fc.asyncProperty(
        commands,
        fc.constantFrom<"transient" | "temporary">("transient", "transient", "temporary"),
        fc.integer({ min: 0, max: 3 }),
        async (cmds, restart, maxRestarts) => {
          await server.closeIdleSockets() // a failed run (while shrinking) may leave its pool behind
          server.reset()
          server.setScript(script)
          pool = Ollama.pool(server)
          const ledger = Ledger.make()
          const scope = await run(Scope.make())
          const supervisor = await run(
            Scope.extend(
              Supervisor.make({
                restart,
                maxRestarts,
                window: "1 hour",
                backoff: Schedule.forever,
                shutdownTimeout: SHUTDOWN_TIMEOUT
              }),
              scope
            ).pipe(Effect.provideService(Ledger.Ledger, ledger))
          )
          const model: Model = {
            restart,
            maxRestarts,
            closed: false,
            current: new Map(),
            all: [],
            started: [],
            pending: [],
            texts: 0
          }
          const real: Real = { supervisor }
          try {
            for (const i of IDS) await new Spawn(i).run(model, real)
            await fc.asyncModelRun(() => ({ model, real }), cmds)
            await new Shutdown().run(model, real)
          } finally {
            await run(Scope.close(scope, Exit.void))
            await pool.agent.close()
          }
          // history equals the model's, for every session ever spawned
          for (const s of model.all) {
            const history = await run(s.ref.history)
            expect(history).toEqual(
              s.history.flatMap((text) => [{ role: "user", content: text }, { role: "assistant", content: `re: ${text}` }])
            )
          }
          // no turn lost or duplicated: the server got exactly the started turns, each once
          const received = server.requests.map((r) => {
            const messages = (r.body as { messages: Array<{ content: string }> }).messages
            return messages[messages.length - 1].content
          })
          expect([...received].sort()).toEqual([...model.started].sort())
          expect(new Set(received).size).toBe(received.length)
          // nothing left behind
          await server.waitFor((s) => s.inflight === 0, { timeoutMs: 1_000 })
          expect(ledger.snapshot().live).toEqual([])
          expect(ledger.snapshot().released).toBe(ledger.snapshot().opened)
          expect(ledger.doubleReleases()).toBe(0)
          const snapshot = await run(supervisor.snapshot)
          expect(snapshot.fibers).toBe(0)
          expect(snapshot.state).toBe("closed")
          for (const s of model.all) {
            if (s.queue.length > 0) throw new Error(`model left turns queued in ${s.id}`)
            for (const t of s.queue) expect(t.fiber).toBeUndefined()
          }
          await server.waitFor((s) => s.open === 0, { timeoutMs: 1_000 })
        }
      ),
      { numRuns: RUNS }
    )
  }, Math.max(60_000, RUNS * 250))
})
