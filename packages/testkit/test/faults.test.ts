/**
 * Faults as each real SDK sees them: HTTP statuses, mid-stream disconnect, the provider's own error
 * event, malformed frames, hangs and keepalive-only stalls.
 */
import Anthropic from "@anthropic-ai/sdk"
import { GoogleGenerativeAIError, GoogleGenerativeAIFetchError } from "@google/generative-ai"
import OpenAI from "openai"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { FakeLlmServer, Script } from "../src/index.js"
import { formats, readers, type Seen } from "./support/Readers.js"

let server: FakeLlmServer.Server
let n = 0
const route = (script: Script.ScriptSource): string => {
  const model = `fault-${++n}`
  server.scriptFor(model, script)
  return model
}

beforeAll(async () => {
  server = await FakeLlmServer.start()
})

afterAll(async () => {
  await server?.close()
})

const status = (error: unknown): number | undefined => (error as { status?: number } | undefined)?.status

const expectClass: Record<number, Partial<Record<(typeof formats)[number], unknown>>> = {
  400: { anthropic: Anthropic.BadRequestError, "openai-chat": OpenAI.BadRequestError, "openai-responses": OpenAI.BadRequestError },
  401: {
    anthropic: Anthropic.AuthenticationError,
    "openai-chat": OpenAI.AuthenticationError,
    "openai-responses": OpenAI.AuthenticationError
  },
  429: { anthropic: Anthropic.RateLimitError, "openai-chat": OpenAI.RateLimitError, "openai-responses": OpenAI.RateLimitError },
  500: {
    anthropic: Anthropic.InternalServerError,
    "openai-chat": OpenAI.InternalServerError,
    "openai-responses": OpenAI.InternalServerError
  },
  529: { anthropic: Anthropic.OverloadedError, "openai-chat": OpenAI.InternalServerError, "openai-responses": OpenAI.InternalServerError }
}

/** Reads until `count` text deltas arrived, then holds the stream open until `release` aborts it. */
const readHeld = (format: (typeof formats)[number], model: string, count: number) => {
  const controller = new AbortController()
  let reached!: () => void
  const atCount = new Promise<void>((resolve) => (reached = resolve))
  const done = readers[format](server, {
    model,
    signal: controller.signal,
    onEvent: (seen) => {
      if (seen.text.length >= count) reached()
    }
  })
  return { controller, atCount: count === 0 ? Promise.resolve() : atCount, done }
}

