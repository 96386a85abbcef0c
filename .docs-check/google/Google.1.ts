import { Google } from "@streamvisor/google"
import { streamText } from "@streamvisor/core/promise"

const gemini = Google.make({ apiKey: process.env.GEMINI_API_KEY! })
for await (const event of streamText(gemini, {
  model: "gemini-2.5-flash",
  messages: [{ role: "user", content: "Hi" }]
})) {
  if (event._tag === "TextDelta") process.stdout.write(event.text)
}
export {}
