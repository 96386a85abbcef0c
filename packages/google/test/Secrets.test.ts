/**
 * The API key never leaks: every error path is driven with a recognisable key
 * and the key must be absent from each error's message, `String(error)`,
 * `util.inspect(error, { depth: 10 })`, `JSON.stringify(error)`, and from
 * everything logged (console and the Effect logger, which logs each failure's
 * cause).
 */
import { describe, expect, it } from "@effect/vitest"
import { type ChatRequest, Ledger, LlmError, type Provider } from "@streamvisor/core"
import { streamText } from "@streamvisor/core/promise"
import { Script } from "@streamvisor/testkit"
import { Effect, Exit, Logger, Redacted, Stream } from "effect"
import * as net from "node:net"
import * as util from "node:util"
import { afterEach, beforeEach, vi } from "vitest"
import { Google } from "../src/index.js"
import { harness, KEY } from "./support/Harness.js"

const h = harness()

const hi: ChatRequest.ChatRequest = { model: "gemini-test", messages: [{ role: "user", content: "Hi" }] }

const logged: Array<string> = []
const captureLogs = Logger.replace(
  Logger.defaultLogger,
  Logger.map(Logger.logfmtLogger, (line) => {
    logged.push(line)
  })
)

let consoleSpies: Array<ReturnType<typeof vi.spyOn>> = []
beforeEach(() => {
  logged.length = 0
  consoleSpies = (["log", "info", "warn", "error", "debug"] as const).map((method) =>
    vi.spyOn(console, method).mockImplementation((...args: Array<unknown>) => {
      logged.push(util.format(...args))
    })
  )
})
afterEach(() => {
  for (const spy of consoleSpies) spy.mockRestore()
})

/** Run one stream to its end, logging its failure through the Effect logger; return the typed error. */
const failWith = (provider: Provider.Provider, script?: Script.Script) =>
  Effect.gen(function*() {
    if (script !== undefined) h.server.setScript(script)
    const exit = yield* provider.stream(hi).pipe(
      Stream.runDrain,
      Effect.tapErrorCause((cause) => Effect.logError("stream failed", cause)),
      Effect.provideService(Ledger.Ledger, h.ledger),
      Effect.provide(captureLogs),
      Effect.exit
    )
    if (Exit.isSuccess(exit) || exit.cause._tag !== "Fail") throw new Error(`expected a typed failure: ${String(exit)}`)
    return exit.cause.error
  })

const assertClean = (error: LlmError.LlmError) => {
  const views = [
    error.message,
    String(error),
    util.inspect(error, { depth: 10 }),
    JSON.stringify(error),
    error._tag === "Unknown" ? util.inspect(error.cause, { depth: 10, showHidden: true }) : ""
  ]
  for (const view of views) expect(view).not.toContain(KEY)
}

const echo = (code: number) => ({ error: { code, message: `API key ${KEY} not valid. Please pass a valid API key.` } })

const cases: ReadonlyArray<readonly [string, Script.Script, string]> = [
  ["HTTP 400 echoing the key", Script.status(400, { body: echo(400) }), "InvalidRequest"],
  ["HTTP 401", Script.status(401), "Unauthorized"],
  ["HTTP 403 echoing the key", Script.status(403, { body: echo(403) }), "Unauthorized"],
  ["HTTP 429", Script.status(429, { headers: { "retry-after": "1" } }), "RateLimited"],
  ["HTTP 500", Script.status(500), "ServerError"],
  ["HTTP 503", Script.status(503), "ServerError"],
  ["HTTP 529", Script.status(529), "Overloaded"],
  ["error frame overloaded", Script.withFault(Script.text(3), { type: "errorEvent", afterEvents: 1, kind: "overloaded" }), "Overloaded"],
  ["error frame server", Script.withFault(Script.text(3), { type: "errorEvent", afterEvents: 1, kind: "server" }), "ServerError"],
  ["error frame rate_limit", Script.withFault(Script.text(3), { type: "errorEvent", afterEvents: 1, kind: "rate_limit" }), "RateLimited"],
  ["error frame echoing the key", Script.replay([JSON.stringify(echo(400))]), "InvalidRequest"],
  ["error frame with no code (Unknown, cause kept)", Script.replay([JSON.stringify({ error: { message: `odd ${KEY}` } })]), "Unknown"],
  ["malformed frame", Script.withFault(Script.text(3), { type: "malformed", afterEvents: 1 }), "ProtocolError"],
  ["malformed frame echoing the key", Script.replay([`{"key": "${KEY}"`]), "ProtocolError"],
  ["disconnect", Script.withFault(Script.text(3), { type: "disconnect", afterEvents: 1 }), "Disconnected"],
  ["no finishReason", Script.replay(["{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"x\"}]}}]}"]), "Disconnected"]
]

describe("the API key never appears in an error, its inspection, or a log line", () => {
  it.live.each(cases)("%s", ([_, script, tag]) =>
    Effect.gen(function*() {
      const error = yield* failWith(h.provider, script)
      expect(error._tag).toBe(tag)
      assertClean(error)
      expect(logged.length).toBeGreaterThan(0)
      for (const line of logged) expect(line).not.toContain(KEY)
    }))

  it.live("a key that ends up in the URL (baseURL with ?key=) is scrubbed from the SDK's messages", () =>
    Effect.gen(function*() {
      const provider = Google.make({ apiKey: KEY, baseURL: `${h.server.url}/?key=${KEY}&x=` })
      h.server.setScript(Script.status(404))
      const error = yield* failWith(provider)
      expect(error._tag).toBe("InvalidRequest")
      expect(error.message).toContain("<redacted>")
      assertClean(error)
      for (const line of logged) expect(line).not.toContain(KEY)
    }))

  it.live("connection refused → Disconnected, clean", () =>
    Effect.gen(function*() {
      const port = yield* Effect.promise(
        () =>
          new Promise<number>((resolve) => {
            const probe = net.createServer().listen(0, "127.0.0.1", () => {
              const { port } = probe.address() as net.AddressInfo
              probe.close(() => resolve(port))
            })
          })
      )
      const error = yield* failWith(Google.make({ apiKey: Redacted.make(KEY), baseURL: `http://127.0.0.1:${port}` }))
      expect(error._tag).toBe("Disconnected")
      assertClean(error)
    }))

  it.live("an unusable base URL → Unknown with a scrubbed cause", () =>
    Effect.gen(function*() {
      const error = yield* failWith(Google.make({ apiKey: KEY, baseURL: `http://exa mple/${KEY}` }))
      expect(error._tag).toBe("Unknown")
      expect(util.inspect((error as LlmError.Unknown).cause)).toContain("<redacted>")
      assertClean(error)
      for (const line of logged) expect(line).not.toContain(KEY)
    }))

  it("the promise facade throws the same clean errors", async () => {
    h.server.setScript(Script.status(400, { body: echo(400) }))
    const error = await (async () => {
      for await (const _ of streamText(h.provider, hi, { ledger: h.ledger })) {
        // nothing arrives
      }
    })().then(() => undefined, (e: unknown) => e)
    expect(error).toBeInstanceOf(LlmError.InvalidRequest)
    assertClean(error as LlmError.LlmError)
  })

  it("the provider, its options and the ledger do not show the key", () => {
    const apiKey = Redacted.make(KEY)
    const provider = Google.make({ apiKey, baseURL: h.server.baseUrls.gemini })
    expect(util.inspect(provider, { depth: 10, showHidden: true })).not.toContain(KEY)
    expect(String(apiKey)).not.toContain(KEY)
    expect(JSON.stringify(h.ledger.snapshot())).not.toContain(KEY)
  })
})
