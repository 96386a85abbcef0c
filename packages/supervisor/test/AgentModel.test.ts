/**
 * Model-based test (fast-check `commands`) of supervised agent sessions, the
 * proof issue #12 asks for. Random sequences of spawn / send / tell / cancel
 * the consumer / crash / stop / shutdown, and sends whose consumer leaves or
 * crashes the session between steps (after a tool step's `Finish`) or leaves
 * once it has read the answer's `Finish`. Each turn is an agent turn whose
 * plan (written in its user message, see `support/AgentPlan.ts`) makes the
 * model call 0..3 tools per step, in parallel, with random outcomes (success,
 * typed failure, arguments that do not decode, defect, timeout, a handler
 * that hangs until interrupted) and random provider faults (HTTP 500, a
 * dropped connection, a body that stops coming), played by FakeLlmServer over
 * Ollama's wire to the real Ollama adapter. Per run: restart policy and
 * intensity, `maxTurns`, and a session store or none (a stopped session
 * spawned again resumes its stored conversation).
 *
 * Every command waits (bounded) until the supervisor is quiescent and agrees
 * with the model: each session idle, or blocked on a hung stream or hung
 * tools. Then checked: each session's status, committed turns, pending,
 * current turn, step, running tools, live streams and restarts; the callers'
 * outcomes, and that when a caller's stream ended every handler its turn
 * started had run its finalizer; that the only handlers still running are
 * the hung ones of blocked turns; that history equals the model's and is a
 * valid conversation (every tool call answered by one result with its id, in
 * order, before the next assistant message; no half turn: a cancelled,
 * failed or crashed turn commits nothing); that every request the server got
 * was a valid conversation; that no handler ever started twice (a crashed
 * turn is never replayed). At the end: no step requested twice, committed
 * turns requested step by step, server inflight 0 and no socket left, ledger
 * live 0, no double release, no session fiber.
 *
 * Runs: 50 by default; `STREAMVISOR_PROPERTY_RUNS` for more.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Ledger } from "@streamvisor/core"
import { FakeLlmServer } from "@streamvisor/testkit"
import { Cause, Effect, Exit, Fiber, Logger, LogLevel, Option, Schedule, Scope, Stream } from "effect"
import * as fc from "fast-check"
import { type Session, SessionStore, Supervisor } from "../src/index.js"
import { type End, message, type Outcome, type Plan, render } from "./support/AgentPlan.js"
import {
  advance,
  blockOf,
  type Caller,
  crash,
  expectedInfo,
  expectRequests,
  hungKeys,
  MAX_STEPS,
  type Mode,
  type Model,
  type ModelSession,
  type ModelTurn,
  settle,
  stopModel
} from "./support/AgentModel.js"
import * as World from "./support/AgentTools.js"
import { fromHistory, problem } from "./support/Conversation.js"
import * as Ollama from "./support/Ollama.js"

const RUNS = Number(process.env.STREAMVISOR_PROPERTY_RUNS ?? 50)
const SHUTDOWN_TIMEOUT = 40
/** Session `c` has a tool timeout (its plans time out where the others' hang); `a` and `b` have none. */
const IDS = ["a", "b", "c"] as const
const TOOL_TIMEOUT = "100 millis"

let server: FakeLlmServer.Server
let pool: Ollama.Pool

beforeAll(async () => {
  server = await FakeLlmServer.start()
})
afterAll(async () => {
  await server.close()
})

interface Real {
  readonly supervisor: Supervisor.Supervisor
  readonly probe: World.Probe
  /** Requests the server was sent that were no valid conversation. */
  readonly violations: Array<string>
}

// -----------------------------------------------------------------------------
// running effects and checking agreement
// -----------------------------------------------------------------------------

const run = <A, E>(effect: Effect.Effect<A, E>): Promise<A> =>
  Effect.runPromise(Logger.withMinimumLogLevel(effect, LogLevel.Error))

const outcomeOf = (exit: Exit.Exit<Exit.Exit<unknown, unknown>, unknown>): string => {
  const inner: Exit.Exit<unknown, unknown> = Exit.isSuccess(exit) ? exit.value : exit
  if (Exit.isSuccess(inner)) return "success"
  const failure = Cause.failureOption(inner.cause)
  if (Option.isSome(failure)) return (failure.value as { _tag: string })._tag
  return Cause.isInterruptedOnly(inner.cause) ? "interrupted" : `defect: ${Cause.pretty(inner.cause)}`
}

