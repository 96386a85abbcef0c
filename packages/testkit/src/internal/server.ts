/**
 * The FakeLlmServer implementation: node:http, exact socket / response accounting, script
 * selection (model route > queued > default) and request recording.
 */
import * as http from "node:http"
import type { Socket } from "node:net"
import { performance } from "node:perf_hooks"
import type {
  BaseUrls,
  InflightResponse,
  RecordedRequest,
  ResponseClosedInfo,
  Server,
  StartOptions,
  Stats,
  WaitOptions
} from "../FakeLlmServer.js"
import type { Check } from "../RequestCheck.js"
import { defaultScript, type Script, type ScriptSource } from "../Script.js"
import { runChecks } from "./checks.js"
import { Exchange } from "./exchange.js"
import { play } from "./playback.js"
import { parseBody, readBody, redactHeaders, redactQuery, respondUnknown, sendJson } from "./request.js"
import { Waiters } from "./waiters.js"
import { normalizeModel, route, wires } from "./wire/index.js"

const DEFAULT_MODEL = "fake-model"

/** Recorded requests kept by default: enough for any test, bounded for a long soak or the standalone server. */
export const DEFAULT_MAX_RECORDED = 1000

/** Issued Responses items remembered for the reasoning check; older ones are forgotten first. */
const MAX_REQUIRED_REASONING = 10_000


class FakeServer implements Server {
  readonly url: string
  readonly port: number
  readonly baseUrls: BaseUrls

  private readonly sockets = new Set<Socket>()
  private readonly live = new Set<Exchange>()
  private readonly waiters = new Waiters()
  private readonly listeners = new Set<(info: ResponseClosedInfo) => void>()
  private readonly recorded: Array<RecordedRequest> = []
  private readonly routes = new Map<string, ScriptSource>()
  private queue: Array<ScriptSource> = []
  private script: ScriptSource
  private validate: ReadonlyArray<Check>
  /** Responses output item id → the reasoning item it requires (items this server issued). */
  private readonly requiredReasoning = new Map<string, string>()
  private readonly maxRecorded: number
  private nextId = 0
  private total = 0
  private completed = 0
  private closedByClient = 0
  private closedByServer = 0
  private closing: Promise<void> | undefined

  constructor(
    private readonly http: http.Server,
    private readonly initialScript: ScriptSource,
    private readonly initialValidate: ReadonlyArray<Check>,
    maxRecorded: number,
    host: string,
    port: number
  ) {
    this.script = initialScript
    this.validate = initialValidate
    this.maxRecorded = Math.max(0, Math.floor(maxRecorded))
    this.port = port
    const hostPart = host.includes(":") ? `[${host}]` : host
    this.url = `http://${hostPart}:${port}`
    this.baseUrls = { anthropic: this.url, openai: `${this.url}/v1`, gemini: this.url, ollama: this.url }
  }

  get requests(): ReadonlyArray<RecordedRequest> {
    return this.recorded
  }

  get lastRequest(): RecordedRequest | undefined {
    return this.recorded[this.recorded.length - 1]
  }

  setValidate(checks: ReadonlyArray<Check>): void {
    this.validate = [...checks]
  }

  setScript(script: ScriptSource): void {
    this.script = script
  }

  enqueue(...scripts: ReadonlyArray<ScriptSource>): void {
    this.queue.push(...scripts)
  }

  scriptFor(model: string, script: ScriptSource): void {
    this.routes.set(normalizeModel(model), script)
  }

  reset(): void {
    this.script = this.initialScript
    this.queue = []
    this.routes.clear()
    this.recorded.length = 0
    this.validate = this.initialValidate
    this.requiredReasoning.clear()
    this.total = 0
    this.completed = 0
    this.closedByClient = 0
    this.closedByServer = 0
    this.notify()
  }

  stats(): Stats {
    return {
      open: this.sockets.size,
      inflight: this.live.size,
      total: this.total,
      completed: this.completed,
      closedByClient: this.closedByClient,
      closedByServer: this.closedByServer
    }
  }

  private describeInflight(): string {
    if (this.live.size === 0) return ""
    const now = performance.now()
    const items = [...this.live]
      .slice(0, 10)
      .map((e) => `#${e.id} ${e.format}${e.model === undefined ? "" : ` model=${e.model}`} ${Math.round(now - e.startedAt)}ms ${e.bytesWritten}B`)
    return `; inflight: ${items.join(", ")}${this.live.size > 10 ? ", …" : ""}`
  }

