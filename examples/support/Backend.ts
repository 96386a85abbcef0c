/**
 * What every example shares: where the answers come from, and the leak report
 * each example ends with.
 *
 * - By default every provider talks to an embedded `FakeLlmServer` (from
 *   `@streamvisor/testkit`): a real HTTP server on 127.0.0.1 that speaks each
 *   provider's wire format, so the real SDKs run end to end with no API key.
 * - With `--live`, a provider whose key is in the environment (ANTHROPIC_API_KEY,
 *   OPENAI_API_KEY, GEMINI_API_KEY, OLLAMA_HOST) talks to the real API instead;
 *   the others stay on the fake server, with a message saying so.
 * - All HTTP goes through one dedicated connection pool (an undici `Agent`)
 *   that is closed at the end, so the fake server's count of open sockets
 *   really reaches 0 when nothing leaked.
 *
 * `runMain(program)` runs an example: it starts the server and the pool,
 * provides `Backend` to the program, and afterwards prints the ledger as the
 * last lines, exiting 1 if the program failed or anything leaked.
 */
import { Anthropic } from "@streamvisor/anthropic"
import { Ledger, Provider } from "@streamvisor/core"
import { Google } from "@streamvisor/google"
import { Ollama } from "@streamvisor/ollama"
import { OpenAI } from "@streamvisor/openai"
import { FakeLlmServer, Script } from "@streamvisor/testkit"
import { Cause, Console, Context, Effect, Exit, type Scope } from "effect"
import { Agent, type Dispatcher, getGlobalDispatcher, setGlobalDispatcher } from "undici"

/** The five wire formats: four providers, OpenAI with two APIs. */
export type Wire = "anthropic" | "openai-chat" | "openai-responses" | "gemini" | "ollama"

export const wires: ReadonlyArray<Wire> = ["anthropic", "openai-chat", "openai-responses", "gemini", "ollama"]

interface Target {
  readonly label: string
  /** The environment variable that makes `--live` use the real API. */
  readonly env: string
  /** The model asked for (the fake server answers to any name). */
  readonly model: string
}

export const targets: Record<Wire, Target> = {
  anthropic: { label: "Anthropic", env: "ANTHROPIC_API_KEY", model: "claude-haiku-4-5" },
  "openai-chat": { label: "OpenAI Chat Completions", env: "OPENAI_API_KEY", model: "gpt-4o-mini" },
  "openai-responses": { label: "OpenAI Responses", env: "OPENAI_API_KEY", model: "gpt-4o-mini" },
  gemini: { label: "Google Gemini", env: "GEMINI_API_KEY", model: "gemini-2.5-flash" },
  ollama: { label: "Ollama", env: "OLLAMA_HOST", model: process.env.OLLAMA_MODEL ?? "llama3.2" }
}

/** What an example gets from `runMain`. */
export interface Service {
  /** The embedded fake server: examples set its scripts (faults, delays…). */
  readonly server: FakeLlmServer.Server
  /** The provider for a wire format: the real API with `--live` and a key, else the fake server. */
  readonly provider: (wire: Wire) => Provider.Provider
  /** The model name to ask for on that wire. */
  readonly model: (wire: Wire) => string
  /** Whether that wire talks to the real API. */
  readonly isLive: (wire: Wire) => boolean
}

export class Backend extends Context.Tag("examples/Backend")<Backend, Service>() {}

/**
 * Pin a provider to one model. `fallback` and `hedge` hand the same request to
 * every provider, so when they mix providers each one needs its own model.
 */
export const withModel = Provider.withModel

// ---------------------------------------------------------------------------
// What the fake server says by default: a short answer, word by word, that
// echoes the last user message and counts the messages it was sent (so a chat
// session's history is visible).
// ---------------------------------------------------------------------------

const textOf = (value: unknown): string => {
  if (typeof value === "string") return value
  if (Array.isArray(value)) return value.map(textOf).join("")
  if (typeof value === "object" && value !== null) {
    const v = value as { content?: unknown; text?: unknown; parts?: unknown }
    return textOf(v.content ?? v.text ?? v.parts ?? "")
  }
  return ""
}

