import { describe, expect, it } from "@effect/vitest"
import { Capabilities, ChatRequest, Ledger, Provider } from "@streamvisor/core"
import { Script } from "@streamvisor/testkit"
import { Effect, Stream } from "effect"
import { Agent } from "undici"
import { server, useFakeServer } from "./support/FakeServer.js"
import * as NdjsonProvider from "./support/NdjsonProvider.js"

useFakeServer()

const png = "iVBORw0KGgo="
const base = { model: "m", messages: [{ role: "user" as const, content: "hi" }] }

const uses: ReadonlyArray<[Capabilities.Feature, ChatRequest.Input, string]> = [
  ["image.data", { ...base, messages: [{ role: "user", content: [{ type: "image", mediaType: "image/png", data: png }] }] }, "messages[0].content[0]: an image part (data)"],
  ["image.url", { ...base, messages: [{ role: "user", content: [{ type: "text", text: "x" }, { type: "image", url: "https://e.com/a.png" }] }] }, "messages[0].content[1]: an image part (url)"],
  ["file.data", { ...base, messages: [{ role: "user", content: [{ type: "file", mediaType: "application/pdf", data: png }] }] }, "a file part (application/pdf, data)"],
  ["file.url", { ...base, messages: [{ role: "user", content: [{ type: "file", mediaType: "application/pdf", url: "https://e.com/a.pdf" }] }] }, "a file part (application/pdf, url)"],
  ["toolResult.image", { ...base, messages: [...base.messages, { role: "tool", toolCallId: "c", name: "f", content: [{ type: "image", mediaType: "image/png", data: png }] }] }, "an image part (data) in a tool result"],
  ["toolChoice.none", { ...base, toolChoice: "none" }, "toolChoice \"none\""],
  ["toolChoice.required", { ...base, tools: [{ name: "f", parameters: {} }], toolChoice: "required" }, "toolChoice \"required\""],
  ["toolChoice.tool", { ...base, tools: [{ name: "f", parameters: {} }], toolChoice: { tool: "f" } }, "toolChoice { tool: \"f\" }"],
  ["responseFormat.json", { ...base, responseFormat: { type: "json" } }, "responseFormat \"json\""],
  ["responseFormat.json_schema", { ...base, responseFormat: { type: "json_schema", name: "o", schema: {} } }, "responseFormat \"json_schema\""],
  ["reasoning.effort", { ...base, reasoning: { effort: "low" } }, "reasoning effort"],
  ["reasoning.budgetTokens", { ...base, reasoning: { budgetTokens: 1024 } }, "a reasoning token budget"],
  ["reasoning.history", { ...base, messages: [...base.messages, { role: "assistant", content: [{ type: "reasoning", text: "t", signature: "s" }] }] }, "messages[1].content[0]: a reasoning part"],
  ["cache", { ...base, system: { text: "s", cache: true } }, "system: a cache hint"],
  ["providerOptions", { ...base, providerOptions: { openai: { seed: 1 } } }, "providerOptions.openai: provider options"]
]

describe("Capabilities", () => {
  it("lists every feature once in the table", () => {
    expect(new Set(uses.map(([feature]) => feature))).toEqual(new Set(Capabilities.features))
  })

  it.effect.each(uses)("%s: refused before connecting, naming the part and the provider; accepted when declared", ([feature, request, where]) =>
    Effect.gen(function*() {
      const agent = new Agent()
      const make = (features: ReadonlyArray<Capabilities.Feature>) =>
        NdjsonProvider.make({
          url: server.url,
          agent: () => agent,
          name: "plain",
          capabilities: Capabilities.make({ features, providerOptionsKey: "openai" })
        })
      const error = yield* Effect.flip(make([]).generate(request))
      expect(error._tag).toBe("InvalidRequest")
      expect(error.message).toContain(`${where} is not supported by plain`)
      expect(server.stats().total).toBe(0)

      server.setScript(Script.text(["ok"]))
      const ok = yield* make([feature]).generate(request).pipe(Effect.provideService(Ledger.Ledger, Ledger.make()))
      expect(ok.text).toBe("ok")
      expect(server.stats().total).toBe(1)
      yield* Effect.promise(() => agent.close())
    }))

  it("reports every use at once, and checks media types", () => {
    const request = Effect.runSync(ChatRequest.decode("p", {
      ...base,
      toolChoice: "none",
      messages: [{ role: "user", content: [{ type: "file", mediaType: "text/csv", data: png }, { type: "image", mediaType: "image/tiff", data: png }] }]
    }))
    const table = Capabilities.make({ features: ["file.data", "image.data"], fileMediaTypes: ["application/pdf", "text/plain"], imageMediaTypes: ["image/*"] })
    const error = Capabilities.check("p", table, request)!
    expect(error.message).toContain("toolChoice \"none\" is not supported by p")
    expect(error.message).toContain("media type text/csv, which p does not take (it takes application/pdf, text/plain)")
    expect(error.message).not.toContain("image/tiff")
  })

  it("ignores another provider's options, and the baseline needs no feature", () => {
    const request = Effect.runSync(ChatRequest.decode("p", {
      ...base,
      tools: [{ name: "f", parameters: {} }],
      toolChoice: "auto",
      messages: [
        { role: "user", content: [{ type: "text", text: "a" }, { type: "text", text: "b" }] },
        { role: "assistant", content: [{ type: "text", text: "c" }, { type: "tool-call", id: "1", name: "f", arguments: {} }] },
        { role: "tool", toolCallId: "1", name: "f", content: [{ type: "text", text: "r" }] }
      ],
      providerOptions: { google: { safetySettings: [] } }
    }))
    expect(Capabilities.check("p", Capabilities.make({ providerOptionsKey: "anthropic" }), request)).toBeUndefined()
  })

  it.effect("a provider made without a table takes everything (policies check through the providers they wrap)", () =>
    Effect.gen(function*() {
      const provider = Provider.make({ name: "any", stream: () => Stream.make({ _tag: "Finish", reason: "stop", raw: null } as const) })
      const result = yield* provider.generate(uses[0]![1])
      expect(result.finish.reason).toBe("stop")
    }))
})
