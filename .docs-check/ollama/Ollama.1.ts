import { Ollama } from "@streamvisor/ollama"
import { streamText } from "@streamvisor/core/promise"

const ollama = Ollama.make({ host: "http://127.0.0.1:11434" })
for await (const event of streamText(ollama, { model: "llama3.2", messages: [{ role: "user", content: "Hi" }] })) {
  if (event._tag === "TextDelta") process.stdout.write(event.text)
}
export {}