const conversation = (body: unknown): ReadonlyArray<{ readonly role?: string }> => {
  const b = (body ?? {}) as { messages?: unknown; input?: unknown; contents?: unknown }
  const list = b.messages ?? b.input ?? b.contents
  return Array.isArray(list) ? list.filter((m) => m?.role !== "system" && m?.role !== "developer") : []
}

/** Split a sentence into word deltas ("Hello ", "world"). */
export const deltas = (sentence: string): Array<string> => sentence.match(/\S+\s*/g) ?? []

/** The text of the last message of a recorded request body, whatever its wire format. */
export const lastMessageText = (body: unknown): string => textOf(conversation(body).at(-1))

export const echoScript: Script.ScriptFn = (request) => {
  const messages = conversation(request.body)
  const said = textOf(messages.at(-1)).slice(0, 60)
  const answer = `Hello from the fake ${request.format} server! You said "${said}"; ` +
    `this conversation has ${messages.length} message(s).`
  return Script.text(deltas(answer), { delayMs: 5 })
}

// ---------------------------------------------------------------------------
// Command line and connection pool
// ---------------------------------------------------------------------------

/** `--live` on the command line. */
export const liveRequested = (argv: ReadonlyArray<string> = process.argv.slice(2)): boolean => argv.includes("--live")

/**
 * One undici `Agent` for all HTTP. It becomes the global dispatcher, which the
 * Anthropic and OpenAI SDKs, the Gemini SDK and Ollama's fetch client all use.
 * Closing it closes its idle keep-alive sockets.
 */
export const connectionPool = Effect.acquireRelease(
  Effect.sync(() => {
    const previous: Dispatcher = getGlobalDispatcher()
    const agent = new Agent({ keepAliveTimeout: 10_000 })
    setGlobalDispatcher(agent)
    return { agent, previous }
  }),
  ({ agent, previous }) =>
    Effect.promise(() => closeAgent(agent)).pipe(Effect.ensuring(Effect.sync(() => setGlobalDispatcher(previous))))
)

/** `close()` waits for requests in flight; after 2 s, destroy instead. */
export const closeAgent = async (agent: Agent): Promise<void> => {
  if (agent.closed || agent.destroyed) return
  let timer: ReturnType<typeof setTimeout> | undefined
  const timedOut = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), 2_000)
  })
  const result = await Promise.race([agent.close().then(() => "closed" as const), timedOut])
  clearTimeout(timer)
  if (result === "timeout") await agent.destroy()
}

export const makeService = (
  server: FakeLlmServer.Server,
  live: boolean,
  log: (line: string) => void
): Service => {
  const cache = new Map<Wire, Provider.Provider>()
  const told = new Set<Wire>()
  const isLive = (wire: Wire): boolean => {
    const target = targets[wire]
    const yes = live && (process.env[target.env] ?? "") !== ""
    if (live && !told.has(wire)) {
      told.add(wire)
      log(
        yes
          ? `${target.label}: using the real API (${target.env} is set)`
          : `${target.env} is not set: ${target.label} uses the embedded fake server`
      )
    }
    return yes
  }
  const build = (wire: Wire): Provider.Provider => {
    const target = targets[wire]
    if (isLive(wire)) {
      const key = process.env[target.env]! // for Ollama: the host
      switch (wire) {
        case "anthropic":
          return Anthropic.make({ apiKey: key })
        case "openai-chat":
          return OpenAI.make({ apiKey: key })
        case "openai-responses":
          return OpenAI.make({ apiKey: key, api: "responses" })
        case "gemini":
          return Google.make({ apiKey: key })
        case "ollama":
          return Ollama.make({ host: key })
      }
    }
    // The fake server accepts any key.
    const key = "fake-key"
    switch (wire) {
      case "anthropic":
        return Anthropic.make({ apiKey: key, baseURL: server.baseUrls.anthropic })
      case "openai-chat":
        return OpenAI.make({ apiKey: key, baseURL: server.baseUrls.openai })
      case "openai-responses":
        return OpenAI.make({ apiKey: key, baseURL: server.baseUrls.openai, api: "responses" })
      case "gemini":
        return Google.make({ apiKey: key, baseURL: server.baseUrls.gemini })
      case "ollama":
        return Ollama.make({ host: server.baseUrls.ollama })
    }
  }
  return {
    server,
    isLive,
    model: (wire) => targets[wire].model,
    provider: (wire) => {
      let provider = cache.get(wire)
      if (provider === undefined) {
        provider = build(wire)
        cache.set(wire, provider)
      }
      return provider
    }
  }
}

