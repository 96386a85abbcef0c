/**
 * The table the key-never-leaks suite runs over: every adapter (OpenAI once
 * per API), how to build it with the key, the error paths every wire shares
 * ({@link commonCases}), the ones only its wire has (echoing bodies, its own
 * frames), and the checks only its transport can make (a user's client, the
 * SDK's own logger, a timeout of the SDK).
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import AnthropicSdk from "@anthropic-ai/sdk"
import { Anthropic } from "@streamvisor/anthropic"
import { type ChatRequest, LlmError, type Provider } from "@streamvisor/core"
import { Google } from "@streamvisor/google"
import { Ollama } from "@streamvisor/ollama"
import { OpenAI } from "@streamvisor/openai"
import { Script } from "@streamvisor/testkit"
import type { FakeLlmServer } from "@streamvisor/testkit"
import { Effect, Layer } from "effect"
import OpenAIClient from "openai"
import * as util from "node:util"
import { expect, vi } from "vitest"

export const KEY = "sk-SECRET-KEY-1234567890"

/**
 * One error path: a script for the server, the tag it must fail with, and what
 * the message must then hold: by default, for a case "echoing the key", the
 * key as `<redacted>`; `null` when the message need not quote what was echoed.
 */
export type Case = readonly [
  name: string,
  script: Script.Script,
  tag: LlmError.LlmError["_tag"],
  inMessage?: string | null
]

/** What a transport-specific check gets from the suite. */
export interface Context {
  readonly server: FakeLlmServer.Server
  /** Drives the provider to its typed failure (logged), checks the tag and that no view of it holds the key. */
  readonly failWith: (provider: Provider.Provider, tag: LlmError.LlmError["_tag"]) => Promise<LlmError.LlmError>
  /** Console lines (the SDKs' own loggers) logged so far. */
  readonly consoleLines: () => ReadonlyArray<string>
}

/** How the adapter reads the response: its own byte-level parser (the default) or the SDK's (Ollama: an `HttpClient`). */
export type Transport = "bytes" | "sdk"

export const transports: ReadonlyArray<Transport> = ["bytes", "sdk"]

export interface Adapter {
  readonly name: string
  readonly request: ChatRequest.ChatRequest
  /** The adapter over this base URL with {@link KEY}, on this transport. */
  readonly make: (baseUrl: string, transport: Transport) => Provider.Provider
  readonly baseUrl: (server: FakeLlmServer.Server) => string
  /** A failing script for the promise-facade check, and the class of what it throws. */
  readonly facade: readonly [script: Script.Script, thrown: new(...args: never) => LlmError.LlmError]
  readonly cases: ReadonlyArray<Case>
  readonly checks: ReadonlyArray<readonly [name: string, run: (ctx: Context) => Promise<void>]>
}

/** Every wire maps these the same way. */
export const commonCases: ReadonlyArray<Case> = [
  ["400", Script.status(400), "InvalidRequest"],
  ["401", Script.status(401), "Unauthorized"],
  ["403", Script.status(403), "Unauthorized"],
  ["404", Script.status(404), "InvalidRequest"],
  ["429", Script.status(429, { headers: { "retry-after": "3" } }), "RateLimited"],
  ["500", Script.status(500), "ServerError"],
  ["503", Script.status(503), "ServerError"],
  ["529", Script.status(529), "Overloaded"],
  ["error event overloaded", Script.withFault(Script.text(3), { type: "errorEvent", afterEvents: 1, kind: "overloaded" }), "Overloaded"],
  ["error event server", Script.withFault(Script.text(3), { type: "errorEvent", afterEvents: 1, kind: "server" }), "ServerError"],
  ["error event rate_limit", Script.withFault(Script.text(3), { type: "errorEvent", afterEvents: 1, kind: "rate_limit" }), "RateLimited"],
  ["malformed frame", Script.withFault(Script.text(3), { type: "malformed", afterEvents: 1 }), "ProtocolError"],
  ["disconnect", Script.withFault(Script.text(3), { type: "disconnect", afterEvents: 1 }), "Disconnected"]
]

const user = (model: string): ChatRequest.ChatRequest => ({ model, messages: [{ role: "user", content: "Hi" }] })