describe.each(formats)("%s", (format) => {
  const read = readers[format]

  it.each([400, 401, 500, 529])("status %i", async (code) => {
    const seen = await read(server, { model: route(Script.status(code)) })
    expect(status(seen.error)).toBe(code)
    const cls = expectClass[code][format]
    if (cls !== undefined) expect(seen.error).toBeInstanceOf(cls)
    if (format === "gemini") expect(seen.error).toBeInstanceOf(GoogleGenerativeAIFetchError)
    if (format === "ollama") expect(typeof (seen.raw[0] as { body: { error: unknown } }).body.error).toBe("string")
    expect(seen.text).toEqual([])
  })

  it("status 429 with retry-after", async () => {
    const seen = await read(server, { model: route(Script.status(429, { headers: { "retry-after": "2" } })) })
    expect(status(seen.error)).toBe(429)
    const cls = expectClass[429][format]
    if (cls !== undefined) {
      expect(seen.error).toBeInstanceOf(cls)
      expect((seen.error as { headers: Headers }).headers.get("retry-after")).toBe("2")
    }
    if (format === "gemini") {
      expect(seen.error).toBeInstanceOf(GoogleGenerativeAIFetchError)
      expect((seen.error as GoogleGenerativeAIFetchError).errorDetails).toContainEqual({
        "@type": "type.googleapis.com/google.rpc.RetryInfo",
        retryDelay: "2s"
      })
    }
  })

  it("status with a custom body", async () => {
    const body =
      format === "ollama"
        ? { error: "custom failure" }
        : format === "gemini"
          ? { error: { code: 400, message: "custom failure", status: "INVALID_ARGUMENT" } }
          : format === "anthropic"
            ? { type: "error", error: { type: "invalid_request_error", message: "custom failure" } }
            : { error: { message: "custom failure", type: "invalid_request_error", code: null } }
    const seen = await read(server, { model: route(Script.status(400, { body })) })
    expect(status(seen.error)).toBe(400)
    if (format === "ollama") expect(seen.raw[0]).toEqual({ status: 400, body })
    else expect(String((seen.error as Error).message)).toContain("custom failure")
  })

  it("disconnect after 3 deltas", async () => {
    const before = server.stats().closedByServer
    const seen = await read(server, { model: route(Script.text(6, { fault: { type: "disconnect", afterEvents: 3 } })) })
    expect(seen.text).toEqual(Script.words(3))
    expect(seen.error).toBeDefined()
    if (format === "gemini") expect(seen.error).toBeInstanceOf(GoogleGenerativeAIError)
    else expect(String((seen.error as Error).message)).toMatch(/terminated/)
    await server.waitFor((s) => s.inflight === 0 && s.closedByServer === before + 1)
  })

  it("provider error event after 2 deltas", async () => {
    const seen = await read(server, {
      model: route(Script.text(5, { fault: { type: "errorEvent", afterEvents: 2, kind: "overloaded" } }))
    })
    expect(seen.text).toEqual(Script.words(2))
    switch (format) {
      case "anthropic":
        expect(seen.error).toBeInstanceOf(Anthropic.APIError)
        expect((seen.error as { error: unknown }).error).toMatchObject({ type: "error", error: { type: "overloaded_error" } })
        break
      case "openai-chat":
        expect(seen.error).toBeInstanceOf(OpenAI.APIError)
        expect((seen.error as Error).message).toContain("overloaded")
        break
      case "openai-responses":
        expect(seen.error).toBeUndefined()
        expect(seen.raw.slice(-2)).toEqual(["error", "response.failed"])
        expect(seen.finish).toBe("failed")
        break
      case "gemini":
        expect(seen.error).toBeUndefined()
        expect(seen.raw[seen.raw.length - 1]).toMatchObject({ error: { code: 503, status: "UNAVAILABLE" } })
        break
      case "ollama":
        expect((seen.error as { ollama?: boolean }).ollama).toBe(true)
        break
    }
    await server.waitForIdle()
  })

  it("malformed frame after 2 deltas", async () => {
    const seen = await read(server, { model: route(Script.text(5, { fault: { type: "malformed", afterEvents: 2 } })) })
    if (format === "gemini") {
      // the Gemini SDK errors its ReadableStream on the bad frame, dropping chunks parsed from the
      // same read that the consumer has not pulled yet: it sees a prefix
      expect(Script.words(2).slice(0, seen.text.length)).toEqual(seen.text)
    } else {
      expect(seen.text).toEqual(Script.words(2))
    }
    if (format === "gemini") expect((seen.error as Error).message).toMatch(/Error parsing JSON response/)
    else expect(seen.error).toBeInstanceOf(SyntaxError)
    await server.waitForIdle()
  })

  it("hang after 2 deltas: stays inflight until the client aborts", async () => {
    const before = server.stats()
    const held = readHeld(format, route(Script.text(5, { fault: { type: "hang", afterEvents: 2 } })), 2)
    await held.atCount
    await server.waitFor((s) => s.inflight === 1)
    // bounded check that nothing more arrives: the response does not complete
    await expect(server.waitFor((s) => s.completed > before.completed, { timeoutMs: 100 })).rejects.toThrow(/timed out/)
    held.controller.abort()
    const seen: Seen = await held.done
    expect(seen.text).toEqual(Script.words(2))
    await server.waitFor((s) => s.inflight === 0 && s.closedByClient === before.closedByClient + 1)
  })

  it("stall after 1 delta: keepalives only; the SDK sees no event and no error", async () => {
    const before = server.stats()
    const held = readHeld(format, route(Script.text(3, { fault: { type: "stall", afterEvents: 1, everyMs: 10 } })), 1)
    await held.atCount
    await expect(server.waitFor((s) => s.completed > before.completed, { timeoutMs: 120 })).rejects.toThrow(/timed out/)
    held.controller.abort()
    const seen = await held.done
    expect(seen.text).toEqual(Script.words(1))
    if (format === "anthropic" || format === "openai-chat" || format === "openai-responses") {
      expect(seen.error).toBeUndefined() // these SDKs end silently on abort
    }
    await server.waitFor((s) => s.inflight === 0 && s.closedByClient === before.closedByClient + 1)
  })

  it("headersThenHang: no event, until aborted", async () => {
    const before = server.stats()
    const held = readHeld(format, route({ fault: { type: "headersThenHang" } }), 0)
    await server.waitFor((s) => s.inflight === 1 && s.total > before.total)
    await expect(server.waitFor((s) => s.completed > before.completed, { timeoutMs: 80 })).rejects.toThrow(/timed out/)
    held.controller.abort()
    const seen = await held.done
    expect(seen.text).toEqual([])
    await server.waitFor((s) => s.inflight === 0 && s.closedByClient === before.closedByClient + 1)
  })
})

