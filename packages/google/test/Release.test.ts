/**
 * The JS twin of the original Google bug (a Go service whose Gemini streaming
 * loop never closed its stream): with `@google/generative-ai` alone, leaving
 * the loop early does not close the connection (the SDK keeps reading the body
 * for its aggregated `response`), and aborting raises an unhandled rejection.
 * Through the adapter, every way of leaving — break, throw, abort, stop
 * pulling — closes the socket promptly (the server observes the close within
 * 1 s) and raises no unhandled rejection. The harness also checks, after each
 * test, inflight = 0, ledger live = 0, no double release and open = 0.
 */
import { GoogleGenerativeAI } from "@google/generative-ai"
import { describe, expect, it } from "@effect/vitest"
import { Script } from "@streamvisor/testkit"
import { harness, KEY } from "./support/Harness.js"
import { releaseMatrix } from "./support/Matrix.js"

const h = harness()

/** 100 deltas, 20 ms apart: reading to the end takes 2 s, far beyond the 1 s bound. */
const slow = () => Script.text(100, { delayMs: 20 })

/** Resolves with how long after `since` the server saw the client close the response; fails after 1 s. */
const closedWithin1s = async (since: number): Promise<number> => {
  await h.server.waitFor((s) => s.closedByClient === 1 && s.inflight === 0, {
    timeoutMs: 1000,
    message: "the server did not see the connection close within 1 s"
  })
  return performance.now() - since
}

describe("the raw SDK, for contrast", () => {
  it("control: the raw SDK does NOT close the socket on break, and its `response` rejects once aborted", async () => {
    h.server.setScript(slow())
    const controller = new AbortController()
    const model = new GoogleGenerativeAI(KEY).getGenerativeModel({ model: "gemini-test" }, { baseUrl: h.server.baseUrls.gemini })
    const result = await model.generateContentStream("Hi", { signal: controller.signal })
    let n = 0
    for await (const _ of result.stream) {
      if (++n === 2) break
    }
    // The SDK keeps reading for `response`: after `break` the response is still in flight.
    await expect(h.server.waitFor((s) => s.closedByClient >= 1, { timeoutMs: 500 })).rejects.toThrow()
    expect(h.server.stats()).toMatchObject({ inflight: 1, closedByClient: 0 })
    // Only an abort closes it, and then `response` rejects (handled here; unhandled it would crash Node 20).
    const since = performance.now()
    controller.abort()
    await expect(result.response).rejects.toThrow()
    expect(await closedWithin1s(since)).toBeLessThan(1000)
  })
})

releaseMatrix(h)
