/**
 * The API key never shows: every error path is driven with a recognisable
 * key (some with a server that echoes it back), and the key must be absent
 * from each error's message, `String`, `util.inspect`, `JSON.stringify`, and
 * from everything logged through the console or the Effect logger.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import { LlmError, type Provider } from "@streamvisor/core"
import { streamText } from "@streamvisor/core/promise"
import { FakeLlmServer, Script } from "@streamvisor/testkit"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as util from "node:util"
import { afterAll, describe, expect, it, vi } from "vitest"
import { Ollama } from "../src/index.js"
import { harness, type Harness, run, SECRET, server, settle, useFakeServer, user } from "./support/Harness.js"

let h: Harness

useFakeServer()

const request = { model: "llama3.2", messages: user() }

/** Everything that was logged, through the console or the Effect logger. */
const logged: Array<string> = []
const capture = Logger.make(({ cause, message }) => {
  logged.push(util.inspect(message, { depth: 10 }), Cause.pretty(cause))
})
const logLayer = Layer.merge(Logger.replace(Logger.defaultLogger, capture), Logger.minimumLogLevel(LogLevel.All))

/** Every way an error is looked at. */
const views = (error: unknown): Record<string, string> => ({
  message: (error as { message?: string }).message ?? "",
  string: String(error),
  inspect: util.inspect(error, { depth: 10, showHidden: true }),
  json: JSON.stringify(error) ?? "",
  cause: util.inspect((error as { cause?: unknown }).cause, { depth: 10, showHidden: true })
})

const errors: Array<{ scenario: string; error: LlmError.LlmError }> = []

/** An `HttpClient` over `FetchHttpClient` with the given `fetch`. */
const clientOver = (fetch: typeof globalThis.fetch): HttpClient.HttpClient =>
  Effect.runSync(
    Effect.provide(HttpClient.HttpClient, FetchHttpClient.layer.pipe(Layer.provide(Layer.succeed(FetchHttpClient.Fetch, fetch))))
  )

/** Run one stream to its failure, log the failure, and keep it. */
const drive = async (scenario: string, provider: Provider.Provider) => {
  const exit = await run(
    h,
    Stream.runDrain(provider.stream(request)).pipe(
      Effect.tapErrorCause((cause) => Effect.logError("stream failed", cause)),
      Effect.provide(logLayer)
    )
  )
  if (Exit.isSuccess(exit)) throw new Error(`${scenario}: expected a failure`)
  const failure = Cause.failureOption(exit.cause)
  if (Option.isNone(failure)) throw new Error(`${scenario}: expected a typed failure: ${Cause.pretty(exit.cause)}`)
  errors.push({ scenario, error: failure.value })
  return failure.value
}