/** A 200 response whose body sends `first` (if any) and then fails with `error`. */
const brokenBody = (error: unknown, first?: string) =>
  new Response(
    new ReadableStream<Uint8Array>({
      start(controller) {
        if (first !== undefined) controller.enqueue(new TextEncoder().encode(first))
        controller.error(error)
      }
    }),
    { status: 200, headers: { "content-type": "text/event-stream" } }
  )

// --- Anthropic --------------------------------------------------------------

const anthropicEcho = `invalid x-api-key: ${KEY} (Authorization: Bearer ${KEY})`
const anthropicStart = `{"type":"message_start","message":{"usage":{"input_tokens":1,"output_tokens":1}}}`
const anthropicBadFrame = `event: message_start\ndata: {"type":"message_start" ${KEY}\n\n`

/** A 200 SSE response with this body. */
const sse = (body: string) => new Response(body, { status: 200, headers: { "content-type": "text/event-stream" } })

/** A user's own Anthropic client whose fetch is replaced, for transport failures. */
const anthropicWithFetch = (ctx: Context, fetch: (url: string, init: RequestInit) => Promise<Response>) =>
  Anthropic.make({
    client: new AnthropicSdk({ apiKey: KEY, baseURL: ctx.server.baseUrls.anthropic, maxRetries: 0, fetch: fetch as never })
  })

const anthropic: Adapter = {
  name: "anthropic",
  request: user("claude-test"),
  make: (baseURL, transport) => Anthropic.make({ apiKey: KEY, baseURL, transport }),
  baseUrl: (server) => server.baseUrls.anthropic,
  facade: [Script.status(401, { body: { type: "error", error: { type: "authentication_error", message: anthropicEcho } } }), LlmError.Unauthorized],
  cases: [
    [
      "401 echoing the key",
      Script.status(401, { body: { type: "error", error: { type: "authentication_error", message: anthropicEcho } } }),
      "Unauthorized"
    ],
    ["400 with a text body echoing the key", Script.status(400, { body: `bad request from Bearer ${KEY}` }), "InvalidRequest"],
    [
      "500 echoing the key",
      Script.status(500, { body: { type: "error", error: { type: "api_error", message: anthropicEcho } } }),
      "ServerError"
    ],
    [
      "error event of an unknown type echoing the key",
      Script.replay([anthropicStart, JSON.stringify({ type: "error", error: { type: "mystery_error", message: anthropicEcho } })]),
      "Unknown"
    ],
    [
      "error event of a known type echoing the key",
      Script.replay([JSON.stringify({ type: "error", error: { type: "overloaded_error", message: anthropicEcho } })]),
      "Overloaded"
    ],
    ["no message_stop", Script.replay([anthropicStart]), "Disconnected"]
  ],
  checks: [
    ["a transport error quoting the key: Disconnected", async (ctx) => {
      await ctx.failWith(anthropicWithFetch(ctx, () => Promise.reject(new Error(`refused Bearer ${KEY}`))), "Disconnected")
    }],
    ["the SDK's own timeout before headers: Timeout", async (ctx) => {
      ctx.server.setScript({ fault: { type: "hangBeforeHeaders" }, keepAlive: false })
      const client = new AnthropicSdk({ apiKey: KEY, baseURL: ctx.server.baseUrls.anthropic, maxRetries: 0, timeout: 100 })
      const error = await ctx.failWith(Anthropic.make({ client }), "Timeout")
      expect((error as LlmError.Timeout).phase).toBe("first-token")
    }],
    ["a malformed frame holding the key, byte path: ProtocolError, nothing logged", async (ctx) => {
      vi.stubGlobal("fetch", () => Promise.resolve(sse(anthropicBadFrame)))
      const provider = Anthropic.make({ apiKey: KEY, baseURL: ctx.server.baseUrls.anthropic })
      vi.unstubAllGlobals()
      const before = ctx.consoleLines().length
      await ctx.failWith(provider, "ProtocolError")
      expect(ctx.consoleLines().slice(before)).toEqual([])
    }],
    ["a malformed frame holding the key, SDK path (the SDK logs the frame, scrubbed): ProtocolError", async (ctx) => {
      // The adapter builds this client (so its logger is the scrubbing one); the SDK takes
      // `globalThis.fetch` when it is built, so stub it for that moment.
      vi.stubGlobal("fetch", () => Promise.resolve(sse(anthropicBadFrame)))
      const provider = Anthropic.make({ apiKey: KEY, baseURL: ctx.server.baseUrls.anthropic, transport: "sdk" })
      vi.unstubAllGlobals()
      const before = ctx.consoleLines().length
      await ctx.failWith(provider, "ProtocolError")
      const sdkLines = ctx.consoleLines().slice(before)
      expect(sdkLines.some((line) => line.includes("Could not parse message into JSON") && line.includes("<redacted>")))
        .toBe(true)
    }],
    ["a body that fails with an Error quoting the key: Unknown, with a sanitized cause", async (ctx) => {
      const failing = anthropicWithFetch(ctx, () =>
        Promise.resolve(brokenBody(
          Object.assign(new Error(`stream broke for ${KEY}`), { secret: { key: KEY } }),
          `event: message_start\ndata: ${anthropicStart}\n\n`
        )))
      const error = (await ctx.failWith(failing, "Unknown")) as LlmError.Unknown
      expect(error.cause).toBeInstanceOf(Error)
      expect((error.cause as Error).message).toBe("stream broke for <redacted>")
    }],
    ["a body that fails with a non-Error quoting the key: Unknown", async (ctx) => {
      await ctx.failWith(anthropicWithFetch(ctx, () => Promise.resolve(brokenBody({ reason: `bad ${KEY}` }))), "Unknown")
    }]
  ]
}

