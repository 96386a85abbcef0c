/**
 * Socket and response accounting (what leak tests rely on), backpressure, close(), script
 * selection, request recording and the Effect layer.
 */
import * as http from "node:http"
import * as Effect from "effect/Effect"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import { FakeLlmServer, Script } from "../src/index.js"
import { anthropic, openai, readAnthropic, readGemini, readOpenAIChat, SECRET } from "./support/Readers.js"

let server: FakeLlmServer.Server

beforeAll(async () => {
  server = await FakeLlmServer.start()
})

afterEach(async () => {
  await server.waitForIdle()
  server.reset()
})

afterAll(async () => {
  await server?.close()
})

/** A POST over a fresh socket that is not pooled (`agent: false`, so `connection: close`). */
const post = (
  path: string,
  body: unknown,
  options: { readonly onResponse?: (res: http.IncomingMessage, req: http.ClientRequest) => void } = {}
): Promise<{ status: number; text: string }> =>
  new Promise((resolve, reject) => {
    const req = http.request(
      `${server.url}${path}`,
      { method: "POST", agent: false, headers: { "content-type": "application/json", "x-api-key": SECRET } },
      (res) => {
        if (options.onResponse !== undefined) return options.onResponse(res, req)
        let text = ""
        res.setEncoding("utf8")
        res.on("data", (chunk: string) => (text += chunk))
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text }))
        res.on("error", reject)
      }
    )
    req.on("error", reject)
    req.end(JSON.stringify(body))
  })