describe("the key never leaks", () => {
  const spies = (["log", "info", "warn", "error", "debug", "trace"] as const).map((method) =>
    vi.spyOn(console, method).mockImplementation((...args: Array<unknown>) => {
      logged.push(args.map((arg) => util.inspect(arg, { depth: 10 })).join(" "))
    })
  )
  afterAll(() => {
    for (const spy of spies) spy.mockRestore()
  })

  it("through every error path", async () => {
    const echo = `the key was Bearer ${SECRET} (${SECRET})`
    const scripts: Array<[string, Script.Script]> = [
      ["401", Script.status(401)],
      ["401 echoing the key", Script.status(401, { body: { error: echo } })],
      ["403 text body echoing the key", Script.status(403, { body: echo })],
      ["429", Script.status(429, { headers: { "retry-after": "1" } })],
      ["500", Script.status(500)],
      ["529", Script.status(529)],
      ["404", Script.status(404)],
      ["400", Script.status(400)],
      ["error line overloaded", Script.withFault(Script.text(3), { type: "errorEvent", afterEvents: 1, kind: "overloaded" })],
      ["error line server", Script.withFault(Script.text(3), { type: "errorEvent", afterEvents: 1, kind: "server" })],
      ["error line rate_limit", Script.withFault(Script.text(3), { type: "errorEvent", afterEvents: 1, kind: "rate_limit" })],
      ["error line echoing the key", Script.replay([JSON.stringify({ error: echo })])],
      ["malformed", Script.withFault(Script.text(3), { type: "malformed", afterEvents: 1 })],
      ["malformed line echoing the key", Script.replay([`not json ${echo}`])],
      ["bad shape echoing the key", Script.replay([JSON.stringify({ message: { content: 1, note: echo }, done: false })])],
      ["disconnect", Script.withFault(Script.text(3), { type: "disconnect", afterEvents: 1 })],
      ["no done line", Script.replay([JSON.stringify({ message: { content: "a" }, done: false })])],
      ["line too long", Script.replay(["x".repeat(5000)])]
    ]
    h = harness(server, { maxLineBytes: 4096 })
    for (const [scenario, script] of scripts) {
      server.setScript(script)
      await drive(scenario, h.provider)
    }
    expect(errors.map((e) => [e.scenario, e.error._tag])).toEqual([
      ["401", "Unauthorized"],
      ["401 echoing the key", "Unauthorized"],
      ["403 text body echoing the key", "Unauthorized"],
      ["429", "RateLimited"],
      ["500", "ServerError"],
      ["529", "Overloaded"],
      ["404", "InvalidRequest"],
      ["400", "InvalidRequest"],
      ["error line overloaded", "Overloaded"],
      ["error line server", "ServerError"],
      ["error line rate_limit", "RateLimited"],
      ["error line echoing the key", "ServerError"],
      ["malformed", "ProtocolError"],
      ["malformed line echoing the key", "ProtocolError"],
      ["bad shape echoing the key", "ProtocolError"],
      ["disconnect", "Disconnected"],
      ["no done line", "Disconnected"],
      ["line too long", "ProtocolError"]
    ])
    // the echoed key did reach the messages, redacted
    expect(errors[1].error.message).toContain("Bearer <redacted>")
    await settle(server, h)
  })

  it("through transport failures and defects of the HTTP client", async () => {
    h = harness(server)
    // connection refused
    const closed = await FakeLlmServer.start()
    const host = closed.baseUrls.ollama
    await closed.close()
    expect((await drive("refused", Ollama.make({ host, apiKey: SECRET, httpClient: h.httpClient })))._tag).toBe(
      "Disconnected"
    )
    // a fetch that fails with the key in its message (as undici does for an invalid header value)
    const failingFetch = (() => Promise.reject(new TypeError(`invalid header value "Bearer ${SECRET}"`))) as typeof fetch
    const transport = await drive(
      "fetch rejects",
      Ollama.make({ host: server.baseUrls.ollama, apiKey: SECRET, httpClient: clientOver(failingFetch) })
    )
    expect(transport._tag).toBe("Unknown")
    expect(transport.message).toContain("Bearer <redacted>")
    // a fetch that fails as undici does when the connection is reset
    const resetFetch = (() =>
      Promise.reject(
        new TypeError("fetch failed", { cause: Object.assign(new Error(`read ECONNRESET ${SECRET}`), { code: "ECONNRESET" }) })
      )) as typeof fetch
    const cut = await drive(
      "fetch reset",
      Ollama.make({ host: server.baseUrls.ollama, apiKey: SECRET, httpClient: clientOver(resetFetch) })
    )
    expect(cut._tag).toBe("Disconnected")
    expect(cut.message).toContain("ECONNRESET")
    // a client that dies with the key (and the request, headers included) in the defect
    const dying = HttpClient.make((req) => Effect.die(Object.assign(new Error(`boom ${SECRET}`), { request: req, headers: req.headers })))
    const unknown = await drive("defect", Ollama.make({ host: server.baseUrls.ollama, apiKey: Redacted.make(SECRET), httpClient: dying }))
    expect(unknown._tag).toBe("Unknown")
    expect(unknown.message).toContain("boom <redacted>")
    await settle(server, h)
  })

  it("through the promise facade", async () => {
    h = harness(server)
    server.setScript(Script.status(401, { body: { error: `nope ${SECRET}` } }))
    let thrown: unknown
    try {
      for await (const _ of streamText(h.provider, request, { ledger: h.ledger })) {
        // nothing arrives
      }
    } catch (error) {
      thrown = error
    }
    expect(LlmError.isLlmError(thrown)).toBe(true)
    errors.push({ scenario: "facade", error: thrown as LlmError.LlmError })
    await settle(server, h)
  })

  it("in no error, log line or inspected provider", () => {
    expect(errors.length).toBeGreaterThan(20)
    for (const { error, scenario } of errors) {
      for (const [view, text] of Object.entries(views(error))) {
        expect(text.includes(SECRET), `${scenario} (${error._tag}): ${view}`).toBe(false)
      }
    }
    expect(logged.length).toBeGreaterThan(20)
    for (const line of logged) expect(line.includes(SECRET), line).toBe(false)
    const provider = Ollama.make({ apiKey: SECRET })
    expect(util.inspect(provider, { depth: 10, showHidden: true }).includes(SECRET)).toBe(false)
    expect(JSON.stringify(provider) ?? "").not.toContain(SECRET)
  })
})
