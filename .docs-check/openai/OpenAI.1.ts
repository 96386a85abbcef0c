import { OpenAI } from "@streamvisor/openai"
import { streamText } from "@streamvisor/core/promise"

const gpt = OpenAI.make({ apiKey: process.env.OPENAI_API_KEY! })
for await (const event of streamText(gpt, { model: "gpt-4o-mini", messages: [{ role: "user", content: "Hi" }] })) {
  if (event._tag === "TextDelta") process.stdout.write(event.text)
}

// The Responses API, through a server of your own:
const responses = OpenAI.make({ apiKey: "sk-…", baseURL: "http://127.0.0.1:8080/v1", api: "responses" })
export {}
