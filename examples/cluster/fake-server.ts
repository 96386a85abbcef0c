/**
 * The fake LLM server the example runners stream from (Ollama's wire format),
 * on a fixed port so the runners can be told where it is. Answers
 * "re: <your message>", a word every 150 ms, so a turn takes a few seconds:
 * long enough to kill a runner in the middle of one.
 *
 *   npx tsx examples/cluster/fake-server.ts          # http://127.0.0.1:11500
 */
import { FakeLlmServer, Script } from "@streamvisor/testkit"

const server = await FakeLlmServer.start({ port: Number(process.env.FAKE_PORT ?? 11500) })
server.setScript((request) => {
  const messages = (request.body as { messages: Array<{ content: string }> }).messages
  const text = `re: ${messages[messages.length - 1].content} (${messages.length} messages so far)`
  return Script.text(text.split(/(?<= )/), { delayMs: 150 })
})
console.log(`fake Ollama on ${server.baseUrls.ollama}`)
process.on("SIGINT", () => void server.close().then(() => process.exit(0)))