const describeWorld = async (model: Model, real: Real) => {
  const snapshot = await run(real.supervisor.snapshot)
  return JSON.stringify({
    expected: [...model.current.values()].map((s) => ({ id: s.id, ...expectedInfo(model, s), nextTurn: s.nextTurn })),
    actual: snapshot.sessions,
    nextTurn: await Promise.all([...model.current.values()].map(async (s) => (await run(s.ref.state)).nextTurn)),
    totals: { stopped: snapshot.stopped, failed: snapshot.failed },
    running: { expected: hungKeys(model), actual: World.unreleased(real.probe) },
    server: server.stats()
  })
}

const agrees = async (model: Model, real: Real): Promise<boolean> => {
  const snapshot = await run(real.supervisor.snapshot)
  const byId = new Map(snapshot.sessions.map((i) => [i.id, i]))
  for (const s of model.current.values()) {
    const info = byId.get(s.id)
    const { status, ...expected } = expectedInfo(model, s)
    if (info === undefined || (status !== undefined && info.status !== status)) return false
    if (Object.entries(expected).some(([key, value]) => info[key as keyof Session.Info] !== value)) return false
    if ((await run(s.ref.state)).nextTurn !== s.nextTurn) return false
  }
  const streams = [...model.current.values()].filter((s) => blockOf(s)?.where === "stream").length
  if (server.stats().inflight !== streams) return false
  if (World.unreleased(real.probe).join() !== hungKeys(model).join()) return false
  // terminated sessions are counted and forgotten: get finds only running ones
  if (snapshot.stopped !== model.all.filter((s) => s.status === "stopped").length) return false
  if (snapshot.failed !== model.all.filter((s) => s.status === "failed").length) return false
  if (snapshot.sessions.length !== model.current.size) return false
  for (const id of IDS) {
    const s = model.current.get(id)
    const found = await run(real.supervisor.get(id))
    if (Option.getOrUndefined(found) !== (s !== undefined && s.status === "running" ? s.ref : undefined)) return false
  }
  return true
}

const expectHistory = async (s: ModelSession) => {
  const history = await run(s.ref.history)
  expect(problem(fromHistory(history), MAX_STEPS, false), `session ${s.id}: history is a valid conversation`).toBeUndefined()
  expect(history, `session ${s.id}: history`).toEqual(s.kept.flat())
}

/** Wait (bounded) until the supervisor agrees with the model, then check callers, handlers and history. */
const agree = async (model: Model, real: Real) => {
  const deadline = Date.now() + 3_000
  while (!(await agrees(model, real))) {
    if (Date.now() > deadline) throw new Error(`supervisor and model disagree: ${await describeWorld(model, real)}`)
    await new Promise((resolve) => setTimeout(resolve, 2))
  }
  for (const { expected, turn } of model.pending) {
    const caller = turn.caller!
    const exit = await run(Fiber.await(caller.fiber).pipe(Effect.timeout("2 seconds"), Effect.orDie))
    expect(`${turn.text} → ${outcomeOf(exit)}`).toBe(`${turn.text} → ${expected}`)
    // when the caller's stream ended, its turn had settled: every handler it started had run its finalizer
    expect(caller.unreleased, `${turn.text}: handlers unreleased when its caller's stream ended`).toEqual([])
  }
  model.pending = []
  for (const s of model.current.values()) await expectHistory(s)
  expect(real.violations).toEqual([])
  // no handler ever started twice: a crashed or restarted session replays no tool
  expect([...real.probe.starts].filter(([, n]) => n > 1)).toEqual([])
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
    const spawn = real.supervisor.spawn({
      id: this.id,
      provider: pool.provider(),
      model: "m",
      tools: World.tools,
      maxSteps: MAX_STEPS,
      maxTurns: model.maxTurns,
      toolTimeout: this.id === "c" ? TOOL_TIMEOUT : undefined
    }).pipe(Effect.provide(World.handlers(real.probe)))
    const exit = await run(Effect.exit(spawn))
    if (model.closed) {
      expect(outcomeOf(Exit.succeed(exit))).toBe("SupervisorClosed")
    } else if (existing !== undefined && existing.status === "running") {
      expect(outcomeOf(Exit.succeed(exit))).toBe("SessionIdInUse")
    } else {
      expect(Exit.isSuccess(exit)).toBe(true)
      const ref = (exit as Exit.Success<Session.SessionRef, never>).value
      // with a store, a known id resumes its conversation: kept turns, numbering after its last commit
      const stored = model.stored?.get(this.id) ?? { kept: [], lastTurn: 0 }
      model.stored?.set(this.id, stored)
      const s: ModelSession = {
        id: this.id,
        ref,
        status: "running",
        kept: [...stored.kept],
        committed: stored.kept.length,
        queue: [],
        nextTurn: stored.lastTurn + 1,
        crashes: 0
      }
      model.current.set(this.id, s)
      model.all.push(s)
    }
    await agree(model, real)
  }
  toString = () => `spawn(${this.id})`
}