describe("accounting", () => {
  it("a fully read response on an unpooled socket returns to inflight 0 / open 0", async () => {
    const before = server.stats()
    const { status, text } = await post("/v1/messages", { model: "m", stream: true })
    expect(status).toBe(200)
    expect(text).toContain("event: message_stop")
    const stats = await server.waitForIdle({ sockets: true })
    expect(stats).toMatchObject({ inflight: 0, open: 0, total: before.total + 1, completed: before.completed + 1 })
  })

  it("SDK requests are pooled; closing idle sockets brings open to 0", async () => {
    // an own server (own origin), so the dead sockets left in the client's pool are never reused
    const own = await FakeLlmServer.start({ script: Script.text(3) })
    try {
      await readAnthropic(own)
      await readOpenAIChat(own)
      const pooled = await own.waitForIdle()
      expect(pooled.open).toBeGreaterThanOrEqual(1)
      await own.closeIdleSockets()
      expect(own.stats()).toMatchObject({ open: 0, inflight: 0, completed: 2, closedByClient: 0, closedByServer: 0 })
    } finally {
      await own.close()
    }
  })

  it("keepAlive: false closes the socket after the response, even for a pooling client", async () => {
    const own = await FakeLlmServer.start({ script: Script.text(2, { keepAlive: false }) })
    const agent = new http.Agent({ keepAlive: true })
    try {
      const text = await new Promise<string>((resolve, reject) => {
        const req = http.request(`${own.url}/api/chat`, { method: "POST", agent }, (res) => {
          expect(res.headers.connection).toBe("close")
          let body = ""
          res.setEncoding("utf8")
          res.on("data", (chunk: string) => (body += chunk))
          res.on("end", () => resolve(body))
        })
        req.on("error", reject)
        req.end(JSON.stringify({ model: "m" }))
      })
      expect(text.split("\n").filter(Boolean)).toHaveLength(3)
      expect(await own.waitForIdle({ sockets: true })).toMatchObject({ open: 0, inflight: 0, completed: 1 })
      expect(own.requests[0].headers.connection).toBe("keep-alive")
    } finally {
      agent.destroy()
      await own.close()
    }
  })

  it("a response the client aborts counts closedByClient, once", async () => {
    const closed: Array<FakeLlmServer.ResponseClosedInfo> = []
    const off = server.onResponseClosed((info) => closed.push(info))
    server.setScript(Script.text(50, { delayMs: 5 }))
    const controller = new AbortController()
    const seen = await readAnthropic(server, {
      signal: controller.signal,
      onEvent: (s) => {
        if (s.text.length === 3) controller.abort()
      }
    })
    expect(seen.text).toEqual(Script.words(3))
    const stats = await server.waitFor((s) => s.inflight === 0 && s.closedByClient === 1)
    expect(stats).toMatchObject({ completed: 0, closedByServer: 0, total: 1 })
    expect(closed).toHaveLength(1)
    expect(closed[0]).toMatchObject({ id: server.requests[0].id, format: "anthropic", byClient: true, completed: false })
    expect(closed[0].closedAt).toBeGreaterThanOrEqual(closed[0].startedAt)
    off()
    server.setScript(Script.text(1))
    await readOpenAIChat(server, { model: "other" })
    expect(closed).toHaveLength(1)
  })

  it("reports completed responses to onResponseClosed", async () => {
    const closed: Array<FakeLlmServer.ResponseClosedInfo> = []
    const off = server.onResponseClosed((info) => closed.push(info))
    await readOpenAIChat(server)
    await server.waitForIdle()
    off()
    expect(closed).toEqual([expect.objectContaining({ format: "openai-chat", byClient: false, completed: true })])
    expect(closed[0].bytesWritten).toBeGreaterThan(100)
  })

  it("a disconnect fault counts closedByServer", async () => {
    server.setScript(Script.text(4, { fault: { type: "disconnect", afterEvents: 2 } }))
    const seen = await readOpenAIChat(server)
    expect(seen.text).toEqual(Script.words(2))
    expect(await server.waitFor((s) => s.inflight === 0)).toMatchObject({ closedByServer: 1, closedByClient: 0, completed: 0 })
  })

  it("a client that stops reading leaves a 100k-delta stream inflight, bounded by backpressure, until it aborts", async () => {
    const delta = "x".repeat(100)
    server.setScript(Script.text(Array.from({ length: 100_000 }, () => delta)))
    let request!: http.ClientRequest
    const firstChunk = new Promise<void>((resolve, reject) => {
      post("/v1/chat/completions", { model: "m", stream: true }, {
        onResponse: (res, req) => {
          request = req
          res.once("data", () => {
            res.pause() // stop reading
            resolve()
          })
          res.on("error", () => undefined)
        }
      }).catch(reject)
    })
    await firstChunk
    try {
      // bounded: the response must not complete while the client does not read
      await expect(server.waitFor((s) => s.completed > 0, { timeoutMs: 300 })).rejects.toThrow(/"inflight":1/)
      const [live] = server.inflightResponses()
      expect(live).toMatchObject({ format: "openai-chat", model: "m" })
      // the whole stream is ~23 MB; with backpressure the server stops at what the socket buffers
      // take (~4 MB measured on loopback), instead of queueing it all in memory
      expect(live.bytesWritten).toBeLessThan(12_000_000)
    } finally {
      request.destroy()
    }
    const stats = await server.waitFor((s) => s.inflight === 0 && s.closedByClient === 1)
    expect(stats).toMatchObject({ completed: 0, closedByServer: 0 })
  })

  it("waitFor resolves at once when the predicate holds, and rejects with the stats", async () => {
    expect(await server.waitFor((s) => s.inflight === 0)).toMatchObject({ inflight: 0 })
    await expect(server.waitFor((s) => s.total > 100, { timeoutMs: 20, message: "never" })).rejects.toThrow(
      /^never after 20 ms; stats: \{"open":\d+,"inflight":0,"total":0/
    )
    await expect(
      server.waitFor(() => {
        throw new Error("boom")
      })
    ).rejects.toThrow("boom")
  })

  it("handles many concurrent streams on one server, routed by model", async () => {
    const models = Array.from({ length: 20 }, (_, i) => `concurrent-${i}`)
    for (const model of models) server.scriptFor(model, Script.text([model, " done"], { delayMs: 2 }))
    const results = await Promise.all(
      models.map((model, i) => (i % 2 === 0 ? readAnthropic(server, { model }) : readOpenAIChat(server, { model })))
    )
    results.forEach((seen, i) => expect(seen.text).toEqual([models[i], " done"]))
    expect(await server.waitForIdle()).toMatchObject({ inflight: 0, completed: 20 })
  })
})

describe("close()", () => {
  it("cuts a hung response (closedByServer), closes every socket, resolves, and is idempotent", async () => {
    const own = await FakeLlmServer.start({ script: Script.text(3, { fault: { type: "hang", afterEvents: 1 } }) })
    const closed: Array<FakeLlmServer.ResponseClosedInfo> = []
    own.onResponseClosed((info) => closed.push(info))
    let firstDelta!: () => void
    const reached = new Promise<void>((resolve) => (firstDelta = resolve))
    const pending = readAnthropic(own, { onEvent: (s) => s.text.length === 1 && firstDelta() })
    await reached
    expect(own.stats()).toMatchObject({ inflight: 1, open: 1 })
    const first = own.close()
    expect(own.close()).toBe(first)
    await first
    expect(own.stats()).toMatchObject({ open: 0, inflight: 0, closedByServer: 1, closedByClient: 0 })
    expect(closed).toEqual([expect.objectContaining({ byClient: false, completed: false })])
    const seen = await pending
    expect(seen.text).toEqual(Script.words(1))
    expect(String((seen.error as Error)?.message)).toMatch(/terminated/)
  })

  it("cuts a response that never sent headers", async () => {
    const own = await FakeLlmServer.start({ script: { fault: { type: "hangBeforeHeaders" } } })
    const pending = fetch(`${own.url}/api/chat`, { method: "POST", body: "{}" }).then(
      () => "resolved",
      () => "rejected"
    )
    await own.waitFor((s) => s.inflight === 1)
    await own.close()
    expect(own.stats()).toMatchObject({ open: 0, inflight: 0, closedByServer: 1 })
    expect(await pending).toBe("rejected")
  })

  it("clears stall timers: an Effect-scoped server closes with the scope", async () => {
    let url = ""
    let serverRef: FakeLlmServer.Server | undefined
    await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const s = yield* FakeLlmServer.FakeLlmServer
          serverRef = s
          url = s.url
          s.setScript(Script.text(2, { fault: { type: "stall", afterEvents: 1, everyMs: 5 } }))
          const controller = new AbortController()
          const response = yield* Effect.promise(() =>
            fetch(`${s.url}/v1/messages`, { method: "POST", body: '{"stream":true}', signal: controller.signal })
          )
          expect(response.status).toBe(200)
          yield* Effect.promise(() => s.waitFor((st) => st.inflight === 1))
          response.body?.cancel().catch(() => undefined)
        }).pipe(Effect.provide(FakeLlmServer.layer()))
      )
    )
    expect(serverRef?.stats()).toMatchObject({ open: 0, inflight: 0 })
    await expect(fetch(`${url}/`)).rejects.toThrow()
  })
})

