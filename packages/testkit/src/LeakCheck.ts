/**
 * Leak assertions over a {@link FakeLlmServer}: every response that started must end exactly once
 * (completed, cut by the client, or cut by the server), and nothing may stay in flight.
 *
 * @since 0.1.0
 */
import type { Server, Stats } from "./FakeLlmServer.js"

/** A snapshot of a server's counters to compare against later. Do not `reset()` the server in between. */
export interface Mark {
  readonly server: Server
  readonly stats: Stats
}

/** How the responses that started after a {@link Mark} ended. */
export interface Delta {
  readonly started: number
  readonly completed: number
  readonly closedByClient: number
  readonly closedByServer: number
}

/** Options of {@link settled} and {@link assertIdle}. */
export interface Options {
  /** Also wait for every socket to close (default false: a client's keep-alive pool may hold some). */
  readonly sockets?: boolean
  /** Default 2000. */
  readonly timeoutMs?: number
}

/** Marks the server's counters now. */
export const mark = (server: Server): Mark => ({ server, stats: server.stats() })

/**
 * Waits until nothing is in flight (and no socket is open, with `sockets: true`); rejects with the
 * stats and the responses still in flight.
 */
export const assertIdle = (server: Server, options?: Options): Promise<Stats> =>
  server.waitForIdle({
    timeoutMs: options?.timeoutMs ?? 2000,
    sockets: options?.sockets === true,
    message: options?.sockets === true ? "leak: responses or sockets still open" : "leak: responses still in flight"
  })

/**
 * Waits for idleness, then checks the conservation law since `mark`: every response that started
 * ended exactly once. Resolves with how they ended.
 */
export const settled = async (from: Mark, options?: Options): Promise<Delta> => {
  const now = await assertIdle(from.server, options)
  const delta: Delta = {
    started: now.total - from.stats.total,
    completed: now.completed - from.stats.completed,
    closedByClient: now.closedByClient - from.stats.closedByClient,
    closedByServer: now.closedByServer - from.stats.closedByServer
  }
  const ended = delta.completed + delta.closedByClient + delta.closedByServer
  // responses in flight at the mark also end during the interval; they are allowed for
  if (ended < delta.started || ended > delta.started + from.stats.inflight) {
    throw new Error(`leak accounting broken: ${JSON.stringify(delta)} (inflight at mark: ${from.stats.inflight})`)
  }
  return delta
}
