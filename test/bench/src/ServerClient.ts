/**
 * The bench's side of the server child: starts `ServerProcess.ts`, sends it
 * commands, and collects its response-closed events by model name (each run
 * that needs them uses a model name of its own).
 */
import { fork, type ChildProcess } from "node:child_process"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import type { FakeLlmServer } from "@streamvisor/testkit"
import type { Closed, Command, Event, Inflight, Reply, ScriptSpec } from "./Protocol.js"

const here = path.dirname(fileURLToPath(import.meta.url))
/** The bench package's folder: `tsx` resolves from there. */
export const benchDir = path.resolve(here, "..")

/** Base URLs as each client takes them. */
export interface Urls {
  readonly url: string
  /** Anthropic SDK, @effect/ai-anthropic: no `/v1`. */
  readonly anthropic: string
  /** OpenAI SDK, @ai-sdk/openai, @effect/ai-openai: with `/v1`. */
  readonly openai: string
  /** Gemini SDK, @effect/ai-google: no version path. */
  readonly gemini: string
  /** Ollama host. */
  readonly ollama: string
}

export class ServerClient {
  private nextId = 0
  private readonly pending = new Map<number, (reply: Reply) => void>()
  private readonly closed = new Map<string, Closed>()
  private readonly closeWaiters = new Map<string, (closed: Closed) => void>()

  private constructor(
    private readonly child: ChildProcess,
    readonly urls: Urls
  ) {
    child.on("message", (message: Reply | Event) => {
      if ("type" in message) {
        if (message.type === "closed") this.onClosed(message)
        return
      }
      const resolve = this.pending.get(message.id)
      this.pending.delete(message.id)
      resolve?.(message)
    })
  }

  /** Forks the server child and resolves once it listens. */
  static start(): Promise<ServerClient> {
    return new Promise((resolve, reject) => {
      const child = fork(path.join(here, "ServerProcess.ts"), [], {
        cwd: benchDir,
        execArgv: ["--import", "tsx"],
        stdio: ["ignore", "inherit", "inherit", "ipc"]
      })
      const onExit = (code: number | null) => reject(new Error(`the server child exited (${code}) before listening`))
      child.once("exit", onExit)
      child.once("error", reject)
      child.on("message", function ready(message: Event | Reply) {
        if (!("type" in message) || message.type !== "ready") return
        child.off("message", ready)
        child.off("exit", onExit)
        const url = message.url
        resolve(new ServerClient(child, { url, anthropic: url, openai: `${url}/v1`, gemini: url, ollama: url }))
      })
    })
  }

  private onClosed(closed: Closed): void {
    if (closed.model === undefined) return
    const waiter = this.closeWaiters.get(closed.model)
    if (waiter !== undefined) {
      this.closeWaiters.delete(closed.model)
      waiter(closed)
    } else {
      this.closed.set(closed.model, closed)
    }
  }

  private call(command: Command): Promise<Reply & { ok: true }> {
    const id = ++this.nextId
    return new Promise((resolve, reject) => {
      this.pending.set(id, (reply) => (reply.ok ? resolve(reply) : reject(new Error(`server child: ${reply.error}`))))
      this.child.send({ ...command, id })
    })
  }

  async setScript(script: ScriptSpec): Promise<void> {
    await this.call({ type: "setScript", script })
  }

  /** Plays `script` for every request for `model` (until `reset`). */
  async scriptFor(model: string, script: ScriptSpec): Promise<void> {
    await this.call({ type: "scriptFor", model, script })
  }

  async stats(): Promise<FakeLlmServer.Stats> {
    return (await this.call({ type: "stats" })).stats!
  }

  async inflight(): Promise<ReadonlyArray<Inflight>> {
    return (await this.call({ type: "inflight" })).inflight!
  }

  /** Clears scripts, recorded requests and counters (not live responses). */
  async reset(): Promise<void> {
    this.closed.clear()
    await this.call({ type: "reset" })
  }

  /** Resolves once nothing is in flight; rejects after `timeoutMs`. */
  async waitForIdle(timeoutMs = 10_000): Promise<FakeLlmServer.Stats> {
    return (await this.call({ type: "waitForIdle", timeoutMs })).stats!
  }

  async closeIdleSockets(): Promise<void> {
    await this.call({ type: "closeIdleSockets" })
  }

  /**
   * The response-closed event of the request made with `model`, on the shared
   * clock; `undefined` when none arrives within `timeoutMs`.
   */
  closeOf(model: string, timeoutMs: number): Promise<Closed | undefined> {
    const seen = this.closed.get(model)
    if (seen !== undefined) {
      this.closed.delete(model)
      return Promise.resolve(seen)
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.closeWaiters.delete(model)
        resolve(undefined)
      }, timeoutMs)
      this.closeWaiters.set(model, (closed) => {
        clearTimeout(timer)
        resolve(closed)
      })
    })
  }

  /** Closes the server and ends the child. */
  async close(): Promise<void> {
    await this.call({ type: "close" }).catch(() => undefined)
    await new Promise<void>((resolve) => {
      if (this.child.exitCode !== null) return resolve()
      this.child.once("exit", () => resolve())
      this.child.disconnect()
    })
  }
}