// --- OpenAI -----------------------------------------------------------------

const openaiEcho = (type: string, code: string | null) => ({
  error: { message: `Incorrect API key provided: ${KEY} (Bearer ${KEY})`, type, param: null, code }
})

const openaiCases: ReadonlyArray<Case> = [
  ["401 echoing the key", Script.status(401, { body: openaiEcho("invalid_request_error", "invalid_api_key") }), "Unauthorized"],
  ["403 echoing the key", Script.status(403, { body: openaiEcho("invalid_request_error", null) }), "Unauthorized"],
  ["400 echoing the key", Script.status(400, { body: openaiEcho("invalid_request_error", null) }), "InvalidRequest"],
  [
    "429 echoing the key",
    Script.status(429, { headers: { "retry-after": "1" }, body: openaiEcho("requests", "rate_limit_exceeded") }),
    "RateLimited"
  ],
  ["500 echoing the key", Script.status(500, { body: openaiEcho("server_error", null) }), "ServerError"],
  ["529 echoing the key", Script.status(529, { body: openaiEcho("server_error", null) }), "Overloaded"],
  ["a non-JSON error body echoing the key", Script.status(502, { body: `bad gateway for Bearer ${KEY}` }), "ServerError"]
]

const openaiChat: Adapter = {
  name: "openai chat",
  request: user("gpt-test"),
  make: (baseURL, transport) => OpenAI.make({ apiKey: KEY, baseURL, api: "chat", transport }),
  baseUrl: (server) => server.baseUrls.openai,
  facade: [Script.status(401, { body: openaiEcho("invalid_request_error", "invalid_api_key") }), LlmError.Unauthorized],
  cases: openaiCases,
  checks: [
    ["a user's client: an unexpected error from the body → Unknown, cause scrubbed with the client's key", async (ctx) => {
      const client = new OpenAIClient({
        apiKey: KEY,
        baseURL: "http://127.0.0.1:9/v1",
        maxRetries: 0,
        fetch: async () =>
          brokenBody(
            new RangeError(`exploded near Bearer ${KEY} and ${KEY}`),
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}]}\n\n"
          )
      })
      const error = await ctx.failWith(OpenAI.make({ client }), "Unknown")
      expect(util.inspect((error as LlmError.Unknown).cause)).toContain("RangeError")
    }],
    ["a malformed frame carrying the key, byte path: a scrubbed ProtocolError and no SDK log line", async (ctx) => {
      ctx.server.setScript(Script.replay([`{"choices":[], "oops": ${KEY}`]))
      const before = ctx.consoleLines().length
      await ctx.failWith(OpenAI.make({ apiKey: KEY, baseURL: ctx.server.baseUrls.openai }), "ProtocolError")
      const lines = ctx.consoleLines().slice(before).join("\n")
      expect(lines).not.toContain("Could not parse message into JSON")
      expect(lines).not.toContain(KEY)
    }],
    ["a malformed frame carrying the key, SDK path: the SDK's log line and the ProtocolError are scrubbed", async (ctx) => {
      ctx.server.setScript(Script.replay([`{"choices":[], "oops": ${KEY}`]))
      const before = ctx.consoleLines().length
      await ctx.failWith(OpenAI.make({ apiKey: KEY, baseURL: ctx.server.baseUrls.openai, transport: "sdk" }), "ProtocolError")
      const lines = ctx.consoleLines().slice(before).join("\n")
      expect(lines).toContain("Could not parse message into JSON")
      // openai 6 logs the malformed frame itself, so the key in it must come out
      // redacted; openai 7 logs only the headings, without the frame.
      if (lines.includes("oops")) expect(lines).toContain("<redacted>")
      expect(lines).not.toContain(KEY)
    }],
    ["OPENAI_LOG=debug: the SDK's request and error logs are scrubbed", async (ctx) => {
      const previous = process.env.OPENAI_LOG
      process.env.OPENAI_LOG = "debug"
      try {
        ctx.server.setScript(Script.status(502, { body: `upstream said: ${KEY}` }))
        const before = ctx.consoleLines().length
        await ctx.failWith(OpenAI.make({ apiKey: KEY, baseURL: ctx.server.baseUrls.openai }), "ServerError")
        const lines = ctx.consoleLines().slice(before).join("\n")
        expect(lines).toContain("sending request")
        expect(lines).toContain("upstream said: <redacted>")
        expect(lines).not.toContain(KEY)
      } finally {
        if (previous === undefined) delete process.env.OPENAI_LOG
        else process.env.OPENAI_LOG = previous
      }
    }]
  ]
}

