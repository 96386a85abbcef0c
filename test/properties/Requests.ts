/**
 * Random requests over the whole conversation model: user content as a string
 * or parts (text, image by data or URL, file by data or URL, media types inside
 * and outside the adapters' tables), an optional history (assistant reasoning
 * with a signature, a tool call, a tool result with text or an image), tools
 * (JSON Schema or `effect/Schema` parameters), a valid `toolChoice`, a
 * `responseFormat`, `reasoning`, cache hints and `providerOptions`. Every
 * request decodes: what is random is which features it uses, so which
 * provider can take it.
 */
import type { ChatRequest } from "@streamvisor/core"
import { Schema } from "effect"
import * as fc from "fast-check"

/** A 1×1 PNG's first bytes: valid base64, small. */
const PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"
const PDF = "JVBERi0xLjQKJcfsj6IKMSAwIG9iago="

const textPart = fc.constantFrom<ChatRequest.UserPart>(
  { type: "text", text: "What is on this screen?" },
  { type: "text", text: "Summarise it." }
)

const imagePart = fc.oneof(
  fc.constantFrom("image/png", "image/jpeg", "image/webp", "image/bmp").map(
    (mediaType): ChatRequest.UserPart => ({ type: "image", mediaType, data: PNG })
  ),
  fc.constant<ChatRequest.UserPart>({ type: "image", url: "https://example.com/screenshot.png" })
)

const filePart = fc.oneof(
  fc.constantFrom("application/pdf", "text/plain", "text/csv").map(
    (mediaType): ChatRequest.UserPart => ({ type: "file", mediaType, data: PDF, filename: "report" })
  ),
  fc.constantFrom("application/pdf", "text/plain").map(
    (mediaType): ChatRequest.UserPart => ({ type: "file", mediaType, url: "https://example.com/report" })
  )
)

const userContent: fc.Arbitrary<string | ReadonlyArray<ChatRequest.UserPart>> = fc.oneof(
  { arbitrary: fc.constant("hi"), weight: 3 },
  {
    arbitrary: fc.tuple(textPart, fc.array(fc.oneof(imagePart, filePart, textPart), { maxLength: 2 })).map(
      ([first, rest]) => [first, ...rest]
    ),
    weight: 2
  }
)

const cache = fc.option(fc.constant(true), { nil: undefined, freq: 4 })

/** A finished tool turn before the question: reasoning with a signature, a call, its result. */
const history = fc.record({
  signed: fc.boolean(),
  imageResult: fc.boolean(),
  cache
}).map(({ cache, imageResult, signed }): ReadonlyArray<ChatRequest.Input["messages"][number]> => [
  { role: "user", content: "Check the weather first." },
  {
    role: "assistant",
    content: [
      ...(signed ? [{ type: "reasoning" as const, text: "I should look it up.", signature: "c2lnbmF0dXJl" }] : []),
      { type: "text" as const, text: "Looking." },
      { type: "tool-call" as const, id: "call_1", name: "weather", arguments: { city: "Oslo" } }
    ]
  },
  {
    role: "tool",
    toolCallId: "call_1",
    name: "weather",
    content: imageResult ? [{ type: "image", mediaType: "image/png", data: PNG }] : "4°C, cloudy",
    ...(cache === undefined ? {} : { cache })
  }
])

const weatherTool = (cache: boolean | undefined): ChatRequest.Input["tools"] extends ReadonlyArray<infer T> | undefined ? T : never => ({
  name: "weather",
  description: "The weather in a city.",
  parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  ...(cache === undefined ? {} : { cache })
})

const lookupTool = {
  name: "lookup",
  description: "Look a word up.",
  parameters: Schema.Struct({ word: Schema.String })
}

const toolsAndChoice = fc.record({
  tools: fc.constantFrom("none", "weather", "both"),
  choice: fc.constantFrom("absent", "auto", "none", "required", "named"),
  cache
}).map(({ cache, choice, tools }) => {
  if (tools === "none") return choice === "none" || choice === "auto" ? { toolChoice: choice } : {}
  const list = tools === "both" ? [weatherTool(cache), lookupTool] : [weatherTool(cache)]
  return {
    tools: list,
    ...(choice === "absent" ? {} : { toolChoice: choice === "named" ? { tool: "weather" } : choice })
  }
})

const responseFormat = fc.constantFrom<ChatRequest.Input["responseFormat"]>(
  { type: "json" },
  {
    type: "json_schema",
    name: "answer",
    schema: { type: "object", properties: { summary: { type: "string" } }, required: ["summary"] }
  },
  { type: "json_schema", name: "answer", schema: Schema.Struct({ summary: Schema.String }), strict: true }
)

const reasoning = fc.constantFrom<ChatRequest.Input["reasoning"]>(
  { effort: "low" },
  { effort: "high" },
  { budgetTokens: 2048 },
  { effort: "medium", budgetTokens: 1024 }
)

const providerOptions = fc.subarray(["anthropic", "openai", "google", "ollama"] as const, { minLength: 1 }).map(
  (keys): ChatRequest.Input["providerOptions"] => {
    const all = {
      anthropic: { metadata: { user_id: "property" } },
      openai: { seed: 7 },
      google: { seed: 7 },
      ollama: { keep_alive: "5m" }
    }
    return Object.fromEntries(keys.map((key) => [key, all[key]]))
  }
)

const optional = <A>(arb: fc.Arbitrary<A>) => fc.option(arb, { nil: undefined, freq: 3 })

/** A request of the conversation model; each feature drawn in about a third of the cases. */
export const rich: fc.Arbitrary<ChatRequest.Input> = fc.record({
  content: userContent,
  history: optional(history),
  system: optional(fc.oneof(fc.constant("Be brief."), cache.map((c) => ({ text: "Be brief.", cache: c })))),
  tools: optional(toolsAndChoice),
  responseFormat: optional(responseFormat),
  reasoning: optional(reasoning),
  providerOptions: optional(providerOptions),
  cacheQuestion: cache
}).map((d): ChatRequest.Input => ({
  model: "property-model",
  maxTokens: 4096,
  messages: [
    ...(d.history ?? []),
    { role: "user", content: d.content, ...(d.cacheQuestion === undefined ? {} : { cache: d.cacheQuestion }) }
  ],
  ...(d.system === undefined ? {} : { system: d.system }),
  ...(d.tools ?? {}),
  ...(d.responseFormat === undefined ? {} : { responseFormat: d.responseFormat }),
  ...(d.reasoning === undefined ? {} : { reasoning: d.reasoning }),
  ...(d.providerOptions === undefined ? {} : { providerOptions: d.providerOptions })
}))

/** The plain-text request every provider takes. */
export const plain: ChatRequest.Input = { model: "property-model", messages: [{ role: "user", content: "hi" }] }

/**
 * Half plain, half {@link rich}: most rich requests are refused before
 * connecting by some provider, and the streaming invariants need cases that stream.
 */
export const request: fc.Arbitrary<ChatRequest.Input> = fc.oneof(fc.constant(plain), rich)
