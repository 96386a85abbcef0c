/**
 * The IPC messages between the bench and its server child (`ServerProcess.ts`).
 * Every request carries an id and gets exactly one reply with that id.
 */
import type { FakeLlmServer } from "@streamvisor/testkit"

type Stats = FakeLlmServer.Stats

/** What the server plays, in a form that is cheap to send: the child builds the events. */
export interface ScriptSpec {
  /** Number of text deltas (`"w0 "`, `"w1 "`, …). */
  readonly deltas: number
  /** Milliseconds between deltas. */
  readonly delayMs?: number
  /** Milliseconds before the first delta. */
  readonly firstDelayMs?: number
}

export type Command =
  | { readonly type: "setScript"; readonly script: ScriptSpec }
  | { readonly type: "scriptFor"; readonly model: string; readonly script: ScriptSpec }
  | { readonly type: "stats" }
  | { readonly type: "inflight" }
  | { readonly type: "reset" }
  | { readonly type: "waitForIdle"; readonly timeoutMs: number }
  | { readonly type: "closeIdleSockets" }
  | { readonly type: "close" }

export type Request = Command & { readonly id: number }

/** A response in flight, as the child reports it. */
export interface Inflight {
  readonly id: number
  readonly format: string
  readonly model: string | undefined
  /** Bytes the server handed to the socket for it so far. */
  readonly bytesWritten: number
}

export type Reply =
  | { readonly id: number; readonly ok: true; readonly stats?: Stats; readonly inflight?: ReadonlyArray<Inflight> }
  | { readonly id: number; readonly ok: false; readonly error: string }

/** Sent once per response that finished or was cut; times are on the shared clock (`Clock.now`). */
export interface Closed {
  readonly type: "closed"
  readonly id: number
  readonly model: string | undefined
  readonly format: string
  readonly byClient: boolean
  readonly completed: boolean
  readonly startedAt: number
  readonly closedAt: number
  /** Bytes the server handed to the socket for it (headers included). */
  readonly bytesWritten: number
}

/** Sent once, when the server listens. */
export interface Ready {
  readonly type: "ready"
  readonly url: string
}

export type Event = Closed | Ready