describe("script selection", () => {
  it("model route > queued > default, and a script may be a function of the request", async () => {
    server.setScript(Script.text(["default"]))
    server.enqueue(Script.text(["queued-1"]), (request) => Script.text([`queued-fn:${request.model}`]))
    server.scriptFor("routed", Script.text(["routed"]))
    const a = await readOpenAIChat(server, { model: "routed" })
    const b = await readOpenAIChat(server, { model: "x" })
    const c = await readOpenAIChat(server, { model: "routed" })
    const d = await readOpenAIChat(server, { model: "y" })
    const e = await readOpenAIChat(server, { model: "z" })
    expect([a, b, c, d, e].map((s) => s.text.join(""))).toEqual(["routed", "queued-1", "routed", "queued-fn:y", "default"])
  })

  it("a script function that throws answers 500 with its message", async () => {
    server.setScript(() => {
      throw new Error("no script for you")
    })
    const response = await fetch(`${server.url}/api/chat`, { method: "POST", body: "{}" })
    expect(response.status).toBe(500)
    expect(await response.json()).toEqual({
      error: { message: "FakeLlmServer: the script function threw: no script for you", type: "fake_server_error" }
    })
  })

  it("routes Gemini by the model in the path, with or without `models/`", async () => {
    server.scriptFor("models/gemini-routed", Script.text(["by path"]))
    const seen = await readGemini(server, { model: "gemini-routed" })
    expect(seen.text).toEqual(["by path"])
    expect(server.requests[0]).toMatchObject({ format: "gemini", model: "gemini-routed" })
  })

  it("reset() restores the start script and clears queue, routes, requests and counters", async () => {
    const own = await FakeLlmServer.start({ script: Script.text(["initial"]) })
    try {
      own.setScript(Script.text(["changed"]))
      own.enqueue(Script.text(["queued"]))
      own.scriptFor("m", Script.text(["routed"]))
      expect((await readOpenAIChat(own, { model: "m" })).text).toEqual(["routed"])
      own.reset()
      expect(own.requests).toEqual([])
      expect(own.stats()).toMatchObject({ total: 0, completed: 0, inflight: 0 })
      expect((await readOpenAIChat(own, { model: "m" })).text).toEqual(["initial"])
    } finally {
      await own.close()
    }
  })
})