const openaiResponses: Adapter = {
  ...openaiChat,
  name: "openai responses",
  make: (baseURL, transport) => OpenAI.make({ apiKey: KEY, baseURL, api: "responses", transport }),
  checks: [
    ["an in-stream error (nested shape) whose message carries the key", async (ctx) => {
      ctx.server.setScript(Script.replay([
        JSON.stringify({ type: "response.created", sequence_number: 0, response: { status: "in_progress" } }),
        JSON.stringify({ type: "error", sequence_number: 1, error: { type: "server_error", code: "server_error", message: `key ${KEY}` } })
      ]))
      await ctx.failWith(openaiResponses.make(ctx.server.baseUrls.openai, "bytes"), "ServerError")
    }],
    ["response.failed with an unknown code → Unknown whose cause is clean", async (ctx) => {
      ctx.server.setScript(Script.replay([
        JSON.stringify({
          type: "response.failed",
          sequence_number: 0,
          response: { status: "failed", error: { code: `weird_${KEY}`, message: `failed for ${KEY}` } }
        })
      ]))
      await ctx.failWith(openaiResponses.make(ctx.server.baseUrls.openai, "bytes"), "Unknown")
    }]
  ]
}

// --- Google -----------------------------------------------------------------

const googleEcho = (code: number) => ({ error: { code, message: `API key ${KEY} not valid. Please pass a valid API key.` } })

const google: Adapter = {
  name: "google",
  request: user("gemini-test"),
  make: (baseURL, transport) => Google.make({ apiKey: KEY, baseURL, transport }),
  baseUrl: (server) => server.baseUrls.gemini,
  facade: [Script.status(400, { body: googleEcho(400) }), LlmError.InvalidRequest],
  cases: [
    ["400 echoing the key", Script.status(400, { body: googleEcho(400) }), "InvalidRequest"],
    ["403 echoing the key", Script.status(403, { body: googleEcho(403) }), "Unauthorized"],
    ["error frame echoing the key", Script.replay([JSON.stringify(googleEcho(400))]), "InvalidRequest"],
    ["error frame with no code (Unknown, cause kept)", Script.replay([JSON.stringify({ error: { message: `odd ${KEY}` } })]), "Unknown"],
    // The byte path names the JSON error, not the frame.
    ["malformed frame echoing the key", Script.replay([`{"key": "${KEY}"`]), "ProtocolError", null],
    ["no finishReason", Script.replay(["{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"x\"}]}}]}"]), "Disconnected"]
  ],
  checks: [
    ["a key that ends up in the URL (baseURL with ?key=) is scrubbed from the SDK's messages", async (ctx) => {
      ctx.server.setScript(Script.status(404))
      const error = await ctx.failWith(Google.make({ apiKey: KEY, baseURL: `${ctx.server.url}/?key=${KEY}&x=` }), "InvalidRequest")
      expect(error.message).toContain("<redacted>")
    }],
    ["an unusable base URL → Unknown with a scrubbed cause", async (ctx) => {
      const error = await ctx.failWith(Google.make({ apiKey: KEY, baseURL: `http://exa mple/${KEY}` }), "Unknown")
      expect(util.inspect((error as LlmError.Unknown).cause)).toContain("<redacted>")
    }]
  ]
}

