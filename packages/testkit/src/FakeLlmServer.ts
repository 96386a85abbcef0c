/**
 * A real HTTP server on 127.0.0.1 that speaks each provider's streaming wire format, so the real
 * SDKs are exercised end to end, and that counts sockets and responses so leaks can be measured.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import { startServer } from "./internal/server.js"
import type { Check } from "./RequestCheck.js"
import type { ScriptSource } from "./Script.js"

/** The wire format a request was routed to, from its path. */
export type WireFormat = "anthropic" | "openai-chat" | "openai-responses" | "gemini" | "ollama" | "unknown"

/** A request as the server received it. Credentials are replaced by `"<redacted>"`. */
export interface RecordedRequest {
  /** Request id (1, 2, …), shared with {@link ResponseClosedInfo.id}. */
  readonly id: number
  readonly method: string
  /** Path without the query string. */
  readonly path: string
  /** Query parameters (a `key` parameter is redacted). */
  readonly query: Readonly<Record<string, string>>
  /** Lower-cased header names; `authorization`, `x-api-key`, `x-goog-api-key`, `api-key`, `proxy-authorization` redacted. */
  readonly headers: Readonly<Record<string, string>>
  /** Parsed JSON body, the raw string when it is not JSON, or undefined when empty. */
  readonly body: unknown
  /** `body.model`, or the model named in a Gemini path (without `models/`). */
  readonly model: string | undefined
  readonly format: WireFormat
  /** `performance.now()` when the request arrived. */
  readonly receivedAt: number
}

/** The server's counters. `open` and `inflight` are live values; the others count since start / reset. */
export interface Stats {
  /** Sockets currently open. */
  readonly open: number
  /** Responses started (request received) and neither finished nor cut. */
  readonly inflight: number
  /** Requests received. */
  readonly total: number
  /** Responses fully written and ended. */
  readonly completed: number
  /** Responses cut because the client closed or aborted. */
  readonly closedByClient: number
  /** Responses cut by the server (disconnect fault, `close()`). */
  readonly closedByServer: number
}

/** Reported once per response when it finishes or is cut. */
export interface ResponseClosedInfo {
  readonly id: number
  readonly format: WireFormat
  /** The response was cut by the client. */
  readonly byClient: boolean
  /** The response was fully written. */
  readonly completed: boolean
  /** `performance.now()` when the request arrived. */
  readonly startedAt: number
  /** `performance.now()` when the response finished or was cut. */
  readonly closedAt: number
  /** Bytes handed to the socket for this response (headers included). */
  readonly bytesWritten: number
}

/** A response in flight, for diagnosing leaks and backpressure. */
export interface InflightResponse {
  readonly id: number
  readonly format: WireFormat
  readonly model: string | undefined
  /** `performance.now()` when the request arrived. */
  readonly startedAt: number
  /** Bytes handed to the socket for this response so far (headers included; queued bytes too). */
  readonly bytesWritten: number
}

/** Base URLs as each SDK takes them. */
export interface BaseUrls {
  /** `new Anthropic({ baseURL })` */
  readonly anthropic: string
  /** `new OpenAI({ baseURL })` (includes `/v1`) */
  readonly openai: string
  /** `getGenerativeModel({ model }, { baseUrl })` */
  readonly gemini: string
  /** The Ollama host. */
  readonly ollama: string
}

/** Options of {@link start}. */
export interface StartOptions {
  /** Default 0 (an ephemeral port). */
  readonly port?: number
  /** Default `"127.0.0.1"`. */
  readonly host?: string
  /** The default script (and what `reset()` restores). Default: a short greeting. */
  readonly script?: ScriptSource
  /** Server-side keep-alive timeout of idle sockets, in ms. Default 5000. */
  readonly keepAliveTimeout?: number
  /**
   * Checks every request passes before its script plays (and what `reset()` restores); a violation
   * answers with the provider's own error. Default none. See {@link RequestCheck}.
   */
  readonly validate?: ReadonlyArray<Check>
  /** How many recorded requests `requests` keeps (the newest). Default 1000; 0 records none. */
  readonly maxRecordedRequests?: number
}

/** Options of {@link Server.waitFor}. */
export interface WaitOptions {
  /** Default 2000. */
  readonly timeoutMs?: number
  /** Prefix of the timeout error's message. */
  readonly message?: string
}

/** A running fake server. */
export interface Server {
  /** `http://127.0.0.1:PORT` */
  readonly url: string
  readonly port: number
  readonly baseUrls: BaseUrls
  /**
   * The requests received since start / `reset()`, oldest first, newest last: the last
   * `maxRecordedRequests` (default 1000). A live view: it grows as requests arrive.
   */
  readonly requests: ReadonlyArray<RecordedRequest>
  /** The newest recorded request, if any. */
  readonly lastRequest: RecordedRequest | undefined
  /** Replaces the server-wide request checks (until `reset()`, which restores the start option's). */
  setValidate(checks: ReadonlyArray<Check>): void
  /** Sets the default script, played when no model route or queued script applies. */
  setScript(script: ScriptSource): void
  /** Queues one-shot scripts, played first in, first out. */
  enqueue(...scripts: ReadonlyArray<ScriptSource>): void
  /** Plays `script` for every request whose model equals `model` (`models/` prefix ignored). */
  scriptFor(model: string, script: ScriptSource): void
  /** Clears scripts and checks (back to the start options'), queue, routes, recorded requests and non-live counters. */
  reset(): void
  /** The current counters. */
  stats(): Stats
  /** The responses in flight, oldest first. */
  inflightResponses(): ReadonlyArray<InflightResponse>
  /** Listens to responses finishing or being cut; returns an unsubscribe function. */
  onResponseClosed(listener: (info: ResponseClosedInfo) => void): () => void
  /**
   * Resolves with the stats once `predicate` holds, re-checking on every socket and response
   * event; rejects after `timeoutMs` with an Error that prints the current stats.
   */
  waitFor(predicate: (stats: Stats) => boolean, options?: WaitOptions): Promise<Stats>
  /** Waits for `inflight === 0` (and `open === 0` when `sockets` is true). */
  waitForIdle(options?: WaitOptions & { readonly sockets?: boolean }): Promise<Stats>
  /**
   * Destroys sockets that carry no live response (a client's idle keep-alive pool) and resolves
   * once they are closed. Call it only while no request is on its way.
   */
  closeIdleSockets(): Promise<void>
  /** Destroys every socket (live responses count as closed by the server) and stops listening. Idempotent. */
  close(): Promise<void>
}

/** Starts a server; resolves once it listens. */
export const start = (options?: StartOptions): Promise<Server> => startServer(options ?? {})

/** The service tag of a {@link Server} in an Effect context. */
export class FakeLlmServer extends Context.Tag("@streamvisor/testkit/FakeLlmServer")<FakeLlmServer, Server>() {}

/** A server whose lifetime is the current scope. */
export const make = (options?: StartOptions): Effect.Effect<Server, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.promise(() => start(options)),
    (server) => Effect.promise(() => server.close())
  )

/** A scoped layer providing {@link FakeLlmServer}; the server closes when the layer's scope ends. */
export const layer = (options?: StartOptions): Layer.Layer<FakeLlmServer> => Layer.scoped(FakeLlmServer, make(options))