  inflightResponses(): ReadonlyArray<InflightResponse> {
    return [...this.live].map((exchange) => ({
      id: exchange.id,
      format: exchange.format,
      model: exchange.model,
      startedAt: exchange.startedAt,
      bytesWritten: exchange.bytesWritten
    }))
  }

  onResponseClosed(listener: (info: ResponseClosedInfo) => void): () => void {
    this.listeners.add(listener)
    return () => {
      this.listeners.delete(listener)
    }
  }

  waitFor(predicate: (stats: Stats) => boolean, options?: WaitOptions): Promise<Stats> {
    const timeoutMs = options?.timeoutMs ?? 2000
    return this.waiters.until(() => this.stats(), predicate, timeoutMs, () => {
      const prefix = options?.message ?? "FakeLlmServer.waitFor timed out"
      return new Error(`${prefix} after ${timeoutMs} ms; stats: ${JSON.stringify(this.stats())}${this.describeInflight()}`)
    })
  }

  waitForIdle(options?: WaitOptions & { readonly sockets?: boolean }): Promise<Stats> {
    const sockets = options?.sockets === true
    return this.waitFor((s) => s.inflight === 0 && (!sockets || s.open === 0), {
      timeoutMs: options?.timeoutMs ?? 2000,
      message: options?.message ?? (sockets ? "server not idle (inflight and open sockets)" : "server not idle (inflight)")
    })
  }

  closeIdleSockets(): Promise<void> {
    const busy = new Set<Socket>()
    for (const exchange of this.live) busy.add(exchange.socket)
    const idle = [...this.sockets].filter((socket) => !busy.has(socket))
    return Promise.all(
      idle.map(
        (socket) =>
          new Promise<void>((resolve) => {
            if (socket.destroyed && !this.sockets.has(socket)) return resolve()
            socket.once("close", () => resolve())
            socket.destroy()
          })
      )
    ).then(() => undefined)
  }

  close(): Promise<void> {
    if (this.closing !== undefined) return this.closing
    this.closing = new Promise<void>((resolve) => {
      for (const exchange of this.live) exchange.serverCut = true
      let listening = true
      const check = () => {
        if (listening || this.sockets.size > 0 || this.live.size > 0) return
        this.waiters.delete(waiter)
        resolve()
      }
      const waiter = { check }
      this.waiters.add(waiter)
      this.http.close(() => {
        listening = false
        check()
      })
      for (const socket of this.sockets) socket.destroy()
      check()
    }).then(() => this.notify())
    return this.closing
  }

  // -------------------------------------------------------------------------------------------

  private notify(): void {
    this.waiters.notify()
  }

  /** Wires a new socket into the accounting. */
  onConnection(socket: Socket): void {
    if (this.closing !== undefined) {
      socket.destroy()
      return
    }
    this.sockets.add(socket)
    socket.once("close", () => {
      this.sockets.delete(socket)
      this.notify()
    })
    this.notify()
  }

  private settle(exchange: Exchange, completed: boolean): void {
    if (exchange.settled) return
    exchange.settled = true
    this.live.delete(exchange)
    const byClient = !completed && !exchange.serverCut
    if (completed) this.completed++
    else if (byClient) this.closedByClient++
    else this.closedByServer++
    if (this.listeners.size > 0) {
      const info: ResponseClosedInfo = {
        id: exchange.id,
        format: exchange.format,
        byClient,
        completed,
        startedAt: exchange.startedAt,
        closedAt: performance.now(),
        bytesWritten: exchange.bytesWritten
      }
      for (const listener of [...this.listeners]) {
        try {
          listener(info)
        } catch {
          // a listener's failure is not the server's
        }
      }
    }
    this.notify()
  }

