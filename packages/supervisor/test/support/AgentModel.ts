/**
 * The model of the agent model test (`AgentModel.test.ts`): what every
 * session holds and owes, advanced command by command. A started turn comes
 * out as `AgentPlan.simulate` says; the model runs each session's queue until
 * it is empty or its head is blocked (a hung stream or hung tools), which only
 * a cancel, a crash, a stop or the shutdown ends.
 */
import type { ChatRequest } from "@streamvisor/core"
import type { Exit, Fiber } from "effect"
import { expect } from "vitest"
import type { Session } from "../../src/index.js"
import { type Result, simulate } from "./AgentPlan.js"

/** The most steps of a turn, in every session. */
export const MAX_STEPS = 3

/**
 * How a message is sent: `send` (read to its end), `tell`, `end` (read up to
 * the answer's `Finish`, then leave), or read until the last tool step's
 * `Finish` and then `leave` (the caller goes away) or `crash` the session
 * (and read on).
 */
export type Mode = "send" | "tell" | "end" | "leave" | "crash"

/** What a caller's stream must end with: success, the error's tag, or interrupted. */
export type Expected =
  | "success"
  | "ServerError"
  | "Disconnected"
  | "ToolError"
  | "ToolTimeout"
  | "SessionCrashed"
  | "SessionStopped"
  | "interrupted"

/** A `send`'s consumer: its fiber, and the handlers of its turn still unreleased when its stream ended. */
export interface Caller {
  readonly fiber: Fiber.RuntimeFiber<Exit.Exit<void, unknown>>
  unreleased: ReadonlyArray<string> | undefined
}

/** A turn the model knows of, from the moment it was accepted. */
export interface ModelTurn {
  readonly number: number
  readonly text: string
  readonly mode: Mode
  /** In modes `leave` and `crash`: the step after whose `Finish` the caller leaves, or crashes the session. */
  readonly cut: number | undefined
  readonly caller: Caller | undefined
  started: boolean
  /** Its caller went away while it was queued: it stays in the mailbox (counted as pending) until skipped. */
  cancelled: boolean
  /** How it came out, once it has. */
  result: Result | undefined
}

/** A session as the model sees it: its status, kept history, queue (head first) and crashes. */
export interface ModelSession {
  readonly id: string
  readonly ref: Session.SessionRef
  status: "running" | "stopped" | "failed"
  /** The turns its history keeps (the newest `maxTurns`), each user message and all it led to. */
  readonly kept: Array<ReadonlyArray<ChatRequest.Message>>
  /** Turns committed, counting those it resumed from the store. */
  committed: number
  queue: Array<ModelTurn>
  nextTurn: number
  crashes: number
}

/** The whole model of one run. */
export interface Model {
  readonly restart: "transient" | "temporary"
  readonly maxRestarts: number
  readonly maxTurns: number | undefined
  /** With a store: what it holds per session id (a spawn of a stored id resumes it). */
  readonly stored: Map<string, { readonly kept: ReadonlyArray<ReadonlyArray<ChatRequest.Message>>; readonly lastTurn: number }> | undefined
  closed: boolean
  readonly current: Map<string, ModelSession>
  readonly all: Array<ModelSession>
  readonly turns: Array<ModelTurn>
  /** Callers settled by the last command, with the outcome they must see. */
  pending: Array<{ readonly turn: ModelTurn; readonly expected: Expected }>
  texts: number
}


/** How a blocked head is stuck. */
export type Block = Extract<Result, { _tag: "Block" }>

/** The turn has settled: its caller (if any) must see `expected`, checked by the next `agree`. */
export const settle = (model: Model, turn: ModelTurn, expected: Expected) => {
  if (turn.caller !== undefined) model.pending.push({ turn, expected })
}

/** Not restarted: failed, its queued turns refused. */
export const fail = (model: Model, s: ModelSession) => {
  s.status = "failed"
  for (const turn of s.queue) if (!turn.cancelled) settle(model, turn, "SessionStopped")
  s.queue = []
}

/** A crash: restarted (its queue kept) unless temporary or past its restart intensity. */
export const crash = (model: Model, s: ModelSession) => {
  s.crashes++
  if (model.restart === "temporary" || s.crashes > model.maxRestarts) fail(model, s)
}