// ---------------------------------------------------------------------------
// The leak report
// ---------------------------------------------------------------------------

export interface Report {
  readonly lines: ReadonlyArray<string>
  readonly leaked: boolean
}

/**
 * Close the connection pool and read the ledger and the fake server's
 * counters: say whether anything leaked.
 */
export const report = (server: FakeLlmServer.Server, pool: Agent): Effect.Effect<Report> =>
  Effect.gen(function*() {
    // Releases finish on their own fibers: give the last ones a moment.
    yield* Ledger.awaitNoneLive("2 seconds").pipe(Effect.ignore)
    const inflight = (yield* Effect.promise(() =>
      server.waitForIdle({ timeoutMs: 2_000 }).catch(() => server.stats())
    )).inflight
    // Closing the pool closes its idle keep-alive sockets: the server's count
    // of open connections must then reach 0.
    yield* Effect.promise(() => closeAgent(pool))
    const open = (yield* Effect.promise(() =>
      server.waitForIdle({ sockets: true, timeoutMs: 2_000 }).catch(() => server.stats())
    )).open
    const ledger = yield* Ledger.snapshot
    const doubles = (yield* Ledger.Ledger).doubleReleases()
    const leaked = ledger.live.length > 0 || ledger.opened !== ledger.released || doubles > 0 || inflight > 0 ||
      open > 0
    const lines = [
      `ledger: streams opened ${ledger.opened}, released ${ledger.released}, live ${ledger.live.length}`,
      `server: connections open ${open}, responses in flight ${inflight}`
    ]
    if (leaked) {
      const live = ledger.live.map((s) => `#${s.id} ${s.provider}/${s.model}`).join(", ")
      lines.push(`LEAK: ${live || "see the counts above"}${doubles > 0 ? ` (${doubles} double releases)` : ""}`)
    }
    return { lines, leaked }
  })

export interface RunOptions {
  /**
   * The example injects faults into the fake server, so `--live` makes no
   * sense for it: it always uses the fake server.
   */
  readonly fakeOnly?: boolean
}

/**
 * Run an example: server, pool, the program in its own scope, then the
 * ledger as the last lines. Exits 0 only if the program succeeded and nothing
 * leaked.
 */
export const runMain = <E>(
  program: Effect.Effect<void, E, Backend | Scope.Scope>,
  options: RunOptions = {}
): void => {
  const live = liveRequested() && options.fakeOnly !== true
  if (liveRequested() && options.fakeOnly === true) {
    console.log("(this example injects faults, so it always runs against the embedded fake server)")
  }
  const main = Effect.gen(function*() {
    const server = yield* FakeLlmServer.make({ script: echoScript })
    const pool = yield* connectionPool
    const backend = makeService(server, live, (line) => console.log(line))

    const exit = yield* program.pipe(Effect.scoped, Effect.provideService(Backend, backend), Effect.exit)
    if (Exit.isFailure(exit)) yield* Console.error(`\nthe example failed:\n${Cause.pretty(exit.cause)}`)

    const { leaked, lines } = yield* report(server, pool.agent)
    yield* Console.log("")
    for (const line of lines) yield* Console.log(line)
    return Exit.isSuccess(exit) && !leaked ? 0 : 1
  })
  Effect.runPromise(Effect.scoped(main)).then(
    (code) => process.exit(code),
    (error) => {
      console.error(error)
      process.exit(1)
    }
  )
}

/** `runMain` for code without Effect: the program is an async function. */
export const runMainAsync = (program: (backend: Service) => Promise<void>, options: RunOptions = {}): void =>
  runMain(Effect.flatMap(Backend, (backend) => Effect.tryPromise(() => program(backend))), options)
