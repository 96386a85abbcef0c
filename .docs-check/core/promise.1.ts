import { streamText } from "@streamvisor/core/promise"

for await (const event of streamText(provider, { model: "m", messages: [{ role: "user", content: "Hi" }] })) {
  if (event._tag === "TextDelta") process.stdout.write(event.text)
}
export {}