/** Run the session's queue until it is empty or its head is blocked. */
export const advance = (model: Model, s: ModelSession) => {
  while (s.status === "running" && s.queue.length > 0) {
    const head = s.queue[0]
    if (head.cancelled) {
      s.queue.shift()
      continue
    }
    head.started = true
    const result = simulate(head.text, MAX_STEPS, head.cut)
    if (result._tag === "Block") return
    s.queue.shift()
    head.result = result
    if (result._tag === "Commit") {
      s.kept.push(result.messages)
      if (model.maxTurns !== undefined && s.kept.length > model.maxTurns) s.kept.splice(0, s.kept.length - model.maxTurns)
      s.committed++
      model.stored?.set(s.id, { kept: [...s.kept], lastTurn: head.number })
      // a caller that leaves once it has read the answer's Finish does not cut the turn
      const answered = result.messages[result.messages.length - 1].role === "assistant"
      settle(model, head, head.mode === "end" && answered ? "interrupted" : "success")
    } else if (result._tag === "Fail") {
      settle(model, head, result.error)
    } else if (head.mode === "leave") {
      settle(model, head, "interrupted")
    } else {
      settle(model, head, "SessionCrashed")
      crash(model, s)
    }
  }
}

/** The head's block, if the session is blocked on it. */
export const blockOf = (s: ModelSession): Block | undefined => {
  const head = s.status === "running" ? s.queue[0] : undefined
  return head === undefined ? undefined : simulate(head.text, MAX_STEPS, head.cut) as Block
}

/** Stopped: its queued turns (the head too) are refused with `SessionStopped`. */
export const stopModel = (model: Model, s: ModelSession) => {
  if (s.status !== "running") return
  for (const turn of s.queue) if (!turn.cancelled) settle(model, turn, "SessionStopped")
  s.queue = []
  s.status = "stopped"
}

/** The session's `Info` as the model expects it (`status` undefined: not checked, a turn running its tools). */
export const expectedInfo = (model: Model, s: ModelSession) => {
  const running = s.status === "running"
  const block = blockOf(s)
  return {
    // a turn running its tools shows no status of its own: not checked
    status: !running ? s.status : block === undefined ? "idle" : block.where === "stream" ? "streaming" : undefined,
    turns: s.committed,
    pending: running ? Math.max(0, s.queue.length - 1) : 0,
    currentTurn: running ? s.queue[0]?.number ?? null : null,
    restarts: model.restart === "temporary" ? 0 : s.crashes - (s.status === "failed" ? 1 : 0),
    step: block?.step ?? null,
    runningTools: block?.where === "tool" ? block.running.length : 0,
    liveStreams: block?.where === "stream" ? 1 : 0
  }
}

/** Handlers that must be running: the hung calls of blocked turns. */
export const hungKeys = (model: Model) =>
  [...model.current.values()].flatMap((s) => blockOf(s)?.running ?? []).sort()

/**
 * At the end, given the step (`tN.n`) of every request the server got: no
 * step was requested twice (a crashed turn is not replayed); a started turn's
 * steps were requested in order from 1, a committed one's all of them; a turn
 * never started, none.
 */
export const expectRequests = (model: Model, requested: ReadonlyArray<string>) => {
  const seen = new Map<string, number>()
  for (const step of requested) seen.set(step, (seen.get(step) ?? 0) + 1)
  expect([...seen].filter(([, n]) => n > 1), "steps requested twice").toEqual([])
  for (const turn of model.turns) {
    const tag = turn.text.split(" ")[0]
    const steps = [...seen.keys()].filter((k) => k.startsWith(`${tag}.`)).map((k) => Number(k.slice(tag.length + 1)))
      .sort((x, y) => x - y)
    const expected = !turn.started ? 0 : turn.result?._tag === "Commit"
      ? turn.result.messages.filter((m) => m.role === "assistant").length
      : steps.length
    const all = Array.from({ length: expected }, (_, i) => i + 1)
    expect(`${turn.text}: steps ${steps.join(",")}`).toBe(`${turn.text}: steps ${all.join(",")}`)
  }
}