describe("recorded requests", () => {
  it("records parsed bodies and redacts every credential", async () => {
    await anthropic(server).messages.create({ model: "claude-x", max_tokens: 5, messages: [{ role: "user", content: "hello" }] })
    await openai(server).chat.completions.create({ model: "gpt-x", messages: [{ role: "user", content: "hi" }] })
    await fetch(`${server.url}/v1beta/models/gemini-x:generateContent?key=${SECRET}`, {
      method: "POST",
      headers: { "x-goog-api-key": SECRET, "api-key": SECRET },
      body: JSON.stringify({ contents: [] })
    })
    const [a, o, g] = server.requests
    expect(a).toMatchObject({
      method: "POST",
      path: "/v1/messages",
      format: "anthropic",
      model: "claude-x",
      body: { model: "claude-x", max_tokens: 5, messages: [{ role: "user", content: "hello" }] }
    })
    expect(a.headers.authorization ?? a.headers["x-api-key"]).toBe("<redacted>")
    expect(o).toMatchObject({ format: "openai-chat", path: "/v1/chat/completions", model: "gpt-x" })
    expect(o.headers.authorization).toBe("<redacted>")
    expect(g).toMatchObject({ format: "gemini", model: "gemini-x", query: { key: "<redacted>" }, body: { contents: [] } })
    expect(g.headers["x-goog-api-key"]).toBe("<redacted>")
    expect(g.headers["api-key"]).toBe("<redacted>")
    expect(a.id).toBeLessThan(o.id)
    expect(o.receivedAt).toBeGreaterThanOrEqual(a.receivedAt)
    expect(JSON.stringify(server.requests)).not.toContain(SECRET)
  })

  it("records a non-JSON body as a string and answers unknown paths with 404 JSON", async () => {
    const response = await fetch(`${server.url}/v2/nowhere`, { method: "POST", body: "plain text" })
    expect(response.status).toBe(404)
    expect(await response.json()).toEqual({ error: { message: "no route for POST /v2/nowhere", type: "not_found" } })
    expect(server.requests[0]).toMatchObject({ format: "unknown", body: "plain text", model: undefined })
  })

  it("handles GET and HEAD gracefully", async () => {
    const root = await fetch(`${server.url}/`)
    expect(root.status).toBe(200)
    expect(await root.json()).toMatchObject({ name: "streamvisor-fake-server" })
    expect((await fetch(`${server.url}/`, { method: "HEAD" })).status).toBe(200)
    const wrong = await fetch(`${server.url}/v1/messages`)
    expect(wrong.status).toBe(405)
    expect(wrong.headers.get("allow")).toBe("POST")
    await wrong.body?.cancel()
    expect(server.stats()).toMatchObject({ total: 3 })
  })
})