const consume = (ref: Session.SessionRef, text: string, mode: Mode, cut: number | undefined, probe: World.Probe) => {
  const caller = { unreleased: undefined } as { unreleased: ReadonlyArray<string> | undefined }
  let finishes = 0
  const reading = Stream.runForEach(ref.send(text), (event) => {
    if (event._tag === "Finish" && event.reason !== "tool_calls" && mode === "end") return Effect.interrupt
    if (event._tag !== "Finish" || event.reason !== "tool_calls" || ++finishes !== cut) return Effect.void
    return mode === "leave" ? Effect.interrupt : ref.crash(new Error(`crash after ${text} step ${cut}`))
  }).pipe(
      Effect.onExit(() => Effect.sync(() => caller.unreleased = World.unreleased(probe, text.split(" ")[0])))
    )
  const fiber = Effect.runFork(Logger.withMinimumLogLevel(Effect.exit(reading), LogLevel.Error))
  return Object.assign(caller, { fiber }) as Caller
}

class Send implements Command {
  constructor(readonly id: string, readonly plan: Plan, readonly mode: Mode) {}
  check = (model: Readonly<Model>) => model.current.has(this.id)
  async run(model: Model, real: Real) {
    const s = model.current.get(this.id)!
    const text = message(`t${++model.texts}`, this.plan)
    const accepted = s.status === "running"
    const cut = this.mode === "leave" || this.mode === "crash" ? this.plan.tools.length : undefined
    if (this.mode === "tell") {
      const exit = await run(Effect.exit(s.ref.tell(text)))
      if (!accepted) expect(outcomeOf(Exit.succeed(exit))).toBe("SessionStopped")
      else expect(exit).toEqual(Exit.succeed(s.nextTurn))
    }
    const caller = this.mode === "tell" ? undefined : consume(s.ref, text, this.mode, cut, real.probe)
    if (!accepted && caller !== undefined) expect(outcomeOf(await run(Fiber.await(caller.fiber)))).toBe("SessionStopped")
    if (accepted) {
      const turn: ModelTurn = { number: s.nextTurn++, text, mode: this.mode, cut, caller, started: false, cancelled: false, result: undefined }
      s.queue.push(turn)
      model.turns.push(turn)
    }
    advance(model, s)
    await agree(model, real)
  }
  toString = () => `${this.mode}(${this.id}, ${render(this.plan)})`
}

