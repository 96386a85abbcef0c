/**
 * The API key never leaks, for every adapter (the table in
 * `support/Adapters.ts`): every error path is driven with a recognisable key
 * (servers, transports and user clients echo it back, as a careless proxy
 * might), and the key must be absent from each error's message, `String`,
 * `util.inspect`, `JSON.stringify`, stack, cause and `Cause.pretty`, and from
 * everything logged: the console (where the SDKs log) and the Effect logger in
 * its string, logfmt and JSON forms. After every test: nothing in flight at the
 * server, nothing live in the ledger, every socket closed, no unhandled rejection.
 */
import { Ledger, LlmError, type Provider } from "@streamvisor/core"
import { streamText } from "@streamvisor/core/promise"
import { FakeLlmServer } from "@streamvisor/testkit"
import { Cause, Effect, Exit, Layer, Logger, LogLevel, Option, Redacted, Stream } from "effect"
import * as util from "node:util"
import { Agent, getGlobalDispatcher, setGlobalDispatcher } from "undici"
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest"
import { type Adapter, adapters, commonCases, type Context, KEY, transports } from "./support/Adapters.js"

let server: FakeLlmServer.Server
let ledger: Ledger.Service
let agent: Agent
let sockets = 0
let previousDispatcher: ReturnType<typeof getGlobalDispatcher> | undefined

const unhandled: Array<unknown> = []
const onUnhandled = (reason: unknown) => unhandled.push(reason)

/** Console lines: the SDKs' own loggers. */
const consoleLines: Array<string> = []
/** Effect logger lines. */
const effectLines: Array<string> = []
/** Every error a test drove to, to check each view of each once more at the end. */
const errors: Array<{ readonly test: string; readonly error: LlmError.LlmError }> = []
let casesRun = 0

const capture = Logger.zip(
  Logger.make(({ cause, message }) => {
    effectLines.push(`${util.inspect(message, { depth: 10 })} ${Cause.pretty(cause)}`)
  }),
  Logger.zip(
    Logger.map(Logger.stringLogger, (line) => effectLines.push(line)),
    Logger.zip(
      Logger.map(Logger.logfmtLogger, (line) => effectLines.push(line)),
      Logger.map(Logger.jsonLogger, (line) => effectLines.push(line))
    )
  )
)
const logLayer = Layer.merge(Logger.replace(Logger.defaultLogger, capture), Logger.minimumLogLevel(LogLevel.All))

/** Every way an error is looked at. */
const views = (error: LlmError.LlmError): Record<string, string> => ({
  message: error.message,
  string: String(error),
  inspect: util.inspect(error, { depth: 10, showHidden: true }),
  json: JSON.stringify(error) ?? "",
  pretty: Cause.pretty(Cause.fail(error)),
  stack: error.stack ?? "",
  cause: "cause" in error ? util.inspect(error.cause, { depth: 10, showHidden: true }) : ""
})

const expectClean = (error: LlmError.LlmError, what: string) => {
  for (const [view, text] of Object.entries(views(error))) {
    expect(text, `${what} (${error._tag}): ${view}`).not.toContain(KEY)
    expect(text, `${what} (${error._tag}): ${view}`).not.toContain("SECRET-KEY")
  }
}

/** Run one stream to its typed failure, logging it through the Effect logger (cause, error, message). */
const drive = (request: Adapter["request"]) => async (provider: Provider.Provider, tag: LlmError.LlmError["_tag"]) => {
  const exit = await Effect.runPromiseExit(
    Stream.runDrain(provider.stream(request)).pipe(
      Effect.tapErrorCause((cause) => Effect.logError("stream failed", cause)),
      Effect.tapError((error) =>
        Effect.all([Effect.logError("stream failed", error), Effect.logError(Cause.fail(error)), Effect.logWarning(error.message)])
      ),
      Effect.provide(logLayer),
      Effect.provideService(Ledger.Ledger, ledger)
    )
  )
  expect(Exit.isFailure(exit)).toBe(true)
  const failure = Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : Option.none()
  if (Option.isNone(failure)) throw new Error(`expected a typed failure: ${String(exit)}`)
  const error = failure.value
  const test = expect.getState().currentTestName ?? "?"
  expect(error._tag, test).toBe(tag)
  expectClean(error, test)
  errors.push({ test, error })
  return error
}

beforeAll(async () => {
  process.on("unhandledRejection", onUnhandled)
  // Before any SDK client exists: the Anthropic SDK caches bound console methods.
  for (const method of ["log", "info", "warn", "error", "debug", "trace"] as const) {
    vi.spyOn(console, method).mockImplementation((...args: Array<unknown>) => {
      consoleLines.push(args.map((a) => (typeof a === "string" ? a : util.inspect(a, { depth: 10 }))).join(" "))
    })
  }
  previousDispatcher = getGlobalDispatcher()
  server = await FakeLlmServer.start()
})

