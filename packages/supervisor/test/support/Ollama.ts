/**
 * The real Ollama adapter (`@streamvisor/ollama`) against FakeLlmServer's
 * `/api/chat` NDJSON route, over an `HttpClient` whose connection pool the
 * test owns: `FetchHttpClient` bound to a dedicated undici `Agent` (as in
 * packages/ollama/test/harness.ts), so a test can close the pool and then
 * check that the server has no socket left.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import type { Provider } from "@streamvisor/core"
import { Ollama } from "@streamvisor/ollama"
import type { FakeLlmServer } from "@streamvisor/testkit"
import { Effect, Layer } from "effect"
import { Agent } from "undici"

export interface Pool {
  readonly agent: Agent
  readonly httpClient: HttpClient.HttpClient
  /** A new Ollama provider over this pool (one per session, or shared: they share the pool). */
  readonly provider: () => Provider.Provider
}

/** A fresh pool on `server`; close it with `agent.close()`. */
export const pool = (server: FakeLlmServer.Server): Pool => {
  const agent = new Agent()
  const httpClient = Effect.runSync(
    Effect.provide(
      HttpClient.HttpClient,
      FetchHttpClient.layer.pipe(
        Layer.provide(Layer.succeed(FetchHttpClient.RequestInit, { dispatcher: agent } as RequestInit))
      )
    )
  )
  return {
    agent,
    httpClient,
    provider: () => Ollama.make({ host: server.baseUrls.ollama, httpClient })
  }
}