  /** Handles one request, from arrival to the end of its playback. */
  onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    const exchange = new Exchange(++this.nextId, performance.now(), res, req.socket)
    if (this.closing !== undefined) exchange.serverCut = true
    this.total++
    this.live.add(exchange)
    res.once("finish", () => this.settle(exchange, true))
    res.once("close", () => {
      exchange.markClosed()
      this.settle(exchange, false)
    })
    this.notify()
    this.handle(exchange, req, res).catch(() => {
      if (!exchange.closed) exchange.cut()
    })
  }

  private async handle(exchange: Exchange, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const method = req.method ?? "GET"
    const url = new URL(req.url ?? "/", "http://localhost")
    const resolved = method === "POST" ? route(url.pathname) : { format: "unknown" as const }
    exchange.format = resolved.format
    const raw = await readBody(req)
    const body = parseBody(raw)
    const bodyModel = (body as { model?: unknown } | undefined)?.model
    const model = resolved.pathModel ?? (typeof bodyModel === "string" ? bodyModel : undefined)
    exchange.model = model
    const recorded: RecordedRequest = {
      id: exchange.id,
      method,
      path: url.pathname,
      query: redactQuery(url.searchParams),
      headers: redactHeaders(req.headers),
      body,
      model,
      format: resolved.format,
      receivedAt: exchange.startedAt
    }
    this.record(recorded)
    if (exchange.closed) return

    if (resolved.format === "unknown") return respondUnknown(method, url.pathname, res)

    let script: Script
    try {
      script = await this.resolveScript(recorded)
    } catch (error) {
      const message = `FakeLlmServer: the script function threw: ${String((error as Error)?.message ?? error)}`
      return sendJson(res, 500, { error: { message, type: "fake_server_error" } }, method)
    }
    if (exchange.closed) return
    const wire = wires[resolved.format]
    const checks = [
      ...this.validate,
      ...(script.validate ?? []),
      ...(script.expectRequest === undefined ? [] : [script.expectRequest])
    ]
    if (checks.length > 0) {
      let rejection
      try {
        rejection = runChecks(checks, { request: recorded, requiredReasoning: this.requiredReasoning })
      } catch (error) {
        const message = `FakeLlmServer: a request check threw: ${String((error as Error)?.message ?? error)}`
        return sendJson(res, 500, { error: { message, type: "fake_server_error" } }, method)
      }
      if (rejection !== undefined) {
        const body = rejection.body ?? wire.errorBody(rejection.status, {}, rejection.message, rejection.param)
        return sendJson(res, rejection.status, body, method, { "x-request-id": `req_fake_${exchange.id}` })
      }
    }
    await play({
      id: exchange.id,
      script,
      wire,
      streaming: wire.isStreaming(body, url.pathname),
      model: model ?? DEFAULT_MODEL,
      body,
      res,
      life: exchange,
      requireReasoning: (itemId, reasoningId) => this.requireReasoning(itemId, reasoningId)
    })
  }

  /** Keeps the last `maxRecorded` requests, newest last. */
  private record(request: RecordedRequest): void {
    if (this.maxRecorded === 0) return
    this.recorded.push(request)
    if (this.recorded.length > this.maxRecorded) this.recorded.splice(0, this.recorded.length - this.maxRecorded)
  }

  private requireReasoning(itemId: string, reasoningId: string): void {
    this.requiredReasoning.set(itemId, reasoningId)
    if (this.requiredReasoning.size > MAX_REQUIRED_REASONING) {
      const oldest = this.requiredReasoning.keys().next().value
      if (oldest !== undefined) this.requiredReasoning.delete(oldest)
    }
  }

  private async resolveScript(request: RecordedRequest): Promise<Script> {
    let source: ScriptSource | undefined
    if (request.model !== undefined) source = this.routes.get(normalizeModel(request.model))
    if (source === undefined) source = this.queue.shift()
    if (source === undefined) source = this.script
    return typeof source === "function" ? await source(request) : source
  }
}

/** Starts a FakeLlmServer. */
export const startServer = (options: StartOptions): Promise<Server> =>
  new Promise((resolve, reject) => {
    const host = options.host ?? "127.0.0.1"
    const httpServer = http.createServer({ keepAlive: true, noDelay: true })
    httpServer.keepAliveTimeout = options.keepAliveTimeout ?? 5000
    let server: FakeServer | undefined
    const pendingSockets: Array<Socket> = []
    httpServer.on("connection", (socket: Socket) => {
      if (server === undefined) pendingSockets.push(socket)
      else server.onConnection(socket)
    })
    httpServer.on("request", (req: http.IncomingMessage, res: http.ServerResponse) => {
      if (server === undefined) {
        res.writeHead(503).end()
        return
      }
      server.onRequest(req, res)
    })
    httpServer.once("error", reject)
    httpServer.listen(options.port ?? 0, host, () => {
      httpServer.off("error", reject)
      const address = httpServer.address()
      const port = typeof address === "object" && address !== null ? address.port : options.port ?? 0
      server = new FakeServer(
        httpServer,
        options.script ?? defaultScript,
        options.validate ?? [],
        options.maxRecordedRequests ?? DEFAULT_MAX_RECORDED,
        host,
        port
      )
      for (const socket of pendingSockets.splice(0)) server.onConnection(socket)
      resolve(server)
    })
  })
