/**
 * A support bot reads a screenshot: a user message made of parts — text and
 * an image (base64 data here; `{ type: "image", url }` works the same where
 * the provider takes URLs) — sent to Anthropic as an `image` content block.
 *
 *   npx tsx examples/images.ts                                   # embedded fake server
 *   ANTHROPIC_API_KEY=sk-ant-… npx tsx examples/images.ts --live  # the real API
 *
 * Then the same request to a provider without that media type: a typed
 * `InvalidRequest` naming the part, before any connection opens.
 */
import { type ChatRequest, LlmError } from "@streamvisor/core"
import { Script } from "@streamvisor/testkit"
import { Console, Effect } from "effect"
import { Backend, runMain } from "./support/Backend.js"

// A 1×1 PNG: stands in for a screenshot of an error dialog.
const SCREENSHOT = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="

const program = Effect.gen(function*() {
  const backend = yield* Backend
  const claude = backend.provider("anthropic")
  const question: ReadonlyArray<ChatRequest.UserPart> = [
    { type: "text", text: "A customer sent this screenshot. What went wrong?" },
    { type: "image", mediaType: "image/png", data: SCREENSHOT }
  ]
  backend.server.setScript(Script.text(["The dialog says ", "the disk is full: ", "free some space and retry."]))

  const answer = yield* claude.generate({
    model: backend.model("anthropic"),
    maxTokens: 300,
    messages: [{ role: "user", content: question }]
  })
  yield* Console.log(`answer: ${answer.text}`)
  if (!backend.isLive("anthropic")) {
    // What reached the wire: the image as an Anthropic image block.
    const sent = backend.server.lastRequest?.body as { messages: Array<{ content: Array<{ type: string; source?: { type: string; media_type: string } }> }> }
    const block = sent.messages[0]!.content[1]!
    yield* Console.log(`on the wire: an Anthropic "${block.type}" block, source ${block.source?.type} ${block.source?.media_type}`)
  }

  // A BMP is not among the image types Anthropic documents: refused up front.
  const before = backend.server.stats().total
  const refused = yield* claude.generate({
    model: backend.model("anthropic"),
    messages: [{ role: "user", content: [{ type: "image", mediaType: "image/bmp", data: SCREENSHOT }] }]
  }).pipe(Effect.flip)
  yield* Console.log(`bmp: ${refused._tag} (${LlmError.isLlmError(refused) ? refused.message.split("\n").at(-1) : ""})`)
  yield* Console.log(`requests sent for it: ${backend.server.stats().total - before}`)
})

runMain(program)