afterAll(async () => {
  process.off("unhandledRejection", onUnhandled)
  vi.restoreAllMocks()
  if (previousDispatcher !== undefined) setGlobalDispatcher(previousDispatcher)
  await server.close()
})

// A pool of its own per test (every SDK and Ollama's fetch client use the
// global fetch), so "every socket closed" can be asserted after closing it.
beforeEach(async () => {
  server.reset()
  await server.closeIdleSockets()
  ledger = Ledger.make()
  sockets = 0
  agent = new Agent()
  agent.on("connect", () => sockets++)
  setGlobalDispatcher(agent)
})

afterEach(async () => {
  try {
    await server.waitFor((s) => s.inflight === 0, { timeoutMs: 2000, message: "inflight" })
    await Effect.runPromise(Ledger.awaitNoneLive(2000).pipe(Effect.provideService(Ledger.Ledger, ledger)))
    const snapshot = ledger.snapshot()
    expect(snapshot.live).toEqual([])
    expect(ledger.doubleReleases()).toBe(0)
    expect(snapshot.opened).toBe(snapshot.released)
    await agent.close()
    await server.waitFor((s) => s.open === 0, { timeoutMs: 2000, message: "open sockets" })
    // Node reports a rejection only after the microtask queue drains.
    for (let i = 0; i < 3; i++) await new Promise<void>((resolve) => setImmediate(resolve))
    expect(unhandled).toEqual([])
  } finally {
    if (!agent.closed) await agent.destroy()
  }
})

const runs = adapters.flatMap((adapter) => transports.map((transport) => [adapter.name, transport, adapter] as const))

describe.each(runs)("%s (%s path): the key never leaks", (_, transport, adapter) => {
  const failWith = drive(adapter.request)
  const ctx: Context = {
    get server() {
      return server
    },
    failWith,
    consoleLines: () => consoleLines
  }

  const cases = [...commonCases, ...adapter.cases].map(([name, script, tag, inMessage]) => [name, tag, script, inMessage] as const)
  it.each(cases)("%s → %s", async (name, tag, script, inMessage) => {
    casesRun++
    server.setScript({ ...script, keepAlive: false })
    const before = consoleLines.length + effectLines.length
    const error = await failWith(adapter.make(adapter.baseUrl(server), transport), tag)
    // An echoed key reaches the message, redacted.
    const expected = inMessage === undefined && name.includes("echoing") ? "<redacted>" : inMessage
    if (typeof expected === "string") expect(error.message).toContain(expected)
    const lines = [...consoleLines, ...effectLines]
    expect(lines.length).toBeGreaterThan(before)
    for (const line of lines.slice(before)) expect(line).not.toContain(KEY)
  })

  it("connection refused → Disconnected", async () => {
    const closed = await FakeLlmServer.start()
    const url = adapter.baseUrl(closed)
    await closed.close()
    await failWith(adapter.make(url, transport), "Disconnected")
  })

  // Each check names its own path.
  if (transport === "bytes") {
    it.each(adapter.checks)("%s", async (_, check) => {
      await check(ctx)
    })
  }

  it("the promise facade throws the same clean errors", async () => {
    const [script, thrownClass] = adapter.facade
    server.setScript(script)
    let thrown: unknown
    try {
      for await (const _ of streamText(adapter.make(adapter.baseUrl(server), transport), adapter.request, { ledger })) {
        // nothing arrives
      }
    } catch (error) {
      thrown = error
    }
    expect(LlmError.isLlmError(thrown)).toBe(true)
    expect(thrown).toBeInstanceOf(thrownClass)
    expectClean(thrown as LlmError.LlmError, "facade")
    errors.push({ test: `${adapter.name} (${transport}) facade`, error: thrown as LlmError.LlmError })
  })

  it("the provider, its options, the key and the ledger do not show the key", () => {
    const apiKey = Redacted.make(KEY)
    const provider = adapter.make(adapter.baseUrl(server), transport)
    expect(util.inspect(provider, { depth: 10, showHidden: true })).not.toContain(KEY)
    expect(JSON.stringify(provider) ?? "").not.toContain(KEY)
    expect(String(apiKey)).not.toContain(KEY)
    expect(JSON.stringify(ledger.snapshot())).not.toContain(KEY)
  })
})

describe("every adapter, at the end", () => {
  it("nothing logged and no error held the key", () => {
    // The SDKs logged the malformed frames, scrubbed; the Effect logger saw every error in four forms.
    expect(consoleLines.some((line) => line.includes("Could not parse message into JSON"))).toBe(true)
    expect(effectLines.length).toBeGreaterThan(casesRun * 3)
    expect(errors.length).toBeGreaterThan(casesRun)
    for (const { error, test } of errors) expectClean(error, test)
    for (const line of [...consoleLines, ...effectLines]) {
      expect(line).not.toContain(KEY)
      expect(line).not.toContain("SECRET-KEY")
    }
    expect(unhandled).toEqual([])
  })
})