// --- Ollama -----------------------------------------------------------------

const ollamaEcho = `the key was Bearer ${KEY} (${KEY})`

/** An `HttpClient` over `FetchHttpClient` with the given `fetch`. */
const clientOver = (fetch: typeof globalThis.fetch): HttpClient.HttpClient =>
  Effect.runSync(
    Effect.provide(HttpClient.HttpClient, FetchHttpClient.layer.pipe(Layer.provide(Layer.succeed(FetchHttpClient.Fetch, fetch))))
  )

const ollama: Adapter = {
  name: "ollama",
  request: user("llama3.2"),
  // The SDK path of Ollama is an `HttpClient` (over the global fetch, so over the test's pool).
  make: (host, transport) =>
    Ollama.make({
      host,
      apiKey: KEY,
      maxLineBytes: 4096,
      ...(transport === "sdk" ? { httpClient: clientOver((input, init) => globalThis.fetch(input, init)) } : {})
    }),
  baseUrl: (server) => server.baseUrls.ollama,
  facade: [Script.status(401, { body: { error: `nope ${KEY}` } }), LlmError.Unauthorized],
  cases: [
    ["401 echoing the key", Script.status(401, { body: { error: ollamaEcho } }), "Unauthorized", "Bearer <redacted>"],
    ["403 text body echoing the key", Script.status(403, { body: ollamaEcho }), "Unauthorized"],
    ["error line echoing the key", Script.replay([JSON.stringify({ error: ollamaEcho })]), "ServerError"],
    ["malformed line echoing the key", Script.replay([`not json ${ollamaEcho}`]), "ProtocolError"],
    ["bad shape echoing the key", Script.replay([JSON.stringify({ message: { content: 1, note: ollamaEcho }, done: false })]), "ProtocolError"],
    ["no done line", Script.replay([JSON.stringify({ message: { content: "a" }, done: false })]), "Disconnected"],
    ["line too long", Script.replay(["x".repeat(5000)]), "ProtocolError"]
  ],
  checks: [
    ["a fetch that fails with the key in its message (as undici does for an invalid header value): Unknown", async (ctx) => {
      const failingFetch = (() => Promise.reject(new TypeError(`invalid header value "Bearer ${KEY}"`))) as typeof fetch
      const error = await ctx.failWith(
        Ollama.make({ host: ctx.server.baseUrls.ollama, apiKey: KEY, httpClient: clientOver(failingFetch) }),
        "Unknown"
      )
      expect(error.message).toContain("Bearer <redacted>")
    }],
    ["a fetch that fails as undici does when the connection is reset: Disconnected", async (ctx) => {
      const resetFetch = (() =>
        Promise.reject(
          new TypeError("fetch failed", { cause: Object.assign(new Error(`read ECONNRESET ${KEY}`), { code: "ECONNRESET" }) })
        )) as typeof fetch
      const error = await ctx.failWith(
        Ollama.make({ host: ctx.server.baseUrls.ollama, apiKey: KEY, httpClient: clientOver(resetFetch) }),
        "Disconnected"
      )
      expect(error.message).toContain("ECONNRESET")
    }],
    ["a client that dies with the key (and the request, headers included) in the defect: Unknown", async (ctx) => {
      const dying = HttpClient.make((req) => Effect.die(Object.assign(new Error(`boom ${KEY}`), { request: req, headers: req.headers })))
      const error = await ctx.failWith(Ollama.make({ host: ctx.server.baseUrls.ollama, apiKey: KEY, httpClient: dying }), "Unknown")
      expect(error.message).toContain("boom <redacted>")
    }]
  ]
}

export const adapters: ReadonlyArray<Adapter> = [anthropic, openaiChat, openaiResponses, google, ollama]
