/**
 * Whole recorded bodies (`fixtures/replay/`): loaded byte for byte, served with their recorded
 * status and content type, whole or in seeded random pieces that reach the client as separate
 * reads and still add up to the same bytes.
 */
import * as Either from "effect/Either"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { FakeLlmServer, Fixtures, Script } from "../src/index.js"

let server: FakeLlmServer.Server

beforeAll(async () => {
  server = await FakeLlmServer.start()
})

afterAll(async () => {
  await server?.close()
})

/** POSTs to Ollama's route (any route serves a raw body as is) and reads the body piece by piece. */
const fetchBody = async (model: string) => {
  const response = await fetch(`${server.baseUrls.ollama}/api/chat`, { method: "POST", body: JSON.stringify({ model }) })
  const reads: Array<Uint8Array> = []
  for await (const piece of response.body!) reads.push(piece)
  return { status: response.status, contentType: response.headers.get("content-type"), reads, body: Buffer.concat(reads) }
}

describe("recorded bodies", () => {
  it("lists forty, every format, and fails loudly on an unknown one", () => {
    const all = Fixtures.bodies()
    expect(all.length).toBe(40)
    for (const format of Fixtures.formats) expect(all.some((f) => f.format === format)).toBe(true)
    expect(() => Fixtures.loadBody("google", "nope")).toThrow(/unknown recorded body google\/nope \(available: /)
  })

  it("serves the body whole, byte for byte, with its recorded status and content type", async () => {
    const { body, expect: expected } = Fixtures.loadBody("ollama", "lcg-400-model-does-not-support-tools")
    server.scriptFor("whole", Fixtures.bodyScript("ollama", "lcg-400-model-does-not-support-tools"))
    const got = await fetchBody("whole")
    expect(got.status).toBe(400)
    expect(got.contentType).toBe(expected.http.contentType)
    expect(Buffer.compare(got.body, Buffer.from(body))).toBe(0)
  })

  it("serves it in seeded pieces: separate reads, the same bytes, the same cuts for the same seed", async () => {
    const { body } = Fixtures.loadBody("google", "pai-thought-parts")
    const pieces = { seed: 7, maxBytes: 32 }
    const cuts = Script.cuts(body.length, pieces)
    expect(Script.cuts(body.length, pieces)).toEqual(cuts)
    expect(Script.cuts(body.length, { seed: 8, maxBytes: 32 })).not.toEqual(cuts)
    expect(cuts.every((at, i) => at > (i === 0 ? 0 : cuts[i - 1]) && at < body.length)).toBe(true)
    server.scriptFor("split", Fixtures.bodyScript("google", "pai-thought-parts", { pieces }))
    const got = await fetchBody("split")
    expect(Buffer.compare(got.body, Buffer.from(body))).toBe(0)
    // each piece waits for the last to reach the socket, so reads are many (not asserted exact: TCP may merge)
    expect(got.reads.length).toBeGreaterThan(cuts.length / 4)
    await server.waitForIdle()
  })

  it("a script file may hold a raw body; unknown keys are rejected", () => {
    const ok = Script.decode({ replay: { body: "data: {}\n\n", status: 200, pieces: { seed: 1 } } })
    expect(Either.isRight(ok)).toBe(true)
    expect(Either.isLeft(Script.decode({ replay: { body: "x", piece: 1 } }))).toBe(true)
  })
})
