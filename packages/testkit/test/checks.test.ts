/**
 * Provider-style request checks: a two-turn tool conversation with reasoning, checked the way each
 * provider checks it, answered with the provider's own error; custom predicates; recording.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { FakeLlmServer, RequestCheck, Script } from "../src/index.js"
import { anthropic, gemini, openai, SECRET } from "./support/Readers.js"

let server: FakeLlmServer.Server

beforeAll(async () => {
  server = await FakeLlmServer.start()
})

afterAll(async () => {
  await server?.close()
})

const post = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
  const response = await fetch(`${server.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body)
  })
  return { status: response.status, body: (await response.json()) as any }
}

describe("anthropic-thinking", () => {
  const thinking = { type: "enabled" as const, budget_tokens: 1024 }
  const tools = [{ name: "get_weather", input_schema: { type: "object" as const } }]
  const user = { role: "user" as const, content: "Weather in Paris?" }
  const result = { role: "user" as const, content: [{ type: "tool_result" as const, tool_use_id: "call_1", content: "sunny" }] }
  const validated = Script.make([Script.textEvent("It is sunny.")], { validate: ["anthropic-thinking"] })

  it("turn 1 → turn 2 with the signed thinking block passes; without its signature is the provider's 400", async () => {
    const client = anthropic(server)
    server.enqueue(
      Script.make([Script.reasoningEvent("Need the tool.", "SIG-A"), Script.toolCallEvent({ id: "call_1", name: "get_weather", arguments: { city: "Paris" } })])
    )
    const turn1 = await client.messages.stream({ model: "claude", max_tokens: 2048, thinking, tools, messages: [user] }).finalMessage()
    expect(turn1.content[0]).toEqual({ type: "thinking", thinking: "Need the tool.", signature: "SIG-A" })

    server.enqueue(validated)
    const ok = await client.messages.create({
      model: "claude", max_tokens: 2048, thinking, tools,
      messages: [user, { role: "assistant", content: turn1.content }, result]
    })
    expect(ok.content).toEqual([{ type: "text", text: "It is sunny." }])

    server.enqueue(validated)
    const unsigned = turn1.content.map((block) => (block.type === "thinking" ? { type: "thinking", thinking: block.thinking } : block))
    const error = await client.messages
      .create({ model: "claude", max_tokens: 2048, thinking, tools, messages: [user, { role: "assistant", content: unsigned as any }, result] })
      .catch((e: unknown) => e)
    expect(error).toMatchObject({ status: 400 })
    expect((error as any).error).toEqual({
      type: "error",
      error: { type: "invalid_request_error", message: "messages.1.content.0.thinking.signature: Field required" }
    })
  })

  it("dropping the thinking block before tool_use: Expected `thinking` or `redacted_thinking`", async () => {
    const res = await post("/v1/messages", {
      model: "claude", max_tokens: 2048, thinking, tools,
      messages: [user, { role: "assistant", content: [{ type: "tool_use", id: "call_1", name: "get_weather", input: {} }] }, result]
    }, {})
    expect(res.status).toBe(200) // not validated: the default script
    server.enqueue(validated)
    const rejected = await post("/v1/messages", {
      model: "claude", max_tokens: 2048, thinking, tools,
      messages: [user, { role: "assistant", content: [{ type: "tool_use", id: "call_1", name: "get_weather", input: {} }] }, result]
    })
    expect(rejected.status).toBe(400)
    expect(rejected.body.error.type).toBe("invalid_request_error")
    expect(rejected.body.error.message).toMatch(/^messages\.1\.content\.0\.type: Expected `thinking` or `redacted_thinking`, but found `tool_use`\. When `thinking` is enabled, a final `assistant` message must start with a thinking block/)
  })

  it("a redacted_thinking block opens the message just as well; a forced tool_choice or a small budget is refused", async () => {
    server.enqueue(validated)
    const redacted = await post("/v1/messages", {
      model: "claude", max_tokens: 2048, thinking, tools,
      messages: [user, { role: "assistant", content: [{ type: "redacted_thinking", data: "D" }, { type: "tool_use", id: "call_1", name: "get_weather", input: {} }] }, result]
    })
    expect(redacted.status).toBe(200)
    server.enqueue(validated)
    const forced = await post("/v1/messages", { model: "claude", max_tokens: 2048, thinking, tools, tool_choice: { type: "tool", name: "get_weather" }, messages: [user] })
    expect(forced).toEqual({ status: 400, body: { type: "error", error: { type: "invalid_request_error", message: "Thinking may not be enabled when tool_choice forces tool use." } } })
    server.enqueue(validated)
    const budget = await post("/v1/messages", { model: "claude", max_tokens: 2048, thinking: { type: "enabled", budget_tokens: 512 }, messages: [user] })
    expect(budget.body.error.message).toBe("thinking.enabled.budget_tokens: Input should be greater than or equal to 1024")
    server.enqueue(validated)
    const max = await post("/v1/messages", { model: "claude", max_tokens: 1024, thinking, messages: [user] })
    expect(max.body.error.message).toMatch(/^`max_tokens` must be greater than `thinking.budget_tokens`/)
  })
})

describe("gemini-thought-signature", () => {
  const validated = Script.make([Script.textEvent("sunny")], { validate: ["gemini-thought-signature"] })
  const history = (call: Record<string, unknown>) => [
    { role: "user", parts: [{ text: "Weather in Paris?" }] },
    { role: "model", parts: [call] },
    { role: "user", parts: [{ functionResponse: { name: "get_weather", response: { result: "sunny" } } }] }
  ]

  it("turn 2 through the real SDK: with the signature 200, without it 400 INVALID_ARGUMENT", async () => {
    server.enqueue(Script.make([Script.toolCallEvent({ name: "get_weather", arguments: { city: "Paris" }, signature: "GSIG" })]))
    const model = gemini(server, "gemini-3-pro")
    const turn1 = await model.generateContent("Weather in Paris?")
    const part = turn1.response.candidates![0].content.parts[0] as any
    expect(part.thoughtSignature).toBe("GSIG")

    server.enqueue(validated)
    const ok = await model.generateContent({ contents: history(part) as any })
    expect(ok.response.text()).toBe("sunny")

    server.enqueue(validated)
    const error = await model.generateContent({ contents: history({ functionCall: part.functionCall }) as any }).catch((e: unknown) => e)
    expect(error).toMatchObject({ status: 400 })
    const raw = await (server.enqueue(validated), post("/v1beta/models/gemini-3-pro:generateContent", { contents: history({ functionCall: part.functionCall }) }))
    expect(raw).toEqual({
      status: 400,
      body: {
        error: {
          code: 400,
          message:
            "Function call is missing a thought_signature in functionCall parts. This is required for tools to work correctly, and missing thought_signature may lead to degraded model performance. Additional data, function call `default_api:get_weather` , position 2. Please refer to https://ai.google.dev/gemini-api/docs/thought-signatures for more details.",
          status: "INVALID_ARGUMENT"
        }
      }
    })
  })

  it("only the current turn is checked: an unsigned call before the last user text passes", async () => {
    server.enqueue(validated)
    const res = await post("/v1beta/models/g:generateContent", {
      contents: [...history({ functionCall: { name: "get_weather", args: {} } }), { role: "model", parts: [{ text: "sunny" }] }, { role: "user", parts: [{ text: "thanks" }] }]
    })
    expect(res.status).toBe(200)
  })
})

describe("openai-responses-reasoning", () => {
  const validated = Script.make([Script.textEvent("sunny")], { validate: ["openai-responses-reasoning"] })

  it("turn 2 with the reasoning item passes; the function_call without it is the provider's 400", async () => {
    const client = openai(server)
    server.enqueue(Script.make([Script.reasoningEvent("think", "ENC"), Script.toolCallEvent({ id: "call_1", name: "get_weather", arguments: { city: "Paris" } })]))
    const stream = await client.responses.create({ model: "o4", input: "Weather?", stream: true, store: false, include: ["reasoning.encrypted_content"] })
    const items: Array<any> = []
    for await (const event of stream) if (event.type === "response.output_item.done") items.push(event.item)
    expect(items.map((i) => i.type)).toEqual(["reasoning", "function_call"])
    expect(items[0].encrypted_content).toBe("ENC")
    const output = { type: "function_call_output" as const, call_id: "call_1", output: "sunny" }

    server.enqueue(validated)
    const ok = await client.responses.create({ model: "o4", store: false, input: ["Weather?", ...items, output].map((i) => (typeof i === "string" ? { role: "user", content: i } : i)) as any })
    expect(ok.output_text).toBe("sunny")

    server.enqueue(validated)
    const error = await client.responses
      .create({ model: "o4", store: false, input: [{ role: "user", content: "Weather?" }, items[1], output] as any })
      .catch((e: unknown) => e)
    expect(error).toMatchObject({ status: 400 })
    expect((error as any).error).toEqual({
      message: `Item '${items[1].id}' of type 'function_call' was provided without its required 'reasoning' item: '${items[0].id}'.`,
      type: "invalid_request_error",
      param: "input",
      code: null
    })
  })

  it("with store false a reasoning item needs encrypted_content (404); a reasoning item needs a following item (400)", async () => {
    server.enqueue(validated)
    const missing = await post("/v1/responses", { model: "o4", store: false, input: [{ type: "reasoning", id: "rs_1", summary: [] }, { type: "message", role: "assistant", content: "x" }] })
    expect(missing.status).toBe(404)
    expect(missing.body.error.message).toBe("Item with id 'rs_1' not found. Items are not persisted when `store` is set to false. Try again with `store` set to true, or remove this item from your input.")
    server.enqueue(validated)
    const dangling = await post("/v1/responses", { model: "o4", input: [{ role: "user", content: "x" }, { type: "reasoning", id: "rs_2", summary: [] }] })
    expect(dangling.status).toBe(400)
    expect(dangling.body.error.message).toBe("Item 'rs_2' of type 'reasoning' was provided without its required following item.")
  })
})

describe("custom checks and server-wide checks", () => {
  it("expectRequest: a message is the provider's 400 on every wire; a rejection is sent as given; a throw is a 500", async () => {
    const mustStream: RequestCheck.RequestPredicate = (request) => ((request.body as any)?.stream === true ? undefined : "stream must be true")
    const script = { ...Script.text(["ok"]), expectRequest: mustStream }
    server.enqueue(script, script, script, script)
    expect((await post("/v1/messages", { model: "m" })).body).toEqual({ type: "error", error: { type: "invalid_request_error", message: "stream must be true" } })
    expect((await post("/v1/chat/completions", { model: "m" })).body).toEqual({ error: { message: "stream must be true", type: "invalid_request_error", param: null, code: null } })
    expect((await post("/v1beta/models/m:generateContent", {})).body).toEqual({ error: { code: 400, message: "stream must be true", status: "INVALID_ARGUMENT" } })
    expect((await post("/api/chat", { model: "m", stream: false })).body).toEqual({ error: "stream must be true" })
    server.enqueue({ ...script, expectRequest: () => ({ status: 422, message: "x", body: { custom: true } }) })
    expect(await post("/v1/messages", { model: "m" })).toEqual({ status: 422, body: { custom: true } })
    server.enqueue({ ...script, expectRequest: () => { throw new Error("boom") } })
    const thrown = await post("/v1/messages", { model: "m" })
    expect(thrown.status).toBe(500)
    expect(thrown.body.error.message).toContain("boom")
    await server.waitForIdle()
  })

  it("start({ validate }) applies to every request until setValidate; reset restores it", async () => {
    const strict = await FakeLlmServer.start({ validate: ["gemini-thought-signature"] })
    try {
      const unsigned = { contents: [{ role: "user", parts: [{ text: "q" }] }, { role: "model", parts: [{ functionCall: { name: "f", args: {} } }] }] }
      expect((await fetch(`${strict.url}/v1beta/models/g:generateContent`, { method: "POST", body: JSON.stringify(unsigned) })).status).toBe(400)
      // Other formats pass a Gemini check untouched.
      expect((await fetch(`${strict.url}/v1/messages`, { method: "POST", body: JSON.stringify({ model: "m" }) })).status).toBe(200)
      strict.setValidate([])
      expect((await fetch(`${strict.url}/v1beta/models/g:generateContent`, { method: "POST", body: JSON.stringify(unsigned) })).status).toBe(200)
      strict.reset()
      expect((await fetch(`${strict.url}/v1beta/models/g:generateContent`, { method: "POST", body: JSON.stringify(unsigned) })).status).toBe(400)
      await strict.waitForIdle()
    } finally {
      await strict.close()
    }
  })

  it("script files can name checks; unknown names are rejected", () => {
    expect(Script.decode({ events: [], validate: ["anthropic-thinking"] })._tag).toBe("Right")
    const bad = Script.decode({ events: [], validate: ["anthropic-thinkin"] })
    expect(bad._tag).toBe("Left")
    expect(RequestCheck.isCheckName("openai-responses-reasoning")).toBe(true)
  })
})

describe("request recording", () => {
  it("records method, path, query, redacted headers and the parsed body; lastRequest is the newest", async () => {
    const recorder = await FakeLlmServer.start({ maxRecordedRequests: 3 })
    try {
      expect(recorder.lastRequest).toBeUndefined()
      await fetch(`${recorder.url}/v1beta/models/g:streamGenerateContent?alt=sse&key=${SECRET}`, {
        method: "POST",
        headers: { "x-goog-api-key": SECRET, "x-custom": "kept" },
        body: JSON.stringify({ contents: [{ role: "user", parts: [{ text: "Hi" }] }] })
      }).then((r) => r.text())
      const last = recorder.lastRequest!
      expect(last).toMatchObject({
        method: "POST",
        path: "/v1beta/models/g:streamGenerateContent",
        query: { alt: "sse", key: "<redacted>" },
        body: { contents: [{ role: "user", parts: [{ text: "Hi" }] }] },
        model: "g",
        format: "gemini"
      })
      expect(last.headers["x-goog-api-key"]).toBe("<redacted>")
      expect(last.headers["x-custom"]).toBe("kept")
      for (const headers of [{ "x-api-key": SECRET }, { authorization: `Bearer ${SECRET}` }, {}, {}] as Array<Record<string, string>>) {
        await fetch(`${recorder.url}/v1/messages`, { method: "POST", headers, body: JSON.stringify({ model: "m" }) }).then((r) => r.text())
      }
      expect(recorder.requests).toHaveLength(3)
      expect(recorder.requests.map((r) => r.id)).toEqual([3, 4, 5])
      expect(recorder.requests[0].headers.authorization).toBe("<redacted>")
      expect(JSON.stringify(recorder.requests)).not.toContain(SECRET)
      expect(recorder.lastRequest!.id).toBe(5)
      recorder.reset()
      expect(recorder.requests).toHaveLength(0)
      expect(recorder.lastRequest).toBeUndefined()
    } finally {
      await recorder.close()
    }
  })
})
