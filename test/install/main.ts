/**
 * The program scripts/pack-install.mjs runs in an empty npm project where the
 * packed tarballs and the current SDKs are installed as a user would install
 * them: it only imports the packages' public entry points, so a wrong
 * `exports` map, a missing `files` entry or a declaration that does not
 * type-check under a user's `tsc` fails here, not in the workspace (which
 * resolves the sources through aliases and hides all three).
 *
 * Not part of the vitest suite: it is copied out of the workspace and
 * compiled there.
 */
import { Anthropic } from "@streamvisor/anthropic"
import { Ledger, type Provider } from "@streamvisor/core"
import { streamText } from "@streamvisor/core/promise"
import { Google } from "@streamvisor/google"
import { Ollama } from "@streamvisor/ollama"
import { OpenAI } from "@streamvisor/openai"
import { Supervisor } from "@streamvisor/supervisor"
import { FakeLlmServer, Fixtures, Script } from "@streamvisor/testkit"
import { Effect } from "effect"
import * as assert from "node:assert/strict"

const WORDS = ["Hello", ", ", "installed", " world"]

const server = await FakeLlmServer.start({ script: Script.text(WORDS) })
const providers: ReadonlyArray<readonly [string, Provider.Provider]> = [
  ["anthropic", Anthropic.make({ apiKey: "k", baseURL: server.baseUrls.anthropic })],
  ["openai chat", OpenAI.make({ apiKey: "k", baseURL: server.baseUrls.openai })],
  ["openai responses", OpenAI.make({ apiKey: "k", baseURL: server.baseUrls.openai, api: "responses" })],
  ["google", Google.make({ apiKey: "k", baseURL: server.baseUrls.gemini })],
  ["ollama", Ollama.make({ host: server.baseUrls.ollama })]
]

try {
  for (const [name, provider] of providers) {
    // Read to the end: the whole text, then one Finish.
    let text = ""
    let last = ""
    for await (const event of streamText(provider, { model: "m", messages: [{ role: "user", content: "Hi" }] })) {
      if (event._tag === "TextDelta") text += event.text
      last = event._tag
    }
    assert.equal(text, WORDS.join(""), `${name}: text`)
    assert.equal(last, "Finish", `${name}: last event`)

    // Leave after the first delta: the connection is released at once.
    for await (const event of streamText(provider, { model: "m", messages: [{ role: "user", content: "Hi" }] })) {
      if (event._tag === "TextDelta") break
    }
    const stats = await server.waitForIdle({ timeoutMs: 5_000 })
    assert.equal(stats.inflight, 0, `${name}: responses in flight after break`)
    assert.equal(Ledger.global.snapshot().live.length, 0, `${name}: live streams in the ledger`)
    console.log(`ok ${name}`)
  }

  // The recorded fixtures ship in the testkit tarball (`files`).
  assert.ok(Fixtures.list().length > 0, "testkit: recorded fixtures are in the package")
  Fixtures.load("anthropic", "text")
  console.log(`ok testkit fixtures (${Fixtures.list().length})`)

  // The supervisor loads and starts and stops under a scope.
  const report = await Effect.runPromise(
    Effect.scoped(Effect.flatMap(Supervisor.make({ maxConcurrentStreams: 2 }), (supervisor) => supervisor.snapshot))
  )
  assert.equal(report.sessions.length, 0)
  console.log("ok supervisor")
} finally {
  await server.close()
}