/** Interrupt the newest caller still waiting: cuts its turn if it runs (in a stream or a tool), else it is skipped. */
class Cancel implements Command {
  constructor(readonly id: string) {}
  check = (model: Readonly<Model>) =>
    model.current.get(this.id)?.queue.some((t) => t.caller !== undefined && !t.cancelled) === true
  async run(model: Model, real: Real) {
    const s = model.current.get(this.id)!
    let index = s.queue.length - 1
    while (s.queue[index].caller === undefined || s.queue[index].cancelled) index--
    const turn = s.queue[index]
    await run(Fiber.interrupt(turn.caller!.fiber))
    settle(model, turn, "interrupted")
    if (index === 0) s.queue.shift() // the running turn is cut
    else turn.cancelled = true
    advance(model, s)
    await agree(model, real)
  }
  toString = () => `cancel(${this.id})`
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

// -----------------------------------------------------------------------------
// arbitraries
// -----------------------------------------------------------------------------

const outcome = fc.oneof(
  { weight: 10, arbitrary: fc.constant<Outcome>("ok") },
  { weight: 4, arbitrary: fc.constantFrom<Outcome>("fail", "bad") },
  { weight: 1, arbitrary: fc.constant<Outcome>("defect") },
  { weight: 1, arbitrary: fc.constant<Outcome>("hang") }
)
const toolStep = fc.array(outcome, { minLength: 1, maxLength: 3 })
const end = fc.oneof(
  { weight: 6, arbitrary: fc.constant<End>(".") },
  { weight: 1, arbitrary: fc.constantFrom<End>("!500", "!cut", "!hang") }
)
const id = fc.constantFrom(...IDS)
/** In session `c` (a tool timeout) a call times out where it would hang elsewhere. */
const forSession = (id: string, plan: Plan): Plan =>
  id === "c" ? { ...plan, tools: plan.tools.map((calls) => calls.map((o) => o === "hang" ? "timeout" : o)) } : plan
const send = fc.tuple(id, fc.record({ tools: fc.array(toolStep, { maxLength: MAX_STEPS }), end }), fc.constantFrom<Mode>("send", "tell", "end"))
  .map(([i, plan, mode]) => new Send(i, forSession(i, plan), mode))
/**
 * A crash must land on its own turn: the calls of the step it follows neither
 * die nor time out (either would end the turn first, and the crash would
 * land on whatever comes next).
 */
const crashable = (i: string, tools: ReadonlyArray<ReadonlyArray<Outcome>>) =>
  tools.map((calls, n) =>
    n < tools.length - 1 ? calls : calls.map((o) => o === "defect" || (i === "c" && o === "hang") ? "fail" : o)
  )
/**
 * Cuts after the last tool step (short of `maxSteps`): the step after it
 * would hang, so the turn ends by the cut (or, when leaving, by its tools
 * failing first: nothing is committed either way).
 */
const cut = fc.tuple(id, fc.array(toolStep, { minLength: 1, maxLength: MAX_STEPS - 1 }), fc.constantFrom<Mode>("leave", "crash"))
  .map(([i, tools, mode]) =>
    new Send(i, forSession(i, { tools: mode === "crash" ? crashable(i, tools) : tools, end: "!hang" }), mode)
  )

const commands = fc.commands(
  [
    id.map((i) => new Spawn(i)),
    send,
    send,
    send,
    send,
    cut,
    id.map((i) => new Cancel(i)),
    id.map((i) => new Cancel(i)),
    id.map((i) => new Crash(i)),
    id.map((i) => new Stop(i)),
    fc.constant(new Shutdown())
  ],
  { maxCommands: 40, size: "large" }
)

// -----------------------------------------------------------------------------
// the property
// -----------------------------------------------------------------------------

describe("agent sessions vs model", () => {
  it("random agent turns with tool outcomes, faults, cancels and crashes: history is always a valid conversation", async () => {
    await fc.assert(
      fc.asyncProperty(
        commands,
        fc.record({
          restart: fc.constantFrom<"transient" | "temporary">("transient", "transient", "temporary"),
          maxRestarts: fc.integer({ min: 0, max: 3 }),
          maxTurns: fc.constantFrom(undefined, undefined, 1, 2),
          store: fc.boolean()
        }),
        async (cmds, { maxRestarts, maxTurns, restart, store }) => {
          await server.closeIdleSockets() // a failed run (while shrinking) may leave its pool behind
          const baseline = server.stats().open
          server.reset()
          const violations: Array<string> = []
          server.setScript(World.script(violations, MAX_STEPS))
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
                shutdownTimeout: SHUTDOWN_TIMEOUT,
                store: store ? await run(SessionStore.makeMemory) : undefined
              }),
              scope
            ).pipe(Effect.provideService(Ledger.Ledger, ledger))
          )
          const model: Model = {
            restart,
            maxRestarts,
            maxTurns,
            stored: store ? new Map() : undefined,
            closed: false,
            current: new Map(),
            all: [],
            turns: [],
            pending: [],
            texts: 0
          }
          const real: Real = { supervisor, probe: World.makeProbe(), violations }
          try {
            for (const i of IDS) await new Spawn(i).run(model, real)
            await fc.asyncModelRun(() => ({ model, real }), cmds)
            await new Shutdown().run(model, real)
          } finally {
            await run(Scope.close(scope, Exit.void))
            await pool.agent.close()
          }
          for (const s of model.all) await expectHistory(s)
          expect(World.unreleased(real.probe), "handlers whose finalizer never ran").toEqual([])
          expect([...real.probe.starts].filter(([, n]) => n > 1), "handlers started twice").toEqual([])
          expect(violations).toEqual([])
          expectRequests(model, server.requests.map(World.stepOf))
          // nothing left behind
          await server.waitFor((s) => s.inflight === 0, { timeoutMs: 1_000 })
          expect(ledger.snapshot().live).toEqual([])
          expect(ledger.snapshot().released).toBe(ledger.snapshot().opened)
          expect(ledger.doubleReleases()).toBe(0)
          const snapshot = await run(supervisor.snapshot)
          expect(snapshot.fibers).toBe(0)
          expect(snapshot.state).toBe("closed")
          for (const s of model.all) if (s.queue.length > 0) throw new Error(`model left turns queued in ${s.id}`)
          await server.waitFor((s) => s.open <= baseline, { timeoutMs: 1_000 })
        }
      ),
      { numRuns: RUNS }
    )
  }, Math.max(60_000, RUNS * 1_500))
})
