/**
 * The promise facade, for code that does not use Effect: `streamText` returns
 * a plain `AsyncIterable`. `break`, `return()` and an `AbortSignal` all release
 * the connection, and failures are thrown as typed `LlmError`s.
 *
 *   npx tsx examples/promise-abort.ts
 *   OPENAI_API_KEY=sk-… npx tsx examples/promise-abort.ts --live   # the real API
 */
import { Ledger } from "@streamvisor/core"
import { type LlmError, streamText } from "@streamvisor/core/promise"
import { Script } from "@streamvisor/testkit"
import { runMainAsync } from "./support/Backend.js"

/** Streams still open right now (the process-wide ledger). */
const liveStreams = () => Ledger.global.snapshot().live.length

runMainAsync(async (backend) => {
  const provider = backend.provider("openai-chat")
  const live = backend.isLive("openai-chat")
  const request = {
    model: backend.model("openai-chat"),
    maxTokens: 300,
    messages: [{ role: "user" as const, content: "Tell me a long story about a lighthouse." }]
  }
  // On the fake server, make the answers long and slow: 300 words, one every 10 ms.
  if (!live) backend.server.setScript(Script.text(300, { delayMs: 10 }))

  // 1. `break` out of the loop: the iterator's `return()` releases the connection.
  let count = 0
  for await (const event of streamText(provider, request)) {
    if (event._tag === "TextDelta") process.stdout.write(event.text)
    if (++count === 10) break
  }
  console.log(`\n1. broke out after ${count} events; live streams: ${liveStreams()}`)

  // 2. An AbortSignal, e.g. the user pressed "stop" after 100 ms. The pending
  //    `next()` rejects with `signal.reason`, and the connection is released.
  const controller = new AbortController()
  setTimeout(() => controller.abort(new Error("stopped by the user")), 100)
  let text = ""
  try {
    for await (const event of streamText(provider, request, { signal: controller.signal })) {
      if (event._tag === "TextDelta") text += event.text
    }
  } catch (error) {
    console.log(`2. aborted after ${text.length} characters: ${(error as Error).message}; live streams: ${liveStreams()}`)
  }

  // 3. A deadline with `AbortSignal.timeout`, the same way.
  try {
    for await (const _ of streamText(provider, request, { signal: AbortSignal.timeout(150) })) {
      // read until the deadline
    }
  } catch (error) {
    console.log(`3. deadline: ${(error as Error).name}; live streams: ${liveStreams()}`)
  }

  // 4. Failures are `LlmError`s, thrown as they are: check `error._tag`. Here
  //    the fake server answers 429 with a retry-after header.
  if (!live) {
    backend.server.enqueue(Script.status(429, { headers: { "retry-after": "2" } }))
    try {
      for await (const _ of streamText(provider, request)) {
        // never reached
      }
    } catch (error) {
      const llmError = error as LlmError
      if (llmError._tag === "RateLimited") {
        console.log(`4. ${llmError._tag} (retryable: ${llmError.retryable}, retry after: ${String(llmError.retryAfter)})`)
      } else {
        throw error
      }
    }
  }
})