describe("keepalive frames on the wire", () => {
  const rawUntil = async (path: string, body: unknown, needle: RegExp, times: number) => {
    const controller = new AbortController()
    const response = await fetch(`${server.url}${path}`, {
      method: "POST",
      body: JSON.stringify(body),
      signal: controller.signal
    })
    const decoder = new TextDecoder()
    let text = ""
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      text += decoder.decode(chunk, { stream: true })
      if ((text.match(needle) ?? []).length >= times) break
    }
    controller.abort()
    return text
  }

  it("anthropic stalls with `event: ping`", async () => {
    const model = route(Script.text(1, { fault: { type: "stall", afterEvents: 1, everyMs: 5 } }))
    const text = await rawUntil("/v1/messages", { model, stream: true }, /event: ping\ndata: \{"type": "ping"\}\n\n/g, 4)
    expect(text).toContain("text_delta")
    expect(text).not.toContain("message_stop")
  })

  it("openai stalls with `: keepalive` comments", async () => {
    const model = route(Script.text(1, { fault: { type: "stall", afterEvents: 1, everyMs: 5 } }))
    const text = await rawUntil("/v1/chat/completions", { model, stream: true }, /^: keepalive\n\n/gm, 3)
    expect(text).not.toContain("[DONE]")
    const responses = await rawUntil("/v1/responses", { model, stream: true }, /^: keepalive\n\n/gm, 3)
    expect(responses).toContain("response.output_text.delta")
  })

  it("gemini frames are exactly `data: {json}\\r\\n\\r\\n`", async () => {
    const model = route(Script.text(2))
    const response = await fetch(`${server.url}/v1beta/models/${model}:streamGenerateContent?alt=sse`, {
      method: "POST",
      body: "{}"
    })
    const text = await response.text()
    const frames = text.split("\r\n\r\n")
    expect(frames.pop()).toBe("")
    expect(frames).toHaveLength(3)
    for (const frame of frames) expect(frame).toMatch(/^data: \{[^\r\n]*\}$/)
  })

  it.each([
    ["/v1/messages", "text/event-stream; charset=utf-8"],
    ["/v1/chat/completions", "text/event-stream; charset=utf-8"],
    ["/v1/responses", "text/event-stream; charset=utf-8"],
    ["/v1beta/models/MODEL:streamGenerateContent", "text/event-stream"],
    ["/api/chat", "application/x-ndjson"]
  ])("headersThenHang on %s: headers arrive, the body stays open until aborted", async (path, contentType) => {
    const before = server.stats()
    const model = route({ fault: { type: "headersThenHang" } })
    const controller = new AbortController()
    const response = await fetch(`${server.url}${path.replace("MODEL", model)}?alt=sse`, {
      method: "POST",
      body: JSON.stringify({ model, stream: true }),
      signal: controller.signal
    })
    expect(response.status).toBe(200)
    expect(response.headers.get("content-type")).toBe(contentType)
    const body = response.text().then(
      () => "ended",
      (error: Error) => error.name
    )
    const raced = await Promise.race([body, server.waitFor((s) => s.completed > before.completed, { timeoutMs: 60 }).catch(() => "open")])
    expect(raced).toBe("open")
    controller.abort()
    expect(await body).toBe("AbortError")
    await server.waitFor((s) => s.inflight === 0 && s.closedByClient === before.closedByClient + 1)
  })

  it("hangBeforeHeaders: fetch does not resolve until aborted", async () => {
    const before = server.stats()
    const model = route({ fault: { type: "hangBeforeHeaders" } })
    const controller = new AbortController()
    const pending = fetch(`${server.url}/api/chat`, {
      method: "POST",
      body: JSON.stringify({ model }),
      signal: controller.signal
    }).then(
      () => "resolved",
      (error: Error) => error.name
    )
    await server.waitFor((s) => s.total > before.total && s.inflight === 1)
    const raced = await Promise.race([pending, server.waitFor((s) => s.completed > before.completed, { timeoutMs: 80 }).catch(() => "still pending")])
    expect(raced).toBe("still pending")
    controller.abort()
    expect(await pending).toBe("AbortError")
    await server.waitFor((s) => s.inflight === 0 && s.closedByClient === before.closedByClient + 1)
  })
})
